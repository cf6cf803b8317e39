"""Training one candidate network and scoring it on validation recordings.

The protocol follows the infant-movement search: SGD with Nesterov momentum 0.9, constant learning
rate 5e-4, batch 32, cross-entropy on the logits; after every epoch the validation windows are
scored, window probabilities are aggregated per recording by their median, and the area under
the ROC curve over recordings is computed (macro one-vs-rest for more than two classes). The
trial's result is the best epoch's AUC. The optional "critical epochs" rule stops a run whose
best AUC is still below a threshold at a given epoch.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

logger = logging.getLogger(__name__)

# (epoch, minimum best AUC) pairs of the original search: a run stops at epoch E when its best
# AUC so far is below the threshold.
ORIGINAL_CRITICAL_EPOCHS: tuple[tuple[int, float], ...] = tuple(
    (10 * (i + 1), 0.75 + 0.025 * i) for i in range(9)
)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings of one training run.

    Attributes:
        epochs: Number of epochs.
        batch_size: Training minibatch size (at least 2: BatchNorm needs two samples).
        learning_rate: Constant SGD learning rate.
        momentum: SGD momentum.
        nesterov: Use Nesterov momentum.
        weight_decay: L2 penalty.
        eval_batch_size: Minibatch size when scoring validation windows.
        critical_epochs: (epoch, threshold) pairs; empty disables early stopping.
    """

    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0
    eval_batch_size: int = 128
    critical_epochs: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError(
                f"`batch_size` is {self.batch_size}; training needs at least 2 samples per "
                "batch because the networks use BatchNorm"
            )
        if self.epochs < 1:
            raise ValueError(f"`epochs` must be at least 1, got {self.epochs}")


@dataclass(frozen=True)
class ValidationSet:
    """Validation windows and how they map to recordings.

    Attributes:
        x: Windows, float32 array of shape (N_w, C, T, V).
        groups: Recording index of each window, int array of shape (N_w,).
        labels: Label of each recording, int array of shape (N_rec,), indexed by group.
        num_classes: Number of classes of the task.
    """

    x: np.ndarray
    groups: np.ndarray
    labels: np.ndarray
    num_classes: int


@dataclass
class EpochResult:
    """Metrics after one epoch.

    Attributes:
        epoch: 1-based epoch number.
        val_auc: Recording-level AUC (NaN when undefined, e.g. one class only).
        val_accuracy: Recording-level accuracy of the arg-max class.
        train_loss: Mean training loss of the epoch.
        best_val_auc: Best AUC up to and including this epoch.
        best_epoch: Epoch of the best AUC.
        seconds: Wall time of the epoch including validation, in seconds.
    """

    epoch: int
    val_auc: float
    val_accuracy: float
    train_loss: float
    best_val_auc: float
    best_epoch: int
    seconds: float


@dataclass
class TrainingOutcome:
    """Result of a training run.

    Attributes:
        val_auc: Best-epoch AUC.
        val_accuracy: Accuracy at the best epoch.
        best_epoch: Epoch of the best AUC (1-based; 0 if no epoch had a defined AUC).
        epochs: Epochs actually run.
        train_s: Wall time of the whole run, in seconds.
        curve: AUC after every epoch.
        stopped_early: Whether the critical-epoch rule or the caller stopped the run.
    """

    val_auc: float
    val_accuracy: float
    best_epoch: int
    epochs: int
    train_s: float
    curve: list[float] = field(default_factory=list)
    stopped_early: bool = False


