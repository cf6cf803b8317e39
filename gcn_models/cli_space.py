"""``zcnas space``: print the GCN search space, or sample canonical architectures from it."""

from __future__ import annotations

import argparse
import json
from typing import Any


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``zcnas space`` and set its handler."""
    parser.add_argument(
        "--space",
        metavar="FILE",
        help="YAML/JSON file restricting or extending the default space (or a full definition)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="print N sampled canonical architectures as JSON lines, with arch_key, "
        "parameter count and FLOPs",
    )
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument(
        "--layout",
        default="infant19",
        help="skeleton layout for --sample and for checking a --space file (default infant19)",
    )
    parser.add_argument(
        "--in-channels", type=int, default=6, help="input channels for --sample (default 6)"
    )
    parser.add_argument(
        "--frames", type=int, default=150, help="input frames T for --sample (default 150)"
    )
    parser.add_argument(
        "--classes", type=int, default=2, help="number of classes for --sample (default 2)"
    )
    parser.add_argument("--json", action="store_true", help="print the space definition as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the space or the sampled architectures; return the exit code."""
    from gcn_models.space import SearchSpace, default_space

    space = SearchSpace.from_file(args.space) if args.space else default_space()
    if args.space:  # the shipped space is checked by the test suite
        from gcn_models.network import check_space_builds

        check_space_builds(
            space,
            layout=args.layout,
            in_channels=args.in_channels,
            num_classes=args.classes,
            seed=args.seed,
            source=args.space,
        )
    if args.sample is not None:
        if args.sample < 1:
            raise ValueError(f"--sample must be >= 1, got {args.sample}")
        for line in _sample_lines(space, args):
            print(json.dumps(line))
        return 0
    if args.json:
        print(json.dumps(space.to_dict(), indent=2))
        return 0
    print(_describe_space(space))
    return 0


def _sample_lines(space: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    import numpy as np
    import torch

    from gcn_models.cost import count_flops, count_parameters
    from gcn_models.layouts import get_layout
    from gcn_models.network import build_model

    layout = get_layout(args.layout)
    shape = (1, args.in_channels, args.frames, layout.num_joints)
    rng = np.random.default_rng(args.seed)
    lines = []
    with torch.random.fork_rng():
        torch.manual_seed(args.seed)
        for _ in range(args.sample):
            arch = space.sample(rng)
            model = build_model(
                arch,
                layout=layout,
                in_channels=args.in_channels,
                num_classes=args.classes,
                space=space,
            )
            lines.append(
                {
                    "arch_key": space.arch_key(arch),
                    "params": count_parameters(model),
                    "flops": count_flops(model, shape),
                    "arch": arch,
                }
            )
    return lines


def _condition_text(condition: Any) -> str:
    values = ", ".join(json.dumps(v) for v in condition.values)
    return f"{condition.choice} {'not in' if condition.negate else 'in'} [{values}]"


def _describe_space(space: Any) -> str:
    width = max(len(name) for name in space.names)
    rows = ["choices (in suggestion order):"]
    for name, values in space.choices.items():
        rows.append(f"  {name:<{width}}  {', '.join(json.dumps(v) for v in values)}")
    if space.activity:
        rows.append("")
        rows.append("conditions (a choice is active when any alternative holds):")
        for name, alternatives in space.activity:
            texts = [" and ".join(_condition_text(c) for c in group) for group in alternatives]
            rows.append(f"  {name}: " + "  OR  ".join(texts))
    if space.collapse_rules:
        rows.append("")
        rows.append("collapsed values (build the same network):")
        for rule in space.collapse_rules:
            when = " and ".join(_condition_text(c) for c in rule.when)
            mapping = ", ".join(f"{json.dumps(a)} -> {json.dumps(b)}" for a, b in rule.mapping)
            rows.append(f"  {rule.choice}: {mapping} when {when}")
            if rule.reason:
                rows.append(f"      ({rule.reason})")
    total, distinct = space.size(collapsed=False), space.size(collapsed=True)
    rows.append("")
    rows.append(f"size: {total:,} configurations ({total:.3g})")
    rows.append(
        f"      {distinct:,} distinct networks after collapsing ({distinct:.3g}, "
        f"{distinct / total:.1%})"
    )
    return "\n".join(rows)
