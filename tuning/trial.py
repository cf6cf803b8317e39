"""The trial: build the network, score every proxy on the study's batch, then train.

One call of :func:`run_trial` is one Ray Tune trial. Its Parquet row is the record of the trial:
it is written after the proxies, rewritten after every epoch (so a trial stopped by a scheduler
or a lost node still has its row) and finally once more when the trial ends. The file name is
fixed by the Tune trial id, so a retried or resumed trial replaces its row.

Every ``tune.report`` carries the search metric (the best AUC so far) together with the proxy
scores: a report without the metric aborts OptunaSearch, and NaN placeholders mislead schedulers.
Trials that end without training (proxy gate, proxies-only phases, failures) report nothing, so
Optuna records them as pruned rather than learning a made-up value.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import math
import os
import socket
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import torch

from gcn_models.cost import count_flops, count_parameters
from gcn_models.dataset import SkeletonDataset
from gcn_models.layouts import SkeletonLayout
from gcn_models.network import build_model
from gcn_models.space import SearchSpace
from gcn_models.windows import TrainWindowSampler, WindowConfig
from tuning.gate import gate_decision
from tuning.results import ResultStore
from tuning.schema import arch_column, arch_value_text, results_schema, row_to_table
from tuning.training import TrainingConfig, ValidationSet, train_model

logger = logging.getLogger(__name__)

# Set to "choice=value" (e.g. "attention=frame") to make every trial whose architecture has that
# value raise before building: a fault-injection aid for testing failure handling end to end.
FAULT_ENV = "ZCNAS_INJECT_FAILURE_IF"


@dataclass
class StudyContext:
    """Everything a trial needs; built once by the driver and shipped through Ray's object store.

    Attributes:
        study: Study name.
        storage: Results root (local directory or URI).
        dataset_name: Label of the data source, stored in every row.
        space: The search space.
        layout: Skeleton layout of the data.
        in_channels: Network input channels (3 x coordinates).
        num_classes: Number of classes.
        train: Training recordings.
        windows: Window settings for training.
        validation: Validation windows.
        scoring_x: The fixed proxy scoring batch, float32 (B, C, T, V).
        scoring_y: Its labels, int64 (B,).
        proxies: Proxy names to compute (``None``: all registered).
        training: Optimisation settings.
        seed: Study seed (model initialisation and minibatch order of search trials).
        metric: Name of the reported search metric.
        extra_metrics: Further objectives reported for multi-objective samplers.
        proxy_gate: Quantile below which a candidate is not trained, or ``None``.
        gate_proxy: Proxy (or ``vote``) the gate compares.
        gate_min_history: Scored candidates needed before the gate acts.
        skip_repeats: Reuse the result of an architecture already trained in the study.
        proxy_names: The resolved proxy names (the columns of the results schema).
    """

    study: str
    storage: str
    dataset_name: str
    space: SearchSpace
    layout: SkeletonLayout
    in_channels: int
    num_classes: int
    train: SkeletonDataset
    windows: WindowConfig
    validation: ValidationSet
    scoring_x: np.ndarray
    scoring_y: np.ndarray
    proxies: tuple[str, ...] | None
    training: TrainingConfig
    seed: int
    metric: str = "val_auc"
    extra_metrics: tuple[str, ...] = ()
    proxy_gate: float | None = None
    gate_proxy: str = "vote"
    gate_min_history: int = 5
    skip_repeats: bool = True
    proxy_names: tuple[str, ...] = field(default=())

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input window, batch 1: (1, C, T, V)."""
        return (1, *self.scoring_x.shape[1:])

    def store(self) -> ResultStore:
        """The study's result store."""
        return ResultStore(self.storage, self.study)