def recording_scores(probabilities: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of window probabilities per recording, rows renormalised to sum to one.

    Args:
        probabilities: Window class probabilities, shape (N_w, K).
        groups: Recording index of each window, shape (N_w,).
        n_groups: Number of recordings.

    Returns:
        Array of shape (n_groups, K); NaN rows for recordings without windows.
    """
    out = np.full((n_groups, probabilities.shape[1]), np.nan)
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts, ends, strict=True):
        out[sorted_groups[start]] = np.median(probabilities[order[start:end]], axis=0)
    totals = out.sum(axis=1, keepdims=True)
    return out / np.where(totals > 0, totals, 1.0)


def classification_metrics(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """AUC and accuracy of per-recording class scores.

    Binary tasks use the ROC AUC of the positive class; multi-class tasks the macro average of
    one-vs-rest AUCs over the classes present in `labels` (classes absent from the validation
    set have no defined AUC and are left out).

    Args:
        scores: Class scores, shape (N, K).
        labels: True classes, shape (N,).

    Returns:
        (auc, accuracy); the AUC is NaN when fewer than two classes are present.
    """
    valid = np.isfinite(scores).all(axis=1)
    scores, labels = scores[valid], labels[valid]
    if len(labels) == 0:
        return math.nan, math.nan
    accuracy = float(np.mean(scores.argmax(axis=1) == labels))
    present = np.unique(labels)
    if len(present) < 2:
        return math.nan, accuracy
    if scores.shape[1] == 2:
        return float(roc_auc_score(labels, scores[:, 1])), accuracy
    indicator = labels[:, None] == present[None, :]
    auc = roc_auc_score(indicator, scores[:, present], average="macro")
    return float(auc), accuracy


def predict_probabilities(
    model: nn.Module, x: np.ndarray, *, device: torch.device, batch_size: int
) -> np.ndarray:
    """Softmax class probabilities of windows, in eval mode without gradients.

    Args:
        model: Network returning logits or (logits, features).
        x: Windows, shape (N_w, C, T, V).
        device: Device to run on.
        batch_size: Windows per forward pass.

    Returns:
        Array of shape (N_w, K).
    """
    model.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size]))
            out = model(batch.to(device, non_blocking=True))
            logits = out[0] if isinstance(out, tuple) else out
            chunks.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(chunks, axis=0)


def evaluate(
    model: nn.Module, validation: ValidationSet, *, device: torch.device, batch_size: int
) -> tuple[float, float]:
    """Recording-level (AUC, accuracy) of a model on a validation set."""
    probabilities = predict_probabilities(
        model, validation.x, device=device, batch_size=batch_size
    )
    scores = recording_scores(probabilities, validation.groups, len(validation.labels))
    return classification_metrics(scores, validation.labels)


def train_model(
    model: nn.Module,
    epoch_windows: Callable[[int], tuple[np.ndarray, np.ndarray]],
    validation: ValidationSet,
    config: TrainingConfig,
    *,
    device: torch.device,
    seed: int,
    on_epoch: Callable[[EpochResult], bool | None] | None = None,
) -> TrainingOutcome:
    """Train `model` in place and track the best validation AUC.

    Args:
        model: Network returning logits or (logits, features); moved to `device`.
        epoch_windows: ``epoch -> (x, y)``: the training windows of one epoch, x float32 of
            shape (N, C, T, V), y int of shape (N,). Called with 0-based epochs.
        validation: Validation windows.
        config: Optimisation settings.
        device: Device to train on.
        seed: Seed of the minibatch shuffling.
        on_epoch: Called after every epoch; returning ``True`` stops training (a scheduler's
            decision).

    Returns:
        The outcome; `val_auc` is the best epoch's AUC.

    Raises:
        FloatingPointError: If the training loss becomes NaN or infinite.
        ValueError: If an epoch has fewer windows than one minibatch.
    """
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.learning_rate,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    loss_fn = nn.CrossEntropyLoss()
    generator = np.random.default_rng(seed)
    best_auc, best_acc, best_epoch = -math.inf, math.nan, 0
    curve: list[float] = []
    stopped = False
    start = time.perf_counter()
    for epoch in range(config.epochs):
        epoch_start = time.perf_counter()
        x, y = epoch_windows(epoch)
        if len(x) < config.batch_size:
            raise ValueError(
                f"epoch {epoch + 1} has {len(x)} training windows, fewer than one batch of "
                f"{config.batch_size}; lower `batch_size` or add data"
            )
        model.train()
        order = generator.permutation(len(x))
        n_batches = len(x) // config.batch_size  # drop_last: no batch of size 1 reaches BN
        losses = []
        for b in range(n_batches):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            xb = torch.from_numpy(np.ascontiguousarray(x[idx])).to(device, non_blocking=True)
            yb = torch.from_numpy(np.asarray(y[idx], dtype=np.int64)).to(device)
            out = model(xb)
            logits = out[0] if isinstance(out, tuple) else out
            loss = loss_fn(logits, yb)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training loss became {loss.item()} at epoch {epoch + 1}, batch {b + 1}"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        auc, acc = evaluate(model, validation, device=device, batch_size=config.eval_batch_size)
        curve.append(auc)
        if math.isfinite(auc) and auc > best_auc:
            best_auc, best_acc, best_epoch = auc, acc, epoch + 1
        result = EpochResult(
            epoch=epoch + 1,
            val_auc=auc,
            val_accuracy=acc,
            train_loss=float(np.mean(losses)),
            best_val_auc=best_auc if best_epoch else math.nan,
            best_epoch=best_epoch,
            seconds=time.perf_counter() - epoch_start,
        )
        logger.debug(
            "epoch %d: auc %.4f acc %.4f loss %.4f", epoch + 1, auc, acc, result.train_loss
        )
        if on_epoch is not None and on_epoch(result):
            stopped = True
            break
        if _below_critical(epoch + 1, result.best_val_auc, config.critical_epochs):
            logger.info("critical epoch %d: best AUC %.3f, stopping", epoch + 1, best_auc)
            stopped = True
            break
    return TrainingOutcome(
        val_auc=best_auc if best_epoch else math.nan,
        val_accuracy=best_acc,
        best_epoch=best_epoch,
        epochs=len(curve),
        train_s=time.perf_counter() - start,
        curve=curve,
        stopped_early=stopped,
    )


def _below_critical(epoch: int, best_auc: float, critical: tuple[tuple[int, float], ...]) -> bool:
    """The original search's rule: stop at epoch E when the best AUC is below its threshold."""
    for critical_epoch, threshold in critical:
        if epoch == critical_epoch and not (best_auc >= threshold):
            return True
    return False
