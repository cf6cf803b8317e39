"""The study driver: data and scoring batch, then Ray Tune phases over the search space.

Phases, each a Ray Tune experiment under ``STORAGE/NAME/ray/<phase>`` so it can be restored on
its own:

1. ``warmup`` (``--warmup N``): N random architectures scored with proxies only; the best of them
   (by the gate proxy, ``vote`` by default) are queued first for the search.
2. ``search``: OptunaSearch proposes, every trial scores proxies then trains. With
   ``--proxies-only`` this phase is ``proxies``: random architectures, proxies only.
3. ``replicate`` (``--replicate K``): K finished architectures, spread over the AUC range, trained
   again with another seed, for the noise ceiling of the target.

Finished phases are listed in ``study.json``; ``--resume NAME`` restores the unfinished phase with
``Tuner.restore`` (unfinished and errored trials resumed) and runs the phases after it.
"""

from __future__ import annotations

import io
import logging
import math
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuning.config import StudyConfig
from tuning.results import ResultStore, join, resolve_filesystem
from tuning.trial import FAULT_ENV, StudyContext, run_trial

logger = logging.getLogger(__name__)

METRIC = "val_auc"
STUDY_FILE = "study.json"
BATCH_FILE = "scoring_batch.npz"


@dataclass
class StudySummary:
    """What a finished study reports.

    Attributes:
        name: Study name.
        directory: Study directory (local path or URI).
        rows: Number of trial rows.
        counts: Rows per status.
        best_val_auc: Best validation AUC (NaN when nothing was trained).
        best_arch_key: Architecture key of the best trial.
        train_hours: Training time spent, hours.
        saved_hours: Estimated training time saved by the proxy gate or warm-up, hours.
    """

    name: str
    directory: str
    rows: int
    counts: dict[str, int]
    best_val_auc: float
    best_arch_key: str | None
    train_hours: float
    saved_hours: float


# -- data and context -------------------------------------------------------------------------


def build_context(cfg: StudyConfig) -> StudyContext:
    """Load the data, split it by subject, cut windows and choose the scoring batch.

    Deterministic given the config, so a resumed study rebuilds the same context.

    Raises:
        ValueError: If the data cannot be used (one class only, too few windows, ...).
    """
    from gcn_models.space import SearchSpace, default_space
    from gcn_models.splits import split_by_subject, split_by_subjects
    from gcn_models.windows import default_window_config, make_eval_windows
    from tuning.training import TrainingConfig, ValidationSet
    from zero_cost import list_proxies, select_scoring_batch

    dataset = load_study_dataset(cfg)
    if cfg.holdout_subjects:
        dataset, _ = split_by_subjects(dataset, val_subjects=cfg.holdout_subjects)
    if dataset.num_classes < 2:
        raise ValueError(f"{cfg.data}: the data has {dataset.num_classes} class; need at least 2")
    train, val = split_by_subject(dataset, val_fraction=cfg.val_fraction, seed=cfg.seed)
    windows = default_window_config(dataset)
    if cfg.window is not None:
        windows = windows.replace(length=cfg.window)
    val_x, _, val_groups = make_eval_windows(val, windows)
    if len(np.unique(val.labels)) < 2:
        raise ValueError(
            f"{cfg.data}: the validation subjects hold one class only; raise `val_fraction` "
            "or add recordings"
        )
    validation = ValidationSet(
        x=val_x,
        groups=np.asarray(val_groups),
        labels=np.asarray(val.labels),
        num_classes=dataset.num_classes,
    )
    train_x, train_y, _ = make_eval_windows(train, windows)
    scoring_x, scoring_y = select_scoring_batch(
        train_x, train_y, size=cfg.scoring_batch, seed=cfg.seed
    )
    space = SearchSpace.from_file(cfg.space_file) if cfg.space_file else default_space()
    proxies = tuple(cfg.proxies) if cfg.proxies else None
    _preflight(cfg, space, dataset.layout, int(val_x.shape[1]), dataset.num_classes)
    training = TrainingConfig(
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        critical_epochs=_critical_epochs(cfg),
    )
    metrics: tuple[str, ...] = ()
    if cfg.sampler == "nsga2":
        metrics = (cfg.second_objective,)
    return StudyContext(
        study=cfg.name,
        storage=cfg.storage,
        dataset_name=_dataset_label(cfg),
        space=space,
        layout=dataset.layout,
        in_channels=int(val_x.shape[1]),
        num_classes=dataset.num_classes,
        train=train,
        windows=windows,
        validation=validation,
        scoring_x=_to_numpy(scoring_x, np.float32),
        scoring_y=_to_numpy(scoring_y, np.int64),
        proxies=proxies,
        training=training,
        seed=cfg.seed,
        metric=METRIC,
        extra_metrics=metrics,
        proxy_gate=cfg.proxy_gate,
        gate_proxy=cfg.gate_proxy,
        proxy_names=proxies or tuple(list_proxies()),
    )


