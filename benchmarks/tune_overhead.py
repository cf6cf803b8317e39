"""How much of the wall time Ray Tune spends running trials.

Runs two small studies on the synthetic data and prints Ray Tune's efficiency for each:

    efficiency = sum over trials of (finished_at - started_at) / (study wall time x concurrency)

1. 40 proxies-only trials (no training): the per-trial scheduling overhead dominates.
2. 8 short training trials (demo window, a few epochs): target efficiency >= 0.85.

Usage: .venv/bin/python benchmarks/tune_overhead.py [--concurrency 2] [--epochs 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import ray

from tuning.config import StudyConfig
from tuning.results import ResultStore
from tuning.study import run_study


def _efficiency(storage: str, name: str, wall_s: float, concurrency: int) -> tuple[float, int]:
    rows = ResultStore(storage, name).read_rows()
    busy = (rows["finished_at"] - rows["started_at"]).dt.total_seconds().sum()
    return busy / (wall_s * concurrency), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--proxy-trials", type=int, default=40)
    parser.add_argument("--train-trials", type=int, default=8)
    args = parser.parse_args()

    ray.init(
        address="local",
        num_cpus=args.concurrency,
        include_dashboard=False,
        log_to_driver=False,
    )
    storage = tempfile.mkdtemp(prefix="zcnas-bench-")
    common = {
        "storage": storage,
        "max_concurrent": args.concurrency,
        "cpus_per_trial": 1.0,
        "sampler": "random",
        "replicate": 0,
    }
    studies = [
        (
            "proxies-only",
            StudyConfig.from_preset(
                "demo",
                name="bench-proxies",
                num_samples=args.proxy_trials,
                proxies_only=True,
                **common,
            ),
        ),
        (
            "training",
            StudyConfig.from_preset(
                "demo",
                name="bench-train",
                num_samples=args.train_trials,
                epochs=args.epochs,
                **common,
            ),
        ),
    ]
    print(f"{'study':<14} {'trials':>6} {'wall s':>8} {'efficiency':>10}")
    for label, cfg in studies:
        start = time.perf_counter()
        run_study(cfg)
        wall = time.perf_counter() - start
        eff, n = _efficiency(storage, cfg.name, wall, args.concurrency)
        print(f"{label:<14} {n:>6} {wall:>8.1f} {eff:>10.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
