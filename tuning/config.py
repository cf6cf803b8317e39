"""Study settings: one frozen dataclass, presets, and its JSON form saved with the study."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Preset name -> field overrides. "demo" is the embedded default: synthetic data, short windows,
# a few short trainings, about five minutes on two CPU cores. "full" is the infant protocol that
# a GPU cluster runs: 150-frame windows, 100 epochs with the original critical epochs.
PRESETS: dict[str, dict[str, Any]] = {
    "demo": {
        "num_samples": 12,
        "epochs": 3,
        "window": 32,
        "synthetic_subjects": 48,
        "max_concurrent": 2,
        "cpus_per_trial": 1.0,
        "critical_epochs": False,
        "replicate": 3,
        "scoring_batch": 16,
    },
    "full": {
        "num_samples": 200,
        "epochs": 100,
        "window": None,
        "synthetic_subjects": 200,
        "max_concurrent": 0,
        "cpus_per_trial": 2.0,
        "critical_epochs": True,
        "replicate": 10,
        "scoring_batch": 32,
    },
}

SCHEDULERS = ("fifo", "asha")
SECOND_OBJECTIVES = ("params", "proxy_s")


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a study; saved as ``study.json`` and used again on resume.

    Attributes:
        name: Study name (directory under `storage`).
        storage: Results root: a local directory (made absolute) or a URI
            (``s3://bucket/prefix``).
        data: ``synthetic`` or a dataset path (tracker CSV directory, MSR Action3D directory,
            canonical ``.npz``).
        data_options: Reader options (e.g. ``{"actions": [1, 2, 3]}`` for MSR Action3D).
        holdout_subjects: Subjects kept out of the study entirely, for the final test of the
            best architectures (MSR cross-subject protocol: ``s02 s04 s06 s08 s10``).
        layout: Layout name or file for data that does not carry one.
        preset: Name of the preset the other defaults came from.
        num_samples: Architectures the search trains (or scores, with `proxies_only`).
        max_concurrent: Trials running at once (0: as many as resources allow).
        cpus_per_trial: CPUs reserved per trial; also the trial's torch thread count.
        gpus_per_trial: GPU share per trial (0.25 packs four trials on a GPU).
        epochs: Training epochs per trial.
        batch_size: Training minibatch size.
        learning_rate: Constant SGD learning rate.
        window: Window length in frames (``None``: the data's default).
        val_fraction: Share of subjects held out for validation.
        synthetic_subjects: Subjects generated when `data` is ``synthetic``.
        sampler: ``tpe``, ``random`` or ``nsga2``.
        second_objective: NSGA-II's second objective (minimised): ``params`` or ``proxy_s``.
        proxies: Proxy names to compute (empty: all registered).
        scoring_batch: Size of the fixed proxy scoring batch.
        proxy_gate: Q: skip training below the Q-quantile of the gate proxy (``None``: off).
        gate_proxy: Proxy the gate uses (``vote`` for the 2-of-3 majority).
        warmup: Architectures scored with proxies only before the search; the best of them
            are trained first.
        proxies_only: Score `num_samples` random architectures without training.
        replicate: Finished architectures trained again with another seed after the search.
        scheduler: ``fifo`` or ``asha`` (stops weak trials early, by epoch).
        critical_epochs: Use the original search's critical-epoch early stop.
        max_failures: Retries of a trial after a lost worker or node.
        optuna_storage: Optional Optuna RDB URL mirroring finished trials for optuna-dashboard.
        space_file: Optional YAML/JSON file restricting or extending the search space.
        address: Ray cluster to attach to (``auto`` on a cluster head); ``None`` or ``local``
            starts a private local instance unless ``RAY_ADDRESS`` names a cluster.
        seed: Study seed (split, scoring batch, sampler, initialisation).
        created_at: When the study was created (UTC, ISO 8601).
    """

    name: str = ""
    storage: str = "zcnas_results"
    data: str = "synthetic"
    data_options: dict[str, Any] = field(default_factory=dict)
    holdout_subjects: tuple[str, ...] = ()
    layout: str | None = None
    preset: str = "demo"
    num_samples: int = 12
    max_concurrent: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-4
    window: int | None = 32
    val_fraction: float = 0.25
    synthetic_subjects: int = 48
    sampler: str = "tpe"
    second_objective: str = "params"
    proxies: tuple[str, ...] = ()
    scoring_batch: int = 16
    proxy_gate: float | None = None
    gate_proxy: str = "vote"
    warmup: int = 0
    proxies_only: bool = False
    replicate: int = 3
    scheduler: str = "fifo"
    critical_epochs: bool = False
    max_failures: int = 2
    optuna_storage: str | None = None
    space_file: str | None = None
    address: str | None = None
    seed: int = 0
    created_at: str = field(default="")

    def __post_init__(self) -> None:
        _validate(self)
        if "://" not in self.storage:
            # Ray workers run in other directories: a relative path would put their rows
            # somewhere else than the driver looks.
            object.__setattr__(self, "storage", os.path.abspath(os.path.expanduser(self.storage)))

    @classmethod
    def from_preset(cls, preset: str = "demo", **overrides: Any) -> StudyConfig:
        """Defaults of `preset`, then `overrides` (``None`` values are ignored)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset `{preset}`; choose one of: {', '.join(PRESETS)}")
        values = {**PRESETS[preset], "preset": preset}
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values.get("name"):
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
            values["name"] = f"study-{stamp}"
        if not values.get("created_at"):
            values["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (saved in ``study.json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        """Inverse of :meth:`to_dict`; unknown keys are reported, not dropped silently.

        Raises:
            ValueError: If `data` has keys this version does not know.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"study.json has settings this version does not know: {unknown}")
        values = dict(data)
        values["proxies"] = tuple(values.get("proxies") or ())
        values["holdout_subjects"] = tuple(values.get("holdout_subjects") or ())
        return cls(**values)

    def replace(self, **changes: Any) -> StudyConfig:
        """A copy with `changes`."""
        return dataclasses.replace(self, **changes)


