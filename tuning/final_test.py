"""The final test: retrain the study's best architectures on all study subjects, test on held-out.

The search only ever sees the subjects of the study (train and validation); the subjects given
with ``--holdout-subjects`` are used here once. The reported numbers are those of the last
epoch (no model selection on the test subjects); the per-epoch curve is kept for transparency.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import numpy as np
import torch

from tuning.config import StudyConfig
from tuning.results import ResultStore
from tuning.training import EpochResult, TrainingConfig, ValidationSet, train_model

logger = logging.getLogger(__name__)

RESULT_FILE = "final_test.json"


def best_architectures(store: ResultStore, top: int) -> list[dict[str, Any]]:
    """The `top` trained search architectures by validation AUC (one row per architecture).

    Raises:
        ValueError: If the study has no trained architecture.
    """
    rows = store.read_rows()
    if rows.empty:
        raise ValueError(f"study {store.study_dir} has no rows")
    trained = rows[
        (rows["status"] == "ok")
        & rows["val_auc"].notna()
        & rows["repeat_of"].isna()
        & rows["phase"].isin(["search"])
    ]
    if trained.empty:
        raise ValueError(f"study {store.study_dir} has no trained architecture to test")
    ranked = trained.groupby("arch_key")["val_auc"].mean().sort_values(ascending=False)
    picks = []
    for key in ranked.index[:top]:
        row = trained[trained["arch_key"] == key].iloc[0]
        arch = json.loads(row["config_json"])
        picks.append({"arch_key": key, "val_auc": float(ranked[key]), "arch": arch})
    return picks


def final_test(
    cfg: StudyConfig, *, top: int = 1, epochs: int | None = None, seed: int | None = None
) -> list[dict[str, Any]]:
    """Train the best `top` architectures on all study subjects and test on the held-out ones.

    Args:
        cfg: The study's settings (its ``study.json``); needs ``holdout_subjects``.
        top: Number of best architectures to test.
        epochs: Training epochs (default: the study's).
        seed: Seed of initialisation and sampling (default: the study's).

    Returns:
        One record per architecture: ``arch_key``, ``val_auc`` (search), ``test_auc``,
        ``test_accuracy`` (last epoch), ``test_auc_curve``, ``epochs``, ``train_s``; also
        written to ``final_test.json`` beside the rows.

    Raises:
        ValueError: If the study has no held-out subjects or no trained architecture.
    """
    from gcn_models.network import build_model
    from gcn_models.splits import split_by_subjects
    from gcn_models.windows import TrainWindowSampler, default_window_config, make_eval_windows
    from tuning.study import load_study_dataset

    if not cfg.holdout_subjects:
        raise ValueError(
            f"study `{cfg.name}` has no held-out subjects; run the study with "
            "`--holdout-subjects` to keep subjects for a final test"
        )
    store = ResultStore(cfg.storage, cfg.name)
    picks = best_architectures(store, top)
    dataset = load_study_dataset(cfg)
    train, test = split_by_subjects(dataset, val_subjects=cfg.holdout_subjects)
    windows = default_window_config(dataset)
    if cfg.window is not None:
        windows = windows.replace(length=cfg.window)
    test_x, _, groups = make_eval_windows(test, windows)
    holdout = ValidationSet(
        x=test_x,
        groups=np.asarray(groups),
        labels=np.asarray(test.labels),
        num_classes=dataset.num_classes,
    )
    seed = cfg.seed if seed is None else seed
    training = TrainingConfig(
        epochs=epochs or cfg.epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate
    )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    records = []
    for pick in picks:
        torch.manual_seed(seed)
        model = build_model(
            pick["arch"],
            layout=dataset.layout,
            in_channels=int(test_x.shape[1]),
            num_classes=dataset.num_classes,
        )
        history: list[EpochResult] = []
        sampler = TrainWindowSampler(train, windows, seed=seed)
        outcome = train_model(
            model,
            sampler.epoch,
            holdout,
            training,
            device=device,
            seed=seed,
            on_epoch=history.append,
        )
        last = history[-1]
        records.append(
            {
                "arch_key": pick["arch_key"],
                "val_auc": pick["val_auc"],
                "test_auc": _nan_to_none(last.val_auc),
                "test_accuracy": _nan_to_none(last.val_accuracy),
                "test_auc_curve": [_nan_to_none(r.val_auc) for r in history],
                "epochs": outcome.epochs,
                "train_s": outcome.train_s,
                "train_recordings": len(train),
                "test_recordings": len(test),
                "holdout_subjects": list(cfg.holdout_subjects),
                "seed": seed,
            }
        )
        logger.info(
            "final test %s: accuracy %.3f, AUC %.3f",
            pick["arch_key"],
            last.val_accuracy,
            last.val_auc,
        )
    store.write_json(RESULT_FILE, {"results": records})
    return records


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