def _preflight(
    cfg: StudyConfig, space: Any, layout: Any, in_channels: int, num_classes: int
) -> None:
    """Refuse settings that would make every trial fail, before Ray starts.

    Checks the proxy names, the gate proxy, GPU availability, and that every value of every
    choice builds a network (a restricted or extended space may hold values the builder
    rejects).

    Raises:
        ValueError: Naming the setting and what is allowed.
    """
    from gcn_models.network import check_space_builds
    from zero_cost import list_proxies

    known = set(list_proxies())
    unknown = [p for p in cfg.proxies if p not in known]
    if unknown:
        names = ", ".join(f"`{p}`" for p in unknown)
        raise ValueError(
            f"unknown proxy {names} in --proxies; valid proxies: {', '.join(sorted(known))}"
        )
    gate_needs = cfg.proxy_gate is not None or cfg.warmup
    if gate_needs and cfg.gate_proxy != "vote":
        scored = set(cfg.proxies) or known
        if cfg.gate_proxy not in scored:
            raise ValueError(
                f"`--gate-proxy {cfg.gate_proxy}` is not among the computed proxies; use `vote` "
                f"or one of: {', '.join(sorted(scored))}"
            )
    if cfg.gpus_per_trial > 0 and cluster_address(cfg) is None:
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                f"`--gpus-per-trial {cfg.gpus_per_trial}` but this machine has no CUDA GPU; "
                "trials would wait forever (use 0, or --address to reach a GPU cluster)"
            )
    check_space_builds(
        space,
        layout=layout,
        in_channels=in_channels,
        num_classes=num_classes,
        seed=cfg.seed,
        source=cfg.space_file,
    )


def load_study_dataset(cfg: StudyConfig) -> Any:
    """The study's whole dataset (held-out subjects included), preprocessed."""
    from gcn_models.readers import load_dataset

    options: dict[str, Any] = dict(cfg.data_options)
    if cfg.data == "synthetic":
        options = {"subjects": cfg.synthetic_subjects, "seed": cfg.seed, **options}
    return load_dataset(cfg.data, layout=cfg.layout, **options)


def _to_numpy(value: Any, dtype: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(value, dtype=dtype))


def _critical_epochs(cfg: StudyConfig) -> tuple[tuple[int, float], ...]:
    from tuning.training import ORIGINAL_CRITICAL_EPOCHS

    if not cfg.critical_epochs:
        return ()
    return tuple((e, v) for e, v in ORIGINAL_CRITICAL_EPOCHS if e < cfg.epochs)


def _dataset_label(cfg: StudyConfig) -> str:
    if cfg.data == "synthetic":
        return f"synthetic(subjects={cfg.synthetic_subjects},seed={cfg.seed})"
    return str(cfg.data)


# -- metadata ---------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import optuna
    import pyarrow
    import ray
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "optuna": optuna.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": np.__version__,
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _batch_digest(x: np.ndarray, y: np.ndarray) -> str:
    import hashlib

    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()[:16]