def _validate(cfg: StudyConfig) -> None:
    checks = [
        (cfg.num_samples >= 1, f"`num_samples` must be at least 1, got {cfg.num_samples}"),
        (cfg.max_concurrent >= 0, f"`max_concurrent` must be >= 0, got {cfg.max_concurrent}"),
        (cfg.cpus_per_trial > 0, f"`cpus_per_trial` must be > 0, got {cfg.cpus_per_trial}"),
        (cfg.gpus_per_trial >= 0, f"`gpus_per_trial` must be >= 0, got {cfg.gpus_per_trial}"),
        (cfg.epochs >= 1, f"`epochs` must be at least 1, got {cfg.epochs}"),
        (cfg.learning_rate > 0, f"`learning_rate` must be > 0, got {cfg.learning_rate}"),
        (cfg.batch_size >= 2, f"`batch_size` must be >= 2 (BatchNorm), got {cfg.batch_size}"),
        (0 < cfg.val_fraction < 1, f"`val_fraction` must be in (0, 1), got {cfg.val_fraction}"),
        (cfg.warmup >= 0, f"`warmup` must be >= 0, got {cfg.warmup}"),
        (cfg.replicate >= 0, f"`replicate` must be >= 0, got {cfg.replicate}"),
        (cfg.scoring_batch >= 4, f"`scoring_batch` must be at least 4, got {cfg.scoring_batch}"),
        (cfg.scheduler in SCHEDULERS, f"`scheduler` must be one of {SCHEDULERS}"),
        (
            cfg.second_objective in SECOND_OBJECTIVES,
            f"`second_objective` must be one of {SECOND_OBJECTIVES}",
        ),
        (
            cfg.proxy_gate is None or 0 <= cfg.proxy_gate < 1,
            f"`proxy_gate` must be in [0, 1), got {cfg.proxy_gate}",
        ),
        (
            not (cfg.proxies_only and (cfg.warmup or cfg.proxy_gate is not None)),
            "`proxies_only` trains nothing, so `warmup` and `proxy_gate` do not apply",
        ),
        (cfg.window is None or cfg.window >= 8, f"`window` must be >= 8 frames, got {cfg.window}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(re.sub(r"`(\w+)`", _setting_and_flag, message))


# Settings whose `zcnas tune` flag is not the field name with dashes.
_FLAG_OF = {"learning_rate": "--lr", "space_file": "--space"}


def _setting_and_flag(match: re.Match[str]) -> str:
    """`num_samples` becomes `--num-samples` (num_samples): the flag, then the study.json key."""
    field_name = match.group(1)
    flag = _FLAG_OF.get(field_name, "--" + field_name.replace("_", "-"))
    return f"`{flag}` ({field_name})"
