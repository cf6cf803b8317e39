"""``zcnas score``: score randomly sampled architectures with zero-cost proxies, no training.

::

    zcnas score --random 20 --seed 0 --data synthetic --out scores.parquet
    zcnas score --random 5 --proxies synflow,jacob_cov,snip --window 64

    zcnas score --random 200 --study zcnas_results/demo-1 --out more.parquet

Steps: load the data (``--data``: ``synthetic`` or a path any reader recognises), cut all its
evaluation windows (``--window`` overrides the dataset's default length), choose one fixed,
stratified, de-duplicated scoring batch of ``--batch-size`` windows from them, then for each of
``--random N`` architectures sampled from the default search space (seeded by ``--seed``):
build the network (weights seeded by ``--seed`` and the architecture's index), compute the
proxies on the batch, and add one row. With ``--study DIR`` the batch, layout and classes are
those a study saved (``scoring_batch.npz`` and ``study.json``), so the scores are comparable
with the study's rows.

Rows use the study's column names: ``study``, ``trial_id`` (``score-<index>``), ``phase``
(``proxies``), ``status`` (``ok``: scored), ``seed``, ``dataset``, ``arch_key``,
``arch_<choice>`` (text, null when inactive), ``params``, ``flops``, ``proxy_s`` and, per proxy,
``zc_<name>``, ``zc_<name>_s``, ``zc_<name>_status`` (plus auxiliary ``zc_synflow_log``), so
``zcnas analyze FILE --metric params`` reads them like a proxies-only study.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``zcnas score`` and set its handler."""
    parser.add_argument(
        "--random",
        type=int,
        required=True,
        metavar="N",
        help="number of architectures to sample from the search space and score",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the architecture sample, the network weights, the scoring batch and "
        "the proxies (default 0)",
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="synthetic|PATH",
        help="dataset: `synthetic` (default) or a path (tracker CSV directory, MSR Action3D "
        "directory, .npz)",
    )
    parser.add_argument(
        "--study",
        default=None,
        metavar="DIR|URI",
        help="score on the batch a study saved (STORAGE/NAME: its scoring_batch.npz, layout "
        "and classes) instead of --data, so the scores compare with the study's rows",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="value of the `study` column (default: the --study name or `score`)",
    )
    parser.add_argument(
        "--layout", default=None, help="skeleton layout name or file (default: the dataset's)"
    )
    parser.add_argument(
        "--window", type=int, default=None, metavar="T", help="window length in frames"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="scoring batch size (default 32)"
    )
    parser.add_argument(
        "--proxies",
        default=None,
        metavar="A,B,...",
        help="comma-separated proxies (default: all registered)",
    )
    parser.add_argument(
        "--layers",
        default="default",
        help="layer set of the per-weight proxies: default, reference or all (default: default)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="cpu, cuda, cuda:N or auto (CUDA when available; default auto)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch (default: torch's choice); 1 is fastest on a busy machine "
        "and makes float sums independent of the machine's core count",
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="FILE.parquet", help="write the rows here"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Score the sampled architectures; print a table or write Parquet. Returns 0."""
    import numpy as np
    import torch

    from gcn_models.cost import count_parameters
    from gcn_models.network import build_model
    from gcn_models.space import default_space
    from zero_cost.api import compute_proxies, resolve_proxies
    from zero_cost.layers import resolve_layer_set

    _check_args(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    proxies = resolve_proxies(args.proxies)
    layers = resolve_layer_set(args.layers)
    device = _device(args.device)
    source = _study_batch(args.study) if args.study is not None else _data_batch(args)
    x, y = source.x, source.y
    batch = (x.to(device), y.to(device))
    space = default_space()
    rng = np.random.default_rng(args.seed)
    study_name = args.name or source.study or "score"
    logger.info(
        "scoring %d architectures on %s: batch %s, %d proxies, %s",
        args.random,
        source.label,
        tuple(x.shape),
        len(proxies),
        device,
    )

    rows = []
    start = time.perf_counter()
    for index in range(args.random):
        arch = space.sample(rng)
        torch.manual_seed(args.seed * 1_000_003 + index)
        model = build_model(
            arch,
            layout=source.layout,
            in_channels=int(x.shape[1]),
            num_classes=source.num_classes,
        )
        result = compute_proxies(model, batch, names=proxies, seed=args.seed, layers=layers)
        row: dict[str, Any] = {
            "study": study_name,
            "trial_id": f"score-{index:04d}",
            "phase": "proxies",
            "status": "ok",
            "seed": args.seed,
            "dataset": source.label,
            "arch_key": space.arch_key(arch),
        }
        row.update({f"arch_{name}": _text(arch.get(name)) for name in space.names})
        row["params"] = count_parameters(model)
        row["flops"] = _flops(model, result, tuple(x.shape))
        row["proxy_s"] = result.total_seconds
        row.update(result.to_row())
        rows.append(row)
        logger.info(
            "%d/%d %s: %.2f s", index + 1, args.random, row["arch_key"], result.total_seconds
        )
    elapsed = time.perf_counter() - start

    if args.out is not None:
        _write_parquet(rows, list(space.names), [p.name for p in proxies], args.out)
        print(f"wrote {len(rows)} rows to {args.out} ({elapsed:.1f} s)")
    else:
        print(_table(rows, [p.name for p in proxies]))
        print(f"{len(rows)} architectures scored in {elapsed:.1f} s")
    return 0


@dataclass
class _ScoringSource:
    """The batch to score on and what the networks are built for."""

    x: Any  # float32 tensor (B, C, T, V)
    y: Any  # int64 tensor (B,)
    layout: Any  # SkeletonLayout
    num_classes: int
    label: str  # the `dataset` column
    study: str | None = None


def _data_batch(args: argparse.Namespace) -> _ScoringSource:
    """A fixed, stratified scoring batch from all evaluation windows of ``--data``."""
    from gcn_models.readers import load_dataset
    from gcn_models.windows import default_window_config, make_eval_windows
    from zero_cost.batch import select_scoring_batch

    data = args.data or "synthetic"
    dataset = load_dataset(data, layout=args.layout)
    overrides: dict[str, Any] = {} if args.window is None else {"length": args.window}
    windows = default_window_config(dataset, **overrides)
    x_all, y_all, _ = make_eval_windows(dataset, windows)
    if x_all.shape[0] < 2:
        raise ValueError(f"{data}: {x_all.shape[0]} evaluation window(s); need at least 2")
    size = args.batch_size or 32
    x, y = select_scoring_batch(x_all, y_all, size=size, seed=args.seed)
    return _ScoringSource(x, y, dataset.layout, dataset.num_classes, str(data))


def _study_batch(study: str) -> _ScoringSource:
    """The scoring batch, layout and classes a study saved beside its rows.

    Raises:
        ValueError: If ``study`` is not a study directory written by ``zcnas tune``.
    """
    import io

    import numpy as np
    import torch

    from gcn_models.layouts import get_layout, layout_from_dict
    from tuning.results import ResultStore
    from tuning.study import BATCH_FILE, STUDY_FILE

    root, _, name = study.rstrip("/").rpartition("/")
    store = ResultStore(root or ".", name)
    meta = store.read_json(STUDY_FILE)
    blob = store.read_bytes(BATCH_FILE)
    if meta is None or blob is None:
        missing = STUDY_FILE if meta is None else BATCH_FILE
        raise ValueError(
            f"--study {study}: no {missing}; expected a study directory written by "
            "`zcnas tune` (STORAGE/NAME, holding study.json and scoring_batch.npz)"
        )
    with np.load(io.BytesIO(blob)) as arrays:
        x = torch.from_numpy(np.ascontiguousarray(arrays["x"], dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(arrays["y"], dtype=np.int64))
    if "layout_spec" in meta:
        layout = layout_from_dict(meta["layout_spec"], source=f"{study}/study.json:layout_spec")
    else:
        layout = get_layout(meta["layout"])
    # Studies written before `num_classes` was recorded: the stratified batch holds every class.
    num_classes = int(meta.get("num_classes") or int(y.max()) + 1)
    label = str(meta.get("dataset") or meta.get("config", {}).get("data") or study)
    return _ScoringSource(x, y, layout, num_classes, label, study=name)


def _check_args(args: argparse.Namespace) -> None:
    if args.study is not None:
        given = [
            flag
            for flag, value in (
                ("--data", args.data),
                ("--layout", args.layout),
                ("--window", args.window),
                ("--batch-size", args.batch_size),
            )
            if value is not None
        ]
        if given:
            raise ValueError(
                f"--study takes the study's batch, layout and window; drop {', '.join(given)}"
            )
    if args.random < 1:
        raise ValueError(f"--random must be >= 1, got {args.random}")
    if args.batch_size is not None and args.batch_size < 2:
        raise ValueError(f"--batch-size must be >= 2, got {args.batch_size}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.window is not None and args.window < 2:
        raise ValueError(f"--window must be >= 2 frames, got {args.window}")
    if args.out is not None and args.out.suffix != ".parquet":
        raise ValueError(f"--out must name a .parquet file, got {args.out}")


def _device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(
            f"--device: `{name}` is not a device; use cpu, cuda, cuda:N or auto"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available")
    return device


def _text(value: object) -> str | None:
    """Choice value as text; ``None`` (an inactive choice) stays null."""
    return None if value is None else str(value)


def _flops(model: Any, result: Any, shape: tuple[int, ...]) -> int:
    """FLOPs per sample: the ``flops`` proxy when it ran, else counted afresh."""
    from gcn_models.cost import count_flops

    if "flops" in result.outcomes and result["flops"].status == "ok":
        return int(result["flops"].score)
    return count_flops(model, shape)


def _write_parquet(
    rows: list[dict[str, Any]], choices: list[str], proxies: list[str], path: Path
) -> None:
    """Write rows typed as the study's results schema, atomically (temporary file, rename).

    Only the columns the rows hold are written; NaN scores become nulls, as in a study (the
    ``_status`` columns say why).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tuning.schema import normalise_row, results_schema

    full = results_schema(choices, proxies, extra=rows[0])
    schema = pa.schema([full.field(column) for column in rows[0]])
    table = pa.Table.from_pylist([normalise_row(row) for row in rows], schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)


def _table(rows: list[dict[str, Any]], proxies: list[str]) -> str:
    """A compact text table: one line per architecture, one column per proxy score.

    The ``params`` and ``flops`` proxies are shown once, as the size columns.
    """
    proxies = [name for name in proxies if name not in ("params", "flops")]
    header = ["arch_key", "params", "flops", *proxies]
    lines = [header]
    for row in rows:
        cells = [row["arch_key"], f"{row['params']:,}", f"{row['flops']:.3g}"]
        for name in proxies:
            status = row[f"zc_{name}_status"]
            cells.append(f"{row[f'zc_{name}']:.4g}" if status == "ok" else status)
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    )