def save_metadata(store: ResultStore, cfg: StudyConfig, context: StudyContext, phases: list[str]):
    """Write ``study.json`` (config, space, batch digest, versions, commit) and the batch."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=context.scoring_x, y=context.scoring_y)
    store.write_bytes(BATCH_FILE, buffer.getvalue())
    store.write_json(
        STUDY_FILE,
        {
            "config": cfg.to_dict(),
            "space": context.space.to_dict(),
            "layout": context.layout.name,
            "layout_spec": context.layout.to_dict(),
            "num_classes": context.num_classes,
            "dataset": context.dataset_name,
            "scoring_batch_digest": _batch_digest(context.scoring_x, context.scoring_y),
            "scoring_batch_shape": list(context.scoring_x.shape),
            "proxies": list(context.proxy_names),
            "versions": _versions(),
            "git_commit": _git_commit(),
            "phases_done": phases,
        },
    )


# -- Ray set-up -------------------------------------------------------------------------------


def cluster_address(cfg: StudyConfig) -> str | None:
    """The Ray cluster this study attaches to, or ``None`` for a private local instance.

    ``--address`` wins over the ``RAY_ADDRESS`` environment variable; ``local`` (from either)
    asks for a private instance. Unlike a bare ``ray.init()``, a cluster merely recorded on this
    node by ``ray start`` (``/tmp/ray/ray_current_cluster``) is not attached to on its own: that
    record outlives crashed clusters, and attaching to it would silently move a local study.
    """
    address = cfg.address or os.environ.get("RAY_ADDRESS") or None
    return None if address == "local" else address


def _recorded_cluster() -> str | None:
    """The address ``ray start`` last recorded on this node, if any (for a hint only)."""
    try:
        from ray._private.utils import read_ray_address
    except ImportError:  # private helper; only the hint depends on it
        return None
    try:
        return read_ray_address() or None
    except OSError:
        return None


def init_ray(cfg: StudyConfig, *, num_cpus: int | None = None) -> None:
    """Start a private local Ray instance, or attach to a cluster (no resource arguments there).

    Args:
        cfg: The study settings (``address``).
        num_cpus: CPUs of the local instance (default: all of this machine's).

    Raises:
        ConnectionError: the cluster at ``--address``/``RAY_ADDRESS`` cannot be reached; the
            message names the address and where it came from.
    """
    import ray

    if ray.is_initialized():
        return
    env = {k: v for k, v in os.environ.items() if k.startswith("ZCNAS_")}
    env.setdefault("RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS", "0")
    runtime_env = {"env_vars": env}
    address = cluster_address(cfg)
    if address:
        source = "--address" if cfg.address else "the RAY_ADDRESS environment variable"
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        except ConnectionError as exc:
            raise ConnectionError(
                f"cannot reach the Ray cluster at {address!r} (from {source}): {exc}. "
                "Start it with `ray start --head` or `ray up`, or pass `--address local` to run "
                "on a private local instance."
            ) from exc
        return
    recorded = _recorded_cluster()
    if recorded:
        logger.info(
            "a Ray cluster is recorded on this node at %s; this study runs on its own local "
            "instance (pass --address auto to run it on that cluster)",
            recorded,
        )
    ray.init(
        address="local",
        num_cpus=num_cpus or os.cpu_count() or 1,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=512 * 1024**2,
        runtime_env=runtime_env,
    )


def trial_dirname(trial: Any) -> str:
    """Short, stable trial directory names (the default embeds the whole config)."""
    return f"trial-{trial.trial_id}"


def _ray_dir(cfg: StudyConfig) -> str:
    _, base = resolve_filesystem(cfg.storage)
    if "://" in cfg.storage:
        scheme = cfg.storage.split("://", 1)[0]
        return f"{scheme}://{join(base, cfg.name, 'ray')}"
    return join(base, cfg.name, "ray")


def _trainable(cfg: StudyConfig, context: StudyContext) -> Any:
    from ray import tune

    resources = {"cpu": cfg.cpus_per_trial, "gpu": cfg.gpus_per_trial}
    return tune.with_resources(tune.with_parameters(run_trial, context=context), resources)


def _run_config(cfg: StudyConfig, phase: str, callbacks: list[Any]) -> Any:
    from ray import tune

    return tune.RunConfig(
        name=phase,
        storage_path=_ray_dir(cfg),
        failure_config=tune.FailureConfig(max_failures=cfg.max_failures),
        callbacks=callbacks,
        verbose=0,
        log_to_file=True,
    )


def _callbacks(cfg: StudyConfig, context: StudyContext, total: int, phase: str) -> list[Any]:
    from tuning.callbacks import OptunaMirror, ProgressLine, QuietTrialProgress, RowGuard

    callbacks: list[Any] = [
        RowGuard(context),
        ProgressLine(cfg.storage, cfg.name, total, phase),
        QuietTrialProgress(metric=METRIC),
    ]
    if cfg.optuna_storage and phase == "search":
        callbacks.append(OptunaMirror(cfg.optuna_storage, cfg.name, context.space, METRIC))
    return callbacks


def _restore_or_none(cfg: StudyConfig, context: StudyContext, phase: str) -> Any:
    from ray import tune

    path = join(_ray_dir(cfg), phase)
    if not tune.Tuner.can_restore(path):
        return None
    logger.info("restoring phase `%s` from %s", phase, path)
    return tune.Tuner.restore(
        path,
        trainable=_trainable(cfg, context),
        resume_unfinished=True,
        resume_errored=True,
    )


def _grid_tuner(
    cfg: StudyConfig,
    context: StudyContext,
    phase: str,
    archs: list[dict[str, Any]],
    seed: int,
) -> Any:
    """A Tuner over a fixed list of architectures (warm-up, proxies-only, replicates)."""
    from ray import tune

    return tune.Tuner(
        _trainable(cfg, context),
        param_space={
            "arch": tune.grid_search(archs),
            "phase": phase,
            "seed": seed,
        },
        tune_config=tune.TuneConfig(
            max_concurrent_trials=cfg.max_concurrent or None,
            reuse_actors=True,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=_run_config(cfg, phase, _callbacks(cfg, context, len(archs), phase)),
    )


def _search_tuner(cfg: StudyConfig, context: StudyContext, points: list[dict[str, Any]]) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from tuning.search import create_searcher

    if cfg.sampler == "nsga2":
        metric: Any = [METRIC, cfg.second_objective]
        mode: Any = ["max", "min"]
    else:
        metric, mode = METRIC, "max"
    searcher = create_searcher(
        context.space,
        sampler=cfg.sampler,
        seed=cfg.seed,
        metric=metric,
        mode=mode,
        points_to_evaluate=points,
    )
    scheduler = None
    if cfg.scheduler == "asha":
        scheduler = ASHAScheduler(
            time_attr="epoch",
            metric=METRIC,
            mode="max",
            max_t=cfg.epochs,
            grace_period=max(1, cfg.epochs // 4),
            reduction_factor=2,
        )
    return tune.Tuner(
        _trainable(cfg, context),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=cfg.num_samples,
            max_concurrent_trials=cfg.max_concurrent or None,
            reuse_actors=True,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=_run_config(cfg, "search", _callbacks(cfg, context, cfg.num_samples, "search")),
    )


# -- phases -----------------------------------------------------------------------------------


def _sample_archs(context: StudyContext, n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [context.space.sample(rng) for _ in range(n)]


def warmup_winners(store: ResultStore, context: StudyContext, cfg: StudyConfig) -> list[dict]:
    """The best warm-up architectures by the gate proxy, as many as the search will train."""
    rows = store.read_rows()
    if rows.empty:
        return []
    rows = rows[rows["phase"] == "warmup"].drop_duplicates("arch_key")
    if rows.empty:
        return []
    if cfg.gate_proxy == "vote":
        from zero_cost import vote_copeland

        score = np.asarray(vote_copeland(rows), dtype=float)
    else:
        score = rows[f"zc_{cfg.gate_proxy}"].to_numpy(dtype=float)
    score = np.where(np.isfinite(score), score, -np.inf)
    order = np.argsort(-score, kind="stable")[: cfg.num_samples]
    import json

    return [json.loads(rows.iloc[i]["config_json"]) for i in order]


def replicate_choices(store: ResultStore, k: int) -> list[dict[str, Any]]:
    """K trained search architectures spread evenly over the AUC ranking, longest first.

    Which architectures are picked depends on the AUC ranking only; they are returned in
    decreasing order of their recorded training time, so the phase's last trials are its
    shortest and fewer slots idle while the final ones run (longest-processing-time-first).
    """
    import json

    rows = store.read_rows()
    if rows.empty or k <= 0:
        return []
    trained = rows[
        (rows["phase"] == "search")
        & (rows["status"] == "ok")
        & rows["repeat_of"].isna()
        & rows["val_auc"].notna()
    ].drop_duplicates("arch_key")
    if trained.empty:
        return []
    trained = trained.sort_values("val_auc", kind="stable")
    picks = np.unique(np.linspace(0, len(trained) - 1, num=min(k, len(trained))).round())
    chosen = trained.iloc[picks.astype(int)]
    chosen = chosen.sort_values("train_s", ascending=False, kind="stable", na_position="last")
    return [json.loads(text) for text in chosen["config_json"]]


def run_study(cfg: StudyConfig, *, resume: bool = False) -> StudySummary:
    """Run (or resume) a whole study and summarise it.

    Args:
        cfg: The study settings.
        resume: Continue an interrupted study of the same name.

    Returns:
        The summary; rows are in ``STORAGE/NAME/trials``.

    Raises:
        ValueError: If the study exists and `resume` is false, or is missing and `resume` is true.
    """
    store = ResultStore(cfg.storage, cfg.name)
    existing = store.read_json(STUDY_FILE)
    if existing and not resume:
        raise ValueError(
            f"study `{cfg.name}` already exists in {store.study_dir}; resume it with "
            f"`--resume {cfg.name}` or choose another `--name`"
        )
    if resume and not existing:
        raise ValueError(f"no study `{cfg.name}` in {store.study_dir} to resume")
    phases_done: list[str] = list(existing.get("phases_done", [])) if existing else []

    context = build_context(cfg)
    store.ensure_dirs()
    # Trials that train nothing (proxy gate, failures, proxies-only phases) end without a
    # report, so Optuna records them as pruned instead of learning a made-up AUC. Tune's strict
    # check would abort the whole experiment on such a trial; every training report does carry
    # the metric, and a finished trial's final result never reaches OptunaSearch.on_trial_result.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # The study prints its own progress line; Tune's newer console output ignores verbose=0
    # and prints an experiment box and a TensorBoard hint per phase. The classic reporter
    # honours verbose=0. Set RAY_AIR_NEW_OUTPUT=1 to get Tune's output back.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    save_metadata(store, cfg, context, phases_done)
    init_ray(cfg)

    plan: list[str] = []
    if cfg.warmup and not cfg.proxies_only:
        plan.append("warmup")
    plan.append("proxies" if cfg.proxies_only else "search")
    if cfg.replicate and not cfg.proxies_only:
        plan.append("replicate")

    for phase in plan:
        if phase in phases_done:
            continue
        tuner = _restore_or_none(cfg, context, phase) if resume else None
        if tuner is None:
            tuner = _new_phase_tuner(cfg, context, store, phase)
        if tuner is not None:
            logger.info("phase `%s` starting", phase)
            _fit_with_restores(tuner, cfg, context, phase)
        phases_done.append(phase)
        save_metadata(store, cfg, context, phases_done)
    return summarise(store, cfg)


# How often a phase is restored after Ray itself stopped it (a worker killed by the memory
# monitor surfaces as an exception from `Tuner.fit`, not as a failed trial).
DRIVER_RESTORES = 3


class StudyInterrupted(Exception):
    """The user stopped the study (Ctrl-C); it can be resumed."""


def _fit_with_restores(tuner: Any, cfg: StudyConfig, context: StudyContext, phase: str) -> None:
    """Run a phase; if Ray aborts it, restore it from its last snapshot and go on.

    Raises:
        StudyInterrupted: If Tune stopped on Ctrl-C with trials unfinished.
    """
    for attempt in range(DRIVER_RESTORES + 1):
        try:
            grid = tuner.fit()
            _check_complete(grid, cfg, phase)
            return
        except (KeyboardInterrupt, StudyInterrupted):
            raise
        except Exception as exc:  # noqa: BLE001 - Ray wraps worker deaths in many types
            restored = _restore_or_none(cfg, context, phase)
            if attempt == DRIVER_RESTORES or restored is None:
                raise
            logger.warning(
                "phase `%s` stopped by an error in Ray (%s); restoring it (%d of %d)",
                phase,
                str(exc).splitlines()[0][:200],
                attempt + 1,
                DRIVER_RESTORES,
            )
            tuner = restored


def _check_complete(grid: Any, cfg: StudyConfig, phase: str) -> None:
    """Raise :class:`StudyInterrupted` when Tune returned with trials still unfinished.

    On Ctrl-C Tune saves its state and returns normally; the trials it stopped are reopened
    (their rows lose ``finished_at``) so that ``--resume`` trains them again.
    """
    trials = list(grid._experiment_analysis.trials)
    unfinished = [t.trial_id for t in trials if t.status not in ("TERMINATED", "ERROR")]
    expected = cfg.num_samples if phase == "search" else len(trials)
    if not unfinished and len(trials) >= expected:
        return
    store = ResultStore(cfg.storage, cfg.name)
    for trial_id in unfinished:
        row = store.read_row(trial_id)
        if row is not None and row.get("finished_at") is not None and row["status"] == "ok":
            row["finished_at"] = None
            from tuning.schema import results_schema, row_to_table

            table = row_to_table(row, results_schema((), (), extra=row))
            store.write_row(trial_id, table)
    done = len(trials) - len(unfinished)
    raise StudyInterrupted(
        f"phase `{phase}` interrupted after {done} of {expected} trial(s); continue with "
        f"`zcnas tune --resume {cfg.name} --storage {cfg.storage}`"
    )


def _new_phase_tuner(
    cfg: StudyConfig, context: StudyContext, store: ResultStore, phase: str
) -> Any:
    if phase == "warmup":
        archs = _sample_archs(context, cfg.warmup, cfg.seed + 7)
        return _grid_tuner(cfg, context, "warmup", archs, cfg.seed)
    if phase == "proxies":
        archs = _sample_archs(context, cfg.num_samples, cfg.seed)
        return _grid_tuner(cfg, context, "proxies", archs, cfg.seed)
    if phase == "search":
        points = warmup_winners(store, context, cfg) if cfg.warmup else []
        return _search_tuner(cfg, context, points)
    archs = replicate_choices(store, cfg.replicate)
    if not archs:
        logger.warning("no trained architectures to replicate")
        return None
    return _grid_tuner(cfg, context, "replicate", archs, cfg.seed + 1)


def summarise(store: ResultStore, cfg: StudyConfig) -> StudySummary:
    """Counts, best result and training time of a study's rows."""
    rows = store.read_rows()
    counts: dict[str, int] = {}
    best_auc, best_key = math.nan, None
    train_hours = saved_hours = 0.0
    if not rows.empty:
        counts = {str(k): int(v) for k, v in rows["status"].value_counts().items()}
        trained = rows[(rows["status"] == "ok") & rows["val_auc"].notna()]
        if not trained.empty:
            best = trained.loc[trained["val_auc"].idxmax()]
            best_auc, best_key = float(best["val_auc"]), str(best["arch_key"])
        train_s = rows["train_s"].fillna(0.0) if "train_s" in rows else 0.0
        train_hours = float(np.sum(train_s)) / 3600
        median_train = trained["train_s"].median() if not trained.empty else math.nan
        gated = int(((rows["status"] == "pruned") & (rows["phase"] == "search")).sum())
        warmup_unused = max(0, int((rows["phase"] == "warmup").sum()) - cfg.num_samples)
        skipped = gated + warmup_unused + int(rows["repeat_of"].notna().sum())
        if math.isfinite(median_train):
            saved_hours = skipped * float(median_train) / 3600
    return StudySummary(
        name=cfg.name,
        directory=store.study_dir,
        rows=int(len(rows)),
        counts=counts,
        best_val_auc=best_auc,
        best_arch_key=best_key,
        train_hours=train_hours,
        saved_hours=saved_hours,
    )


__all__ = [
    "FAULT_ENV",
    "StudySummary",
    "build_context",
    "init_ray",
    "run_study",
    "summarise",
]