def pick_device() -> torch.device:
    """CUDA when this trial was given a GPU (Ray sets CUDA_VISIBLE_DEVICES), else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def architecture_from_config(space: SearchSpace, config: dict[str, Any]) -> dict[str, Any]:
    """The canonical architecture of a trial config (flat Optuna keys or an ``arch`` dict)."""
    raw = config.get("arch")
    if raw is None:
        raw = {name: config[name] for name in space.choices if name in config}
    return space.canonical(raw)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _node_name() -> str:
    """``<ip>/<first 8 hex of the Ray node id>`` inside Ray, else the host name."""
    try:
        import ray

        if ray.is_initialized():
            node_id = ray.get_runtime_context().get_node_id() or ""
            return f"{ray.util.get_node_ip_address()}/{node_id[:8]}"
    except Exception:  # noqa: BLE001 - the node name is informative only
        pass
    return socket.gethostname()


def _inject_fault(arch: dict[str, Any]) -> None:
    rule = os.environ.get(FAULT_ENV)
    if not rule:
        return
    name, _, value = rule.partition("=")
    if arch_value_text(arch.get(name)) == value:
        raise RuntimeError(f"injected failure ({FAULT_ENV}={rule})")


class TrialRecorder:
    """Builds and writes the Parquet row of one trial."""

    def __init__(self, context: StudyContext, trial_id: str, row: dict[str, Any]) -> None:
        self.context = context
        self.trial_id = trial_id
        self.row = row
        self.store = context.store()

    def write(self) -> None:
        """Write the current row (replacing any earlier version of this trial's file)."""
        schema = results_schema(
            self.context.space.choices, self.context.proxy_names, extra=self.row
        )
        self.store.write_row(self.trial_id, row_to_table(self.row, schema))


def _report(metrics: dict[str, Any]) -> None:
    from ray import tune

    tune.report(metrics)


def _proxy_metrics(row: dict[str, Any]) -> dict[str, float]:
    """Finite proxy scores of a row, for Tune's reports (strings and NaN left out)."""
    out = {}
    for name, value in row.items():
        if name.startswith("zc_") and not name.endswith(("_s", "_status")):
            if isinstance(value, (int, float)) and math.isfinite(value):
                out[name] = float(value)
    return out


def run_trial(config: dict[str, Any], context: StudyContext) -> None:
    """Ray Tune function trainable: proxies first, then training, one Parquet row.

    Args:
        config: The trial's configuration: architecture choices (flat keys from OptunaSearch, or
            ``arch``), and optionally ``phase`` (``search``, ``warmup``, ``proxies``,
            ``replicate``) and ``seed``.
        context: The study context (bound with ``tune.with_parameters``).
    """
    from ray import tune

    tune_context = tune.get_context()
    trial_id = tune_context.get_trial_id()
    resources = tune_context.get_trial_resources()
    cpus = 1
    try:
        cpus = max(1, int(resources.required_resources.get("CPU", 1)))
    except AttributeError:
        pass
    torch.set_num_threads(cpus)
    _freeze_long_lived_objects()
    execute_trial(config, context, trial_id=trial_id, report=_report)


def _freeze_long_lived_objects() -> None:
    """Move what this worker holds before its first trial out of the collector's sight, once.

    The imports (torch, Ray, the trial code) and the study context live as long as the worker.
    Without this, the full collection after every trial (:func:`release_memory`) walks their
    ~300,000 objects: 0.13 s per trial, measured, a tenth of a proxies-only trial's slot time.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def execute_trial(
    config: dict[str, Any],
    context: StudyContext,
    *,
    trial_id: str,
    report: Any = None,
) -> dict[str, Any]:
    """The body of a trial, callable without Ray (for debugging and tests).

    Args:
        config: See :func:`run_trial`.
        context: The study context.
        trial_id: Identifier that names the Parquet file.
        report: ``metrics -> None`` called after every epoch (``tune.report`` under Ray).

    Returns:
        The final row.
    """
    report = report or (lambda metrics: None)
    phase = str(config.get("phase", "search"))
    seed = int(config.get("seed", context.seed))
    store = context.store()
    device = pick_device()
    started = _now()
    space = context.space
    arch = architecture_from_config(space, config)
    key = space.arch_key(arch)

    previous = store.read_row(trial_id)
    if previous is not None and previous.get("arch_key") == key and previous.get("finished_at"):
        # A resumed or retried trial that already finished: its row stands, nothing is redone.
        logger.info("trial %s already recorded (%s); not repeated", trial_id, previous["status"])
        if previous.get("status") == "ok" and previous.get("val_auc") is not None:
            report(_final_metrics(previous, context))
        return previous

    row: dict[str, Any] = {
        "study": context.study,
        "trial_id": trial_id,
        "phase": phase,
        "arch_key": key,
        **{arch_column(n): arch_value_text(v) for n, v in arch.items()},
        "status": "ok",
        "seed": seed,
        "started_at": started,
        "node": _node_name(),
        "device": str(device),
        "dataset": context.dataset_name,
        "attempt": 0 if previous is None else int(previous.get("attempt") or 0) + 1,
        "config_json": json.dumps(arch, sort_keys=True),
        "epochs": 0,
    }
    recorder = TrialRecorder(context, trial_id, row)
    try:
        if phase == "search" and context.skip_repeats:
            earlier = _earlier_result(store.read_rows(), key, trial_id)
            if earlier is not None:
                return _record_repeat(recorder, earlier, context, report)
        _inject_fault(arch)
        torch.manual_seed(seed)
        model = build_model(
            arch,
            layout=context.layout,
            in_channels=context.in_channels,
            num_classes=context.num_classes,
        )
        row["params"] = count_parameters(model)
        row["flops"] = count_flops(model, context.input_shape)
        model.to(device)
        _score_proxies(model, context, row, device, seed)
        recorder.write()

        if phase in ("proxies", "warmup"):
            row["status"] = "ok" if phase == "proxies" else "pruned"
            return _finish(recorder)
        if phase == "search" and context.proxy_gate is not None:
            decision = gate_decision(
                store.read_rows(),
                row,
                context.gate_proxy,
                context.proxy_gate,
                min_history=context.gate_min_history,
            )
            if decision.prune:
                row["status"] = "pruned"
                row["error"] = decision.reason
                return _finish(recorder)

        _train(model, context, row, recorder, device, seed, report)
        return _finish(recorder)
    except Exception as exc:  # noqa: BLE001 - a failing trial is recorded, never fatal
        logger.warning("trial %s failed: %s", trial_id, exc)
        row["status"] = "failed"
        row["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        row["error"] += "\n" + traceback.format_exc(limit=-3)
        return _finish(recorder)
    finally:
        release_memory(device)


def release_memory(device: torch.device) -> None:
    """Hand freed memory back after a trial (actors are reused for the next one).

    A trial allocates and frees many differently sized tensors; glibc keeps the freed pages, so
    a reused Ray actor grew to 4-5 GB after ten trials although less than 1 GB was live.
    ``malloc_trim`` returns them (measured: 1.9 GB -> 0.7 GB after five trials).
    """
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


def _score_proxies(
    model: torch.nn.Module,
    context: StudyContext,
    row: dict[str, Any],
    device: torch.device,
    seed: int,
) -> None:
    from zero_cost import compute_proxies

    batch = (
        torch.from_numpy(context.scoring_x).to(device),
        torch.from_numpy(context.scoring_y).to(device),
    )
    result = compute_proxies(model, batch, names=context.proxies, seed=seed)
    row.update(result.to_row())
    row["proxy_s"] = float(result.total_seconds)


def _train(
    model: torch.nn.Module,
    context: StudyContext,
    row: dict[str, Any],
    recorder: TrialRecorder,
    device: torch.device,
    seed: int,
    report: Any,
) -> None:
    sampler = TrainWindowSampler(context.train, context.windows, seed=seed)
    # The proxies ran on the untrained network; training starts from the same initialisation.
    proxies = _proxy_metrics(row)
    curve: list[float] = []

    def on_epoch(result: Any) -> None:
        curve.append(result.val_auc)
        row.update(
            val_auc=result.best_val_auc,
            val_accuracy=_best_accuracy(row, result),
            best_epoch=result.best_epoch,
            epochs=result.epoch,
            val_auc_curve=list(curve),
        )
        row["train_s"] = float(row.get("train_s") or 0.0) + result.seconds
        recorder.write()
        metrics = {
            context.metric: _finite_or(result.best_val_auc, 0.5),
            "epoch": result.epoch,
            "epoch_val_auc": _finite_or(result.val_auc, 0.5),
            "val_accuracy": _finite_or(row["val_accuracy"], 0.0),
            "train_loss": result.train_loss,
            "params": row["params"],
            "proxy_s": row["proxy_s"],
            **proxies,
        }
        report(metrics)

    row["train_s"] = 0.0
    outcome = train_model(
        model,
        sampler.epoch,
        context.validation,
        context.training,
        device=device,
        seed=seed,
        on_epoch=on_epoch,
    )
    row.update(
        val_auc=outcome.val_auc,
        best_epoch=outcome.best_epoch,
        epochs=outcome.epochs,
        train_s=outcome.train_s,
        val_auc_curve=outcome.curve,
    )
    if outcome.best_epoch:
        row["val_accuracy"] = outcome.val_accuracy


def _best_accuracy(row: dict[str, Any], result: Any) -> float:
    if result.best_epoch == result.epoch:
        return result.val_accuracy
    return row.get("val_accuracy", math.nan)


def _finite_or(value: float | None, default: float) -> float:
    return float(value) if value is not None and math.isfinite(value) else default


def _finish(recorder: TrialRecorder) -> dict[str, Any]:
    recorder.row["finished_at"] = _now()
    recorder.write()
    return recorder.row


def _earlier_result(rows: pd.DataFrame, key: str, trial_id: str) -> dict[str, Any] | None:
    """The first finished, trained row of the same architecture in the search phase."""
    if rows.empty or "arch_key" not in rows:
        return None
    mask = (
        (rows["arch_key"] == key)
        & (rows["trial_id"] != trial_id)
        & (rows["status"] == "ok")
        & rows["repeat_of"].isna()
        & rows["finished_at"].notna()
        & rows["val_auc"].notna()
        & rows["phase"].isin(["search"])
    )
    matches = rows[mask].sort_values("finished_at")
    if matches.empty:
        return None
    return matches.iloc[0].to_dict()


def _record_repeat(
    recorder: TrialRecorder, earlier: dict[str, Any], context: StudyContext, report: Any
) -> dict[str, Any]:
    """Reuse an earlier trial's result for an identical architecture (no training)."""
    row = recorder.row
    copied = ("val_auc", "val_accuracy", "best_epoch", "params", "flops", "val_auc_curve")
    for name in copied:
        row[name] = _clean(earlier.get(name))
    for name, value in earlier.items():
        if name.startswith("zc_"):
            row[name] = _clean(value)
    row["repeat_of"] = str(earlier["trial_id"])
    row["epochs"] = 0
    row["train_s"] = 0.0
    row["proxy_s"] = 0.0
    logger.info("architecture %s already trained in trial %s", row["arch_key"], row["repeat_of"])
    report(_final_metrics(row, context))
    return _finish(recorder)


def _clean(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [float(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _final_metrics(row: dict[str, Any], context: StudyContext) -> dict[str, Any]:
    return {
        context.metric: _finite_or(row.get("val_auc"), 0.5),
        "epoch": int(row.get("epochs") or 0),
        "val_accuracy": _finite_or(row.get("val_accuracy"), 0.0),
        "params": row.get("params") or 0,
        "proxy_s": _finite_or(row.get("proxy_s"), 0.0),
        **_proxy_metrics(row),
    }
