"""How much of the wall time Ray Tune spends running trials.

Runs two small studies on the synthetic data and prints Ray Tune's efficiency for each:

    efficiency = sum over trials of (finished_at - started_at) / (study wall time x concurrency)

1. 40 proxies-only trials (no training): the per-trial scheduling overhead dominates.
2. 8 short training trials (demo window) for each of ``--epochs`` (a comma-separated list):
   target efficiency >= 0.85.

The study wall time runs from ``run_study`` to its return (data, scoring batch and pre-flight
checks included; Ray is started before, by the study's own ``init_ray``). Where the rest goes is
printed too: ``start`` (study start to the first trial's start: context, Tune set-up, trial
worker start-up),
``imbalance`` (slot-seconds left idle once no trial is left to start, while the final trials
run alone: uneven work, not scheduling), ``wind-down`` (after the last trial finished: Tune's
teardown and the study summary) and ``between`` (everything else: gaps between trials on a
slot, Tune's per-trial overhead).

Usage: .venv/bin/python benchmarks/tune_overhead.py [--concurrency 2] [--epochs 3,10]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import ray

from tuning.config import StudyConfig
from tuning.results import ResultStore
from tuning.study import init_ray, run_study


def _breakdown(
    storage: str, name: str, start: float, end: float, concurrency: int
) -> dict[str, float]:
    """Efficiency and where the idle slot-seconds went (all in seconds, epoch time)."""
    rows = ResultStore(storage, name).read_rows()
    started = sorted(t.timestamp() for t in rows["started_at"])
    finished = sorted(t.timestamp() for t in rows["finished_at"])
    busy = sum(f - s for f, s in zip(finished, started, strict=True))
    slots = (end - start) * concurrency
    start_idle = (started[0] - start) * concurrency
    # After the last trial started no new work comes: each slot idles from its last finish on.
    tail = sum(end - f for f in finished[-concurrency:])
    # Of that, the slot-seconds after the last trial finished (Tune's wind-down, the summary).
    wind_down = (end - finished[-1]) * concurrency
    return {
        "trials": len(rows),
        "wall": end - start,
        "efficiency": busy / slots,
        "start": start_idle / slots,
        "imbalance": (tail - wind_down) / slots,
        "wind_down": wind_down / slots,
        "between": max(0.0, 1 - (busy + start_idle + tail) / slots),
        "mean_trial": busy / len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--epochs", default="3,10", help="training epochs, comma-separated")
    parser.add_argument("--proxy-trials", type=int, default=40)
    parser.add_argument("--train-trials", type=int, default=8)
    args = parser.parse_args()

    storage = tempfile.mkdtemp(prefix="zcnas-bench-")
    # The study's own Ray set-up (a private local instance), sized to the concurrency; started
    # before the clock so Ray's start-up is not counted.
    init_ray(StudyConfig(name="bench", storage=storage), num_cpus=args.concurrency)
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
        )
    ]
    for epochs in (int(e) for e in args.epochs.split(",")):
        studies.append(
            (
                f"train {epochs} ep",
                StudyConfig.from_preset(
                    "demo",
                    name=f"bench-train-{epochs}",
                    num_samples=args.train_trials,
                    epochs=epochs,
                    **common,
                ),
            )
        )
    header = (
        "study",
        "trials",
        "wall s",
        "trial s",
        "efficiency",
        "start",
        "imbalance",
        "wind-down",
        "between",
    )
    print("{:<14} {:>6} {:>7} {:>7} {:>10} {:>6} {:>9} {:>9} {:>7}".format(*header))
    for label, cfg in studies:
        start = time.time()
        run_study(cfg)
        b = _breakdown(storage, cfg.name, start, time.time(), args.concurrency)
        print(
            f"{label:<14} {b['trials']:>6} {b['wall']:>7.1f} {b['mean_trial']:>7.1f} "
            f"{b['efficiency']:>10.2f} {b['start']:>6.2f} {b['imbalance']:>9.2f} "
            f"{b['wind_down']:>9.2f} {b['between']:>7.2f}",
            flush=True,
        )
    print(
        "start, imbalance, wind-down, between: shares of the slot-seconds (wall x concurrency) "
        "left idle"
    )
    ray.shutdown()


if __name__ == "__main__":
    main()
