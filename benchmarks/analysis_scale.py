"""Scale benchmark of the analysis: 100,000 trials x 16 proxies, 1,000 bootstrap resamples.

Generates a synthetic result set (in a child process, so its memory does not count), writes
it as Parquet shards of 1,000 rows (a compacted result set), then times each stage of
``load_results`` -> ``analyze`` -> ``write_report`` in this process and prints wall time,
CPU time (which a busy machine does not inflate) and peak resident memory. Target: under 60 s
and 4 GiB on 2 cores.

Loading one file per trial is dominated by per-file overhead, so it is measured separately on
``--per-trial-files`` single-row files and reported as files per second.

Usage::

    python benchmarks/analysis_scale.py [--trials 100000] [--proxies 16] [--bootstrap 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from analysis.diagnostics import AnalysisWarning
from analysis.load import load_results
from analysis.pipeline import analyze
from analysis.report import write_report
from analysis.synthetic import (
    DEFAULT_PROXIES,
    SyntheticProxy,
    make_results,
    write_shards,
    write_trial_files,
)

EXTRA_PROXIES = [
    "plain",
    "l2_norm",
    "epe_nas",
    "zico",
    "meco",
    "swap",
    "az_expressivity",
    "az_trainability",
    "naswot_v1",
    "snip_abs",
]
# Trials per architecture in make_results: 1 + repeat share, plus reused rows (~5% of ok).
TRIALS_PER_ARCHITECTURE = 1.25 + 0.05 * 0.9 * 1.25


def proxies(count: int) -> dict[str, SyntheticProxy]:
    """Return ``count`` synthetic proxies: the default eight, then simple extra ones."""
    chosen = dict(list(DEFAULT_PROXIES.items())[:count])
    rng = np.random.default_rng(0)
    for name in EXTRA_PROXIES[: max(0, count - len(chosen))]:
        signal = float(rng.uniform(-0.2, 0.6))
        chosen[name] = SyntheticProxy(signal, lambda z: np.exp(z), float(rng.uniform(0.2, 2)))
    return chosen


def generate(root: str, trials: int, n_proxies: int) -> None:
    """Write the shards of a result set with about ``trials`` rows (child process)."""
    n_architectures = int(round(trials / TRIALS_PER_ARCHITECTURE))
    frame = make_results(n_architectures, proxies=proxies(n_proxies), study="bench", seed=0)
    frame = frame.iloc[:trials]
    write_shards(frame, root, rows_per_file=1000)


def generate_per_trial(root: str, files: int, n_proxies: int) -> None:
    """Write ``files`` single-row trial files (child process)."""
    frame = make_results(files, proxies=proxies(n_proxies), study="pertrial", seed=1)
    write_trial_files(frame.iloc[:files], root)


def peak_rss_gib() -> float:
    """Peak resident set size of this process in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def in_child(target, *args) -> None:
    """Run ``target(*args)`` in a child process and wait for it."""
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"data generation failed (exit code {process.exitcode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--proxies", type=int, default=16)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--cv-repeats", type=int, default=10)
    parser.add_argument("--per-trial-files", type=int, default=2000)
    parser.add_argument("--no-figures", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        shards = Path(tmp) / "shards"
        started = time.perf_counter()
        in_child(generate, str(shards), args.trials, args.proxies)
        print(
            f"generated {args.trials} trials x {args.proxies} proxies in "
            f"{time.perf_counter() - started:.1f} s (child process, not timed below)"
        )

        stages = {}
        cpu_start = time.process_time()
        clock = time.perf_counter()
        frame = load_results(shards)
        stages["load"] = time.perf_counter() - clock
        clock = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)
            result = analyze(
                frame,
                bootstrap=args.bootstrap,
                permutations=args.permutations,
                cv_repeats=args.cv_repeats,
                seed=0,
            )
        stages["analyze"] = time.perf_counter() - clock
        clock = time.perf_counter()
        write_report(result, Path(tmp) / "report", figures=not args.no_figures)
        stages["report"] = time.perf_counter() - clock
        total = sum(stages.values())
        cpu = time.process_time() - cpu_start
        peak = peak_rss_gib()

        print(
            f"rows {len(frame)}, architectures {len(result.architectures)}, predictors "
            f"{len(result.correlations)}, bootstrap {args.bootstrap}, permutations "
            f"{args.permutations}, CV repeats {args.cv_repeats}"
        )
        for name, seconds in stages.items():
            print(f"  {name:8s} {seconds:7.1f} s")
        print(
            f"wall time {total:.1f} s (target < 60 s), CPU time {cpu:.1f} s, peak memory "
            f"{peak:.2f} GiB (target < 4 GiB); load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores"
        )

        if args.per_trial_files:
            per_trial = Path(tmp) / "per_trial"
            in_child(generate_per_trial, str(per_trial), args.per_trial_files, args.proxies)
            clock = time.perf_counter()
            loaded = load_results(per_trial)
            seconds = time.perf_counter() - clock
            rate = len(loaded) / seconds
            print(
                f"one file per trial: {len(loaded)} files in {seconds:.1f} s "
                f"({rate:,.0f} files/s; 100,000 files would take ~{100_000 / rate:.0f} s)"
            )


if __name__ == "__main__":
    main()
