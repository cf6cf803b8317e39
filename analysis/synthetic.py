"""Synthetic result sets with a known structure, for tests, demos and the benchmark.

Every architecture has a latent quality ``q ~ N(0, 1)``. Its metric is
``val_auc = 0.75 + 0.08 * (q + noise * e_seed)`` per training seed, so two seeds agree with a
rank correlation set by ``noise``. Each proxy is ``signal * q + sqrt(1 - signal^2) * z``
pushed through a transform typical of that proxy (synflow spans tens of orders of magnitude,
jacob_cov is negative, ...), and fails (NaN, status ``nan``) at a small rate. The rows follow
the result schema of docs/ARCHITECTURE.md, including failed and pruned trials and reused
results (``repeat_of``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class SyntheticProxy:
    """How one synthetic proxy relates to the latent quality.

    Attributes:
        signal: Correlation of the latent score with the quality (may be negative).
        transform: Maps the latent score (shape (n,)) to the stored score.
        seconds: Median runtime in seconds.
        nan_rate: Probability that the score is NaN.
    """

    signal: float
    transform: Callable[[np.ndarray], np.ndarray]
    seconds: float
    nan_rate: float = 0.0


DEFAULT_PROXIES: Mapping[str, SyntheticProxy] = {
    "synflow": SyntheticProxy(0.5, lambda z: 10.0 ** (40 + 8 * z), 0.4),
    "jacob_cov": SyntheticProxy(0.3, lambda z: -(64 + 1e3 * np.exp(-2 * z)), 0.9, 0.05),
    "snip": SyntheticProxy(0.4, lambda z: 100 * np.exp(z), 1.0),
    "grad_norm": SyntheticProxy(0.35, lambda z: 10 * np.exp(0.5 * z), 1.0),
    "fisher": SyntheticProxy(0.1, lambda z: np.exp(z), 1.2),
    "grasp": SyntheticProxy(-0.1, lambda z: z * 50, 3.0, 0.02),
    "nwot": SyntheticProxy(0.45, lambda z: 300 + 20 * z, 0.7),
    "zen": SyntheticProxy(0.0, lambda z: 10 + z, 0.8),
}


def make_results(
    n_architectures: int = 40,
    *,
    proxies: Mapping[str, SyntheticProxy] = DEFAULT_PROXIES,
    study: str = "synthetic",
    repeat_fraction: float = 0.25,
    reuse_fraction: float = 0.05,
    failed_fraction: float = 0.05,
    pruned_fraction: float = 0.05,
    noise: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Return a synthetic result table, one row per trial.

    Args:
        n_architectures: Distinct architectures.
        proxies: Proxy name -> behaviour.
        study: Value of the ``study`` column.
        repeat_fraction: Share of architectures trained a second time with another seed.
        reuse_fraction: Share of architectures that appear again as a reused result.
        failed_fraction: Share of trials that failed (no metric).
        pruned_fraction: Share of trials that were pruned (partial metric).
        noise: Seed-to-seed noise of the metric relative to the quality spread.
        seed: Seed of the generator.

    Returns:
        Rows with the columns of the result schema (``arch_key``, ``zc_*``, ``val_auc``,
        ``status``, ``repeat_of``, ``seed``, timestamps, ...).
    """
    rng = np.random.default_rng(seed)
    n = n_architectures
    quality = rng.normal(size=n)
    keys = np.array([f"{study[:4]}{i:08x}" for i in range(n)])
    params = np.round(10 ** (5 + 0.5 * (0.3 * quality + rng.normal(size=n)))).astype(np.int64)
    flops = (params * 300 * np.exp(0.2 * rng.normal(size=n))).astype(np.int64)
    latent = {
        name: p.signal * quality + np.sqrt(1 - p.signal**2) * rng.normal(size=n)
        for name, p in proxies.items()
    }

    arch_index = np.arange(n)
    repeated = arch_index[rng.random(n) < repeat_fraction]
    run_arch = np.concatenate([arch_index, repeated])
    run_seed = np.concatenate([np.zeros(n, np.int64), np.ones(len(repeated), np.int64)])
    m = len(run_arch)
    outcome = rng.random(m)
    status = np.where(
        outcome < failed_fraction,
        "failed",
        np.where(outcome < failed_fraction + pruned_fraction, "pruned", "ok"),
    )
    score = quality[run_arch] + noise * rng.normal(size=m)
    val_auc = np.clip(0.75 + 0.08 * score, 0.0, 1.0)
    val_auc = np.where(status == "failed", np.nan, val_auc)
    epochs = np.where(status == "pruned", 5, 50)
    train_s = np.where(
        status == "failed", 20.0, 600.0 * np.exp(0.3 * rng.normal(size=m)) * epochs / 50
    )

    frame = pd.DataFrame(
        {
            "study": study,
            "trial_id": [f"{study}-{i:05d}" for i in range(m)],
            "arch_key": keys[run_arch],
            "arch_blocks": (2 + run_arch % 4).astype(str),
            "arch_attention": np.where(run_arch % 3 == 0, "se", None),
            "val_auc": val_auc,
            "val_accuracy": np.clip(0.7 + 0.05 * score, 0, 1),
            "best_epoch": epochs - 3,
            "epochs": epochs,
            "train_s": train_s,
            "params": params[run_arch],
            "flops": flops[run_arch],
            "status": status,
            "error": np.where(status == "failed", "RuntimeError: CUDA out of memory", None),
            "repeat_of": None,
            "seed": run_seed,
            "node": "node-0",
            "device": "cpu",
            "dataset": "synthetic",
        }
    )
    proxy_total = np.zeros(m)
    for name, proxy in proxies.items():
        values = proxy.transform(latent[name][run_arch] + 0.1 * rng.normal(size=m))
        failed = rng.random(m) < proxy.nan_rate
        seconds = proxy.seconds * np.exp(0.25 * rng.normal(size=m))
        frame[f"zc_{name}"] = np.where(failed, np.nan, values)
        frame[f"zc_{name}_s"] = seconds
        frame[f"zc_{name}_status"] = np.where(failed, "nan", "ok")
        proxy_total += seconds
    if "synflow" in proxies:
        frame["zc_synflow_log"] = np.log10(frame["zc_synflow"])
    frame["proxy_s"] = proxy_total

    reused = frame[(frame["status"] == "ok") & (rng.random(m) < reuse_fraction)].copy()
    reused["repeat_of"] = reused["trial_id"]
    reused["trial_id"] = [f"{study}-{m + i:05d}" for i in range(len(reused))]
    frame = pd.concat([frame, reused], ignore_index=True)
    elapsed = frame["train_s"].to_numpy() + frame["proxy_s"].to_numpy() + 30.0
    start = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        np.cumsum(np.r_[0.0, elapsed[:-1]]) / 4, unit="s"
    )
    frame["started_at"] = start
    frame["finished_at"] = start + pd.to_timedelta(elapsed, unit="s")
    return frame


