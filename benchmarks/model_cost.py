"""Size and cost of sampled architectures: parameters, FLOPs and one training-step time.

Samples architectures from the search space, builds each at the default input (6 channels,
150 frames, the 19-joint infant layout, 2 classes) and prints, per architecture and as a
distribution (median, p90, max):

* parameters that take part in the forward pass (``count_parameters``),
* FLOPs of one forward pass at batch 1 (``count_flops``; a multiply-add is 2 FLOPs),
* wall time of one SGD training step (forward, cross-entropy, backward, update) at the given
  batch size, after one untimed warm-up step.

No target: the figures size the studies. Usage::

    python benchmarks/model_cost.py --num 50 --batch 32
    python benchmarks/model_cost.py --num 10 --batch 8 --device cuda --json costs.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gcn_models.cost import count_flops, count_parameters
from gcn_models.layouts import get_layout
from gcn_models.network import build_model
from gcn_models.space import SearchSpace, default_space


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=50, help="architectures to sample")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--batch", type=int, default=32, help="training batch size")
    parser.add_argument("--frames", type=int, default=150, help="input frames T")
    parser.add_argument("--in-channels", type=int, default=6, help="input channels C")
    parser.add_argument("--classes", type=int, default=2, help="number of classes")
    parser.add_argument("--layout", default="infant19", help="skeleton layout")
    parser.add_argument("--space", help="search-space file (default: the shipped space)")
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: keep)")
    parser.add_argument("--json", type=Path, help="also write the per-architecture rows here")
    return parser.parse_args()


def training_step_seconds(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device
) -> float:
    """Seconds of one SGD step (after a warm-up step), synchronising CUDA around it."""
    optimiser = torch.optim.SGD(model.parameters(), lr=5e-4, momentum=0.9, nesterov=True)
    model.train()
    elapsed = 0.0
    for timed in (False, True):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        optimiser.zero_grad(set_to_none=True)
        logits, _ = model(x)
        F.cross_entropy(logits, y).backward()
        optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if timed:
            elapsed = time.perf_counter() - start
    return elapsed


def summarise(name: str, values: list[float], fmt: str) -> str:
    data = np.asarray(values, dtype=float)
    median, p90, peak = np.median(data), np.percentile(data, 90), data.max()
    return f"{name:<22}{median:>14{fmt}}{p90:>14{fmt}}{peak:>14{fmt}}"


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    space = SearchSpace.from_file(args.space) if args.space else default_space()
    layout = get_layout(args.layout)
    device = torch.device(args.device)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    shape = (args.batch, args.in_channels, args.frames, layout.num_joints)
    x = torch.randn(shape, device=device)
    y = torch.randint(args.classes, (args.batch,), device=device)

    rows = []
    print(f"{'arch_key':<14}{'params':>10}{'MFLOPs':>10}{'step s':>9}  device={device}")
    for _ in range(args.num):
        arch = space.sample(rng)
        model = build_model(
            arch,
            layout=layout,
            in_channels=args.in_channels,
            num_classes=args.classes,
            space=space,
        ).to(device)
        row = {
            "arch_key": space.arch_key(arch),
            "params": count_parameters(model),
            "flops": count_flops(model, shape),
            "step_s": training_step_seconds(model, x, y, device),
            "arch": arch,
        }
        rows.append(row)
        print(
            f"{row['arch_key']:<14}{row['params']:>10,}{row['flops'] / 1e6:>10,.0f}"
            f"{row['step_s']:>9.3f}",
            flush=True,
        )

    print()
    print(f"{len(rows)} architectures, input {shape[1:]} (C, T, V), training batch {args.batch}")
    print(f"{'':<22}{'median':>14}{'p90':>14}{'max':>14}")
    print(summarise("parameters", [r["params"] for r in rows], ",.0f"))
    print(summarise("MFLOPs (batch 1)", [r["flops"] / 1e6 for r in rows], ",.1f"))
    print(summarise("training step (s)", [r["step_s"] for r in rows], ".3f"))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
