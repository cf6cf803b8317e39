"""Training loop, recording-level aggregation, AUC and the critical-epoch rule."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from tuning.training import (
    ORIGINAL_CRITICAL_EPOCHS,
    TrainingConfig,
    ValidationSet,
    classification_metrics,
    recording_scores,
    train_model,
)


def test_recording_scores_are_medians_per_recording():
    probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6], [0.1, 0.9]])
    groups = np.array([0, 0, 1, 1, 1])
    scores = recording_scores(probs, groups, 3)
    np.testing.assert_allclose(scores[0], [0.8, 0.2])
    np.testing.assert_allclose(scores[1], [0.2, 0.8])
    assert np.isnan(scores[2]).all()  # a recording without windows stays undefined


def test_binary_and_multiclass_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 1, 1, 1, 0])
    p1 = rng.random(6)
    auc, acc = classification_metrics(np.c_[1 - p1, p1], labels)
    assert auc == pytest.approx(roc_auc_score(labels, p1))
    assert acc == pytest.approx(np.mean((p1 > 0.5) == labels))

    labels3 = np.array([0, 1, 2, 0, 1, 2, 2])
    scores3 = rng.dirichlet(np.ones(3), size=7)
    auc3, _ = classification_metrics(scores3, labels3)
    assert auc3 == pytest.approx(roc_auc_score(labels3, scores3, multi_class="ovr"))


def test_auc_with_one_class_is_nan_not_a_number_made_up():
    auc, acc = classification_metrics(np.array([[0.2, 0.8], [0.4, 0.6]]), np.array([1, 1]))
    assert math.isnan(auc) and acc == 1.0


class _Tiny(nn.Module):
    def __init__(self, in_features, classes=2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, 16), nn.ReLU(), nn.Linear(16, classes)
        )

    def forward(self, x):
        logits = self.net(x)
        return logits, x


def _separable(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 3, 4, 2)).astype(np.float32)
    x[:, 0, :, 0] += (2 * y - 1)[:, None] * 1.5
    return x, y


def test_training_learns_a_separable_task_and_tracks_best_epoch():
    torch.manual_seed(0)
    xt, yt = _separable(256, 0)
    xv, yv = _separable(64, 1)
    validation = ValidationSet(x=xv, groups=np.arange(64), labels=yv, num_classes=2)
    seen = []
    outcome = train_model(
        _Tiny(24),
        lambda epoch: (xt, yt),
        validation,
        TrainingConfig(epochs=5, batch_size=16, learning_rate=0.05),
        device=torch.device("cpu"),
        seed=0,
        on_epoch=lambda r: seen.append(r.epoch),
    )
    assert seen == [1, 2, 3, 4, 5]
    assert outcome.val_auc > 0.9
    assert outcome.val_auc == pytest.approx(max(outcome.curve))
    assert outcome.curve[outcome.best_epoch - 1] == outcome.val_auc
    assert outcome.epochs == 5 and not outcome.stopped_early


def test_critical_epochs_stop_a_weak_run():
    xt, yt = _separable(64, 0)
    rng = np.random.default_rng(3)
    xv = rng.normal(size=(32, 3, 4, 2)).astype(np.float32)  # noise: AUC near 0.5
    yv = rng.integers(0, 2, 32)
    validation = ValidationSet(x=xv, groups=np.arange(32), labels=yv, num_classes=2)
    outcome = train_model(
        _Tiny(24),
        lambda epoch: (xt, yt),
        validation,
        TrainingConfig(epochs=10, batch_size=16, critical_epochs=((2, 0.999),)),
        device=torch.device("cpu"),
        seed=0,
    )
    assert outcome.epochs == 2 and outcome.stopped_early


def test_nan_loss_raises_a_clear_error():
    xt, yt = _separable(64, 0)
    xt[:] = np.nan
    validation = ValidationSet(x=xt[:8], groups=np.arange(8), labels=yt[:8], num_classes=2)
    with pytest.raises(FloatingPointError, match="epoch 1"):
        train_model(
            _Tiny(24),
            lambda e: (xt, yt),
            validation,
            TrainingConfig(epochs=1, batch_size=16),
            device=torch.device("cpu"),
            seed=0,
        )


def test_batch_size_one_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        TrainingConfig(batch_size=1)


def test_original_critical_epochs():
    assert ORIGINAL_CRITICAL_EPOCHS[0] == (10, 0.75)
    assert ORIGINAL_CRITICAL_EPOCHS[-1][0] == 90
    assert ORIGINAL_CRITICAL_EPOCHS[-1][1] == pytest.approx(0.95)