def write_trial_files(frame: pd.DataFrame, root: str | os.PathLike) -> list[Path]:
    """Write one Parquet file per row as ``<root>/<study>/trials/trial-<trial_id>.parquet``.

    Also writes ``<root>/<study>/study.json``. Each file holds only its row's non-null
    columns, so files differ in their columns, as conditional choices make them in real
    studies.

    Args:
        frame: Rows from :func:`make_results`.
        root: Root directory of the result set.

    Returns:
        Paths written.
    """
    root = Path(root)
    paths = []
    for study, rows in frame.groupby("study", sort=False):
        folder = root / str(study) / "trials"
        folder.mkdir(parents=True, exist_ok=True)
        (root / str(study) / "study.json").write_text(json.dumps({"name": study}))
        for record in rows.to_dict(orient="records"):
            present = {k: [v] for k, v in record.items() if not _is_null(v)}
            path = folder / f"trial-{record['trial_id']}.parquet"
            pq.write_table(pa.table(present), path)
            paths.append(path)
    return paths


def write_shards(
    frame: pd.DataFrame, root: str | os.PathLike, rows_per_file: int = 1000
) -> list[Path]:
    """Write the rows as a few large Parquet files (a compacted result set).

    Args:
        frame: Rows from :func:`make_results`.
        root: Output directory.
        rows_per_file: Rows per file.

    Returns:
        Paths written.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    paths = []
    for index, start in enumerate(range(0, len(frame), rows_per_file)):
        path = root / f"part-{index:05d}.parquet"
        pq.write_table(table.slice(start, rows_per_file), path)
        paths.append(path)
    return paths


def _is_null(value: object) -> bool:
    """Return True for None, NaN and NaT."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
