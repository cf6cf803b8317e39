"""`zcnas tune` (also `python -m tuning`): run or resume a study, then summarise it.

With no arguments it runs the embedded default (the ``demo`` preset): synthetic infant-like data,
a small study that finishes in about five minutes on two CPU cores, then the analysis report.
``--preset full`` is the infant protocol (150-frame windows, 100 epochs, critical epochs).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from tuning.config import PRESETS, SCHEDULERS, SECOND_OBJECTIVES, StudyConfig


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the `tune` flags."""
    add = parser.add_argument
    add(
        "--preset",
        choices=sorted(PRESETS),
        default="demo",
        help="defaults to start from: demo (small synthetic study, the default) or full "
        "(the infant protocol: 150-frame windows, 100 epochs, critical-epoch stops)",
    )
    add("--data", help="`synthetic` (default) or a dataset path (CSV dir, MSR dir, .npz)")
    add("--layout", help="layout name or JSON/YAML file, for data that does not carry one")
    add(
        "--data-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, repeatable (e.g. actions=[1,2,3] for MSR Action3D)",
    )
    add(
        "--holdout-subjects",
        help="comma-separated subjects kept out of the study for the final test",
    )
    add("--num-samples", type=int, help="architectures to train (or score with --proxies-only)")
    add("--max-concurrent", type=int, help="trials at once (0: as many as resources allow)")
    add("--cpus-per-trial", type=float, help="CPUs per trial (also its torch threads)")
    add("--gpus-per-trial", type=float, help="GPU share per trial, e.g. 0.25")
    add("--epochs", type=int, help="training epochs per trial")
    add("--batch-size", type=int, help="training batch size (default 32)")
    add("--lr", dest="learning_rate", type=float, help="SGD learning rate (default 5e-4)")
    add("--window", type=int, help="window length in frames (default: the preset's)")
    add("--val-fraction", type=float, help="share of subjects for validation (default 0.25)")
    add("--synthetic-subjects", type=int, help="subjects of the synthetic data")
    add("--sampler", choices=["tpe", "random", "nsga2"], help="Optuna sampler (default tpe)")
    add("--second-objective", choices=SECOND_OBJECTIVES, help="NSGA-II's objective to minimise")
    add("--proxies", help="comma-separated proxy names (default: all)")
    add("--scoring-batch", type=int, help="size of the fixed proxy scoring batch (default 32)")
    add("--proxy-gate", type=float, metavar="Q", help="skip training below the Q-quantile")
    add("--gate-proxy", help="proxy used by --proxy-gate and --warmup (default: vote)")
    add("--warmup", type=int, metavar="N", help="score N architectures first, train the best")
    add("--proxies-only", action="store_true", default=None, help="score only, no training")
    add("--replicate", type=int, metavar="K", help="retrain K architectures with another seed")
    add("--scheduler", choices=SCHEDULERS, help="trial scheduler (default fifo)")
    add(
        "--critical-epochs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the original search's early stop at epochs 10, 20, ...",
    )
    add("--max-failures", type=int, help="retries after a lost worker or node (default 2)")
    add("--optuna-storage", help="RDB URL to mirror finished trials (optuna-dashboard)")
    add("--space", dest="space_file", help="YAML/JSON file restricting the search space")
    add(
        "--address",
        help="Ray cluster to attach to (`auto` on a cluster head, host:port, ray://...); "
        "default: RAY_ADDRESS if set, else a private local instance (`local`)",
    )
    add("--storage", help="results root: directory or URI (default ./zcnas_results)")
    add("--name", help="study name (default: study-<UTC time>)")
    add("--resume", metavar="NAME", help="continue the interrupted study NAME")
    add(
        "--final-test",
        metavar="NAME",
        help="retrain the best architectures of study NAME on all its subjects and test them "
        "on its --holdout-subjects",
    )
    add("--top", type=int, default=1, help="architectures for --final-test (default 1)")
    add("--seed", type=int, help="study seed (default 0)")
    add("--no-report", action="store_true", help="skip the analysis report at the end")
    parser.set_defaults(handler=run)


def _config_from_args(args: argparse.Namespace) -> StudyConfig:
    fields = (
        "data layout num_samples max_concurrent cpus_per_trial gpus_per_trial epochs batch_size "
        "learning_rate window val_fraction synthetic_subjects sampler second_objective "
        "scoring_batch proxy_gate gate_proxy warmup proxies_only replicate scheduler "
        "critical_epochs max_failures optuna_storage space_file address storage name seed"
    ).split()
    overrides: dict[str, Any] = {name: getattr(args, name) for name in fields}
    if args.proxies:
        overrides["proxies"] = tuple(p.strip() for p in args.proxies.split(",") if p.strip())
    if args.holdout_subjects:
        overrides["holdout_subjects"] = tuple(
            s.strip() for s in args.holdout_subjects.split(",") if s.strip()
        )
    overrides["data_options"] = parse_options(args.data_option)
    return StudyConfig.from_preset(args.preset, **overrides)


def parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict; values are read as YAML (numbers, lists, booleans).

    Raises:
        ValueError: For an item without ``=``.
    """
    import yaml

    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--data-option `{item}` must look like KEY=VALUE")
        options[key.strip()] = yaml.safe_load(value)
    return options


def _quiet_optuna(verbosity: int) -> None:
    """Optuna's INFO lines only with ``-v``, like the other libraries (:mod:`tuning.cli`).

    Without it the console shows ``A new study created in memory with name: optuna`` (the
    in-memory study behind OptunaSearch, not the zcnas study) in a third log format. Optuna
    sets its own level when first used, so the level goes through its API.
    """
    import optuna

    from tuning.cli import log_level

    optuna.logging.set_verbosity(log_level(verbosity))


def run(args: argparse.Namespace) -> int:
    """Handler of `zcnas tune`."""
    from tuning.study import run_study

    _quiet_optuna(args.verbose)
    if args.final_test:
        return _final_test(args)
    from tuning.study import StudyInterrupted

    try:
        if args.resume:
            cfg = _load_saved(args.storage, args.resume)
            summary = run_study(cfg, resume=True)
        else:
            cfg = _config_from_args(args)
            summary = run_study(cfg)
    except StudyInterrupted as exc:
        print(f"zcnas tune: {exc}", file=sys.stderr)
        return 130

    best = f"{summary.best_val_auc:.3f}" if math.isfinite(summary.best_val_auc) else "n/a"
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts.items())) or "no rows"
    print(f"study `{summary.name}`: {summary.rows} trials ({counts}); best val_auc {best}")
    print(f"training time {summary.train_hours * 60:.1f} min", end="")
    if summary.saved_hours:
        print(f"; estimated training time saved {summary.saved_hours * 60:.1f} min", end="")
    print()
    print(f"results: {summary.directory}/trials (one Parquet file per trial)")
    if summary.rows and not summary.counts.get("ok"):
        print(f"zcnas tune: every trial failed; first error: {_first_error(cfg)}", file=sys.stderr)
        return 1
    if not args.no_report:
        _report(summary.directory, cfg)
    return 0


def _first_error(cfg: StudyConfig) -> str:
    from tuning.results import ResultStore

    rows = ResultStore(cfg.storage, cfg.name).read_rows()
    errors = rows["error"].dropna() if "error" in rows else []
    return str(errors.iloc[0]).splitlines()[0] if len(errors) else "unknown"


def _load_saved(storage: str | None, name: str) -> StudyConfig:
    from tuning.results import ResultStore
    from tuning.study import STUDY_FILE

    storage = storage or StudyConfig().storage
    saved = ResultStore(storage, name).read_json(STUDY_FILE)
    if saved is None:
        raise ValueError(f"no study `{name}` under {storage}")
    return StudyConfig.from_dict(saved["config"]).replace(storage=storage)


def _final_test(args: argparse.Namespace) -> int:
    from tuning.final_test import RESULT_FILE, final_test

    cfg = _load_saved(args.storage, args.final_test)
    records = final_test(cfg, top=args.top, epochs=args.epochs, seed=args.seed)
    for record in records:
        accuracy = record["test_accuracy"]
        auc = record["test_auc"]
        print(
            f"{record['arch_key']}: search val_auc {record['val_auc']:.3f} | held-out "
            f"accuracy {accuracy if accuracy is None else f'{accuracy:.3f}'}, "
            f"AUC {auc if auc is None else f'{auc:.3f}'} "
            f"({record['test_recordings']} recordings, {record['epochs']} epochs)"
        )
    print(f"written to {cfg.storage}/{cfg.name}/{RESULT_FILE}")
    return 0


def _report(directory: str, cfg: StudyConfig) -> None:
    """Run `zcnas analyze` on the study's rows and say where the report is."""
    from analysis import cli as analyze_cli
    from tuning.results import ResultStore

    rows = ResultStore(cfg.storage, cfg.name).read_rows()
    trained = rows[(rows["status"] == "ok") & rows["val_auc"].notna()] if len(rows) else rows
    if trained.empty or trained["arch_key"].nunique() < 3:
        print("analysis skipped: fewer than 3 trained architectures")
        return
    parser = argparse.ArgumentParser()
    analyze_cli.configure_parser(parser)
    out_dir = f"{directory}/report"
    args = parser.parse_args(
        [directory, "--out", out_dir, "--bootstrap", "2000", "--seed", str(cfg.seed)]
    )
    analyze_cli.run(args)
