"""Cost of each zero-cost proxy relative to one training step (not a test; prints a table).

For each of ``--archs`` architectures sampled from the default search space, on the scoring
batch of the default data (synthetic, 150-frame windows, batch 32):

* ``step``: one training step on the same batch (forward + backward + SGD step with Nesterov
  momentum, the MovementOutcome optimiser), the median of ``--repeats`` timed steps after one
  warm-up step;
* ``alone``: wall time of ``compute_proxies(model, batch, names=[proxy])``, input checks and
  model copies included, divided by the step time;
* ``shared``: the proxy's attributed seconds (``zc_<name>_s``) in one run of all proxies;
* ``all``: total wall time of one run of all proxies together, divided by the step time.

The table gives medians (and the range) over architectures, and the issue's targets: every
single-pass proxy at most 1.3 steps alone, grasp at most 3.5, all proxies together at most 8.
Ratios use wall time; on the CPU a second table uses process CPU time, which other programs on a
shared machine do not inflate (with one torch thread it is the work done).

    python benchmarks/proxy_cost.py                      # 20 architectures, default data
    python benchmarks/proxy_cost.py --archs 5 --window 64 --csv cost.csv
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from gcn_models.network import build_model
from gcn_models.readers import load_dataset
from gcn_models.space import default_space
from gcn_models.windows import default_window_config, make_eval_windows
from zero_cost import ProxyWarning, compute_proxies, list_proxies, select_scoring_batch
from zero_cost.model_io import logits_of

# Proxies and their target (steps); proxies without a pass have no target but are reported.
TARGETS = {"grasp": 3.5}
SINGLE_PASS_TARGET = 1.3
ALL_TARGET = 8.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--window", type=int, default=None, help="window length override")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed training steps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--csv", default=None, help="also write per-architecture ratios here")
    return parser.parse_args()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)``; return its result, wall seconds and process CPU seconds."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    sync(device)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def step_seconds(model: torch.nn.Module, batch, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of one SGD training step on a copy of the model."""
    net = copy.deepcopy(model).train()
    optimiser = torch.optim.SGD(net.parameters(), lr=5e-4, momentum=0.9, nesterov=True)
    x, y = batch

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        F.cross_entropy(logits_of(net(x)), y).backward()
        optimiser.step()

    step()  # warms up allocators and kernels
    times = [timed(x.device, step)[1:] for _ in range(repeats)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def print_table(rows: list[dict], names: list[str], prefix: str, title: str) -> None:
    print(f"\n{title}: median [min-max] over {len(rows)} architectures")
    print(f"{'proxy':10s} {'alone':>22s} {'shared':>8s} {'target':>7s}  ok")
    for name in [*names, "all"]:
        if name == "all":
            values, shared, target = [r[f"{prefix}all"] for r in rows], None, ALL_TARGET
        else:
            values = [r[f"{prefix}alone_{name}"] for r in rows]
            shared = None if prefix else statistics.median(r[f"shared_{name}"] for r in rows)
            target = TARGETS.get(name, SINGLE_PASS_TARGET)
        median = statistics.median(values)
        spread = f"{median:6.2f} [{min(values):5.2f}-{max(values):5.2f}]"
        shared_text = "" if shared is None else f"{shared:8.2f}"
        verdict = "yes" if median <= target else "NO"
        print(f"{name:10s} {spread:>22s} {shared_text:>8s} {target:7.1f}  {verdict}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ProxyWarning)
    device = torch.device(args.device)
    dataset = load_dataset(args.data)
    overrides = {} if args.window is None else {"length": args.window}
    x_all, y_all, _ = make_eval_windows(dataset, default_window_config(dataset, **overrides))
    x, y = select_scoring_batch(x_all, y_all, size=args.batch_size, seed=args.seed)
    batch = (x.to(device), y.to(device))
    names = list_proxies()
    print(
        f"data {args.data}, batch {tuple(x.shape)}, device {device}, threads {args.threads}, "
        f"{args.archs} architectures"
    )

    space = default_space()
    rng = np.random.default_rng(args.seed)
    rows = []
    for index in range(args.archs + 1):  # architecture 0 only warms up (FLOP counter, caches)
        arch = space.sample(rng)
        torch.manual_seed(args.seed + index)
        model = build_model(
            arch,
            layout=dataset.layout,
            in_channels=int(x.shape[1]),
            num_classes=dataset.num_classes,
        ).to(device)
        step, step_cpu = step_seconds(model, batch, args.repeats)
        alone, alone_cpu = {}, {}
        for name in names:
            _, wall, cpu = timed(device, compute_proxies, model, batch, names=[name])
            alone[name], alone_cpu[name] = wall / step, cpu / step_cpu
        together, wall, cpu = timed(device, compute_proxies, model, batch)
        if index == 0:
            continue
        row = {"arch_key": space.arch_key(arch), "step_s": step, "step_cpu_s": step_cpu}
        row.update({f"alone_{n}": v for n, v in alone.items()})
        row.update({f"cpu_alone_{n}": v for n, v in alone_cpu.items()})
        row.update({f"shared_{n}": s / step for n, s in together.seconds.items()})
        row["all"] = wall / step
        row["cpu_all"] = cpu / step_cpu
        rows.append(row)
        if args.csv:  # after every architecture, so a long run that dies keeps its rows
            pd.DataFrame(rows).to_csv(args.csv, index=False)
        print(
            f"{index:3d} {row['arch_key']} step {step:6.2f} s  all {row['all']:5.2f}  "
            f"grasp {alone['grasp']:5.2f}  max single "
            f"{max(v for n, v in alone.items() if n != 'grasp'):5.2f}",
            flush=True,
        )

    print_table(rows, names, prefix="", title="wall time / training step")
    if device.type == "cpu":
        print_table(rows, names, prefix="cpu_", title="process CPU time / training step")
    print(f"\nmedian training step: {statistics.median(r['step_s'] for r in rows):.3f} s wall")
    if args.csv:
        print(f"per-architecture ratios written to {args.csv}")


if __name__ == "__main__":
    main()
