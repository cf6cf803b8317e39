"""``zcnas data``: convert, check or synthesise skeleton datasets.

* ``zcnas data convert SRC --out FILE.npz`` reads any supported source, applies its default
  preprocessing (or ``--preprocess PRESET``) and writes the canonical ``.npz``.
* ``zcnas data check PATH`` reads a source and prints what was read, skipped and why, the
  classes, subjects and lengths. Exit code 1 if a recording was skipped for an error.
* ``zcnas data synth --out DIR`` writes the synthetic infant-like dataset as ``.npz`` or as
  tracker CSVs plus an outcomes table.

Reader options go through ``-o KEY=VALUE`` (values parsed as YAML, e.g. ``-o actions=[1,14]``
``-o clean_only=false`` ``-o outcomes_delimiter=';'``).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``convert``, ``check`` and ``synth`` actions and their flags."""
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")

    convert = actions.add_parser("convert", help="convert a dataset to the canonical .npz")
    convert.add_argument(
        "source", help="dataset: CSV directory, MSR directory, .npz or `synthetic`"
    )
    convert.add_argument("--out", required=True, help="output .npz file")
    _add_source_flags(convert)
    convert.set_defaults(handler=run_convert)

    check = actions.add_parser("check", help="read a dataset and print what was read and why")
    check.add_argument("source", help="dataset: CSV directory, MSR directory, .npz or `synthetic`")
    _add_source_flags(check)
    check.set_defaults(handler=run_check)

    synth = actions.add_parser("synth", help="write the synthetic infant-like dataset")
    synth.add_argument("--out", required=True, help="output directory")
    synth.add_argument("--subjects", type=int, default=40, help="subjects (default 40)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument(
        "--positive-fraction", type=float, default=0.2, help="share of positives (default 0.2)"
    )
    synth.add_argument(
        "--duration", type=float, default=10.0, help="mean recording length in s (default 10)"
    )
    synth.add_argument(
        "--format",
        choices=("npz", "csv"),
        default="npz",
        help="npz: preprocessed synthetic.npz; csv: raw tracker CSVs + outcomes.csv",
    )
    synth.set_defaults(handler=run_synth)
    parser.set_defaults(handler=_missing_action(parser))


def _add_source_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", help="reader format (detected from the path by default)")
    parser.add_argument("--layout", help="layout name or JSON/YAML layout file")
    parser.add_argument(
        "--preprocess",
        default="default",
        help="`default` (per format), `infant2d`, `body3d` or `none`",
    )
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, repeatable (e.g. -o delimiter=';' -o clean_only=false)",
    )


def _missing_action(parser: argparse.ArgumentParser) -> Any:
    def handler(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return handler


def parse_options(items: list[str]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into reader options (values parsed as YAML scalars/lists).

    Raises:
        ValueError: For an item without ``=``.
    """
    import yaml

    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"reader option {item!r} is not KEY=VALUE")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            options[key.strip()] = value
    return options


def _load(args: argparse.Namespace) -> Any:
    from gcn_models.readers import load_dataset

    preprocessing = None if args.preprocess == "none" else args.preprocess
    return load_dataset(
        args.source,
        format=args.format,
        layout=args.layout,
        preprocessing=preprocessing,
        **parse_options(args.option),
    )


def run_convert(args: argparse.Namespace) -> int:
    """Read a dataset and write it as canonical ``.npz``."""
    from gcn_models.readers import save_npz

    if Path(args.out).suffix != ".npz":
        raise ValueError(f"--out must name a .npz file, got {args.out}")
    ds = _load(args)
    path = save_npz(ds, args.out)
    print(f"wrote {len(ds)} recordings ({ds.summary.preprocessing or 'raw'}) to {path}")
    return 0


def describe_dataset(ds: Any) -> list[str]:
    """Lines describing classes, subjects, lengths and missing values of a dataset."""
    import numpy as np

    lengths = ds.lengths
    lines = [
        f"layout: {ds.layout.name} ({ds.layout.num_joints} joints), {ds.num_coords}D, "
        f"{ds.fps:g} fps",
        f"subjects: {len(np.unique(ds.subjects))}, recordings: {len(ds)}",
        "lengths (frames): "
        + (
            f"min {lengths.min()}, median {np.median(lengths):g}, max {lengths.max()} "
            f"({np.median(lengths) / ds.fps:.1f} s median)"
            if len(ds)
            else "-"
        ),
        "classes:",
    ]
    for k, name in enumerate(ds.class_names):
        mask = ds.labels == k
        lines.append(
            f"  {k} ({name}): {int(mask.sum())} recordings, "
            f"{len(np.unique(ds.subjects[mask]))} subjects"
        )
    missing = sum(int(np.isnan(s).any(axis=0).sum()) for s in ds.sequences)
    total = sum(s.shape[1] * s.shape[2] for s in ds.sequences)
    lines.append(f"missing joint-frames: {missing} of {total} ({missing / max(total, 1):.2%})")
    return lines


def run_check(args: argparse.Namespace) -> int:
    """Print the load summary and a description of the dataset."""
    from gcn_models.dataset import DataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the summary below lists everything
        ds = _load(args)
    for line in ds.summary.lines():
        print(line)
    for line in describe_dataset(ds):
        print(line)
    return 1 if ds.summary.errors else 0


def run_synth(args: argparse.Namespace) -> int:
    """Write the synthetic dataset as ``.npz`` (preprocessed) or tracker CSVs (raw)."""
    from gcn_models.readers import save_npz
    from gcn_models.readers.tracker_csv import write_tracker_dataset
    from gcn_models.synthetic import make_synthetic_dataset

    raw = args.format == "csv"
    ds = make_synthetic_dataset(
        subjects=args.subjects,
        seed=args.seed,
        positive_fraction=args.positive_fraction,
        duration_s=args.duration,
        raw=raw,
    )
    out = Path(args.out)
    if raw:
        written = write_tracker_dataset(ds, out)
    else:
        written = save_npz(ds, out / "synthetic.npz")
    positives = int((ds.labels == 1).sum())
    print(f"wrote {len(ds)} synthetic recordings ({positives} positive) to {written}")
    return 0
