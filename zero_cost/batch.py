"""The scoring batch: one fixed, stratified, de-duplicated minibatch for every architecture.

Every architecture of a study is scored on the same batch (zero_cost_proxies.md §1.4: the
reference code draws a new random batch per architecture, which adds noise to every ranking).
The batch is

* **de-duplicated**: byte-identical windows are kept once (duplicates make jacob_cov's
  correlation matrix and nwot's kernel singular);
* **stratified**: every class gets a share proportional to its frequency, and at least two
  windows where it has them (epe_nas needs >= 2 per class; zico splits the batch in halves);
* **deterministic**: a function of the data, ``size`` and ``seed`` only.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import torch

from zero_cost.exceptions import ScoringBatchWarning

logger = logging.getLogger(__name__)

MIN_PER_CLASS = 2


def _check_inputs(x: np.ndarray, y: np.ndarray, size: int) -> None:
    if x.ndim < 2:
        raise ValueError(f"`X` must have shape (N, ...) with a sample axis, got shape {x.shape}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"`y` must have shape ({x.shape[0]},) to match `X` {x.shape}, got {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"`y` must hold integer class labels, got dtype {y.dtype}")
    if size < 2:
        raise ValueError(f"`size` must be >= 2 (batch statistics need two samples), got {size}")
    bad = ~np.isfinite(x.reshape(x.shape[0], -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"`X` has non-finite values in {rows.size} window(s), first at row {rows[0]}; "
            "impute or drop missing joints before scoring"
        )


def unique_rows(x: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct window of ``x`` (N, ...), sorted."""
    flat = np.ascontiguousarray(x.reshape(x.shape[0], -1))
    seen: dict[bytes, int] = {}
    for index in range(flat.shape[0]):
        seen.setdefault(flat[index].tobytes(), index)
    return np.array(sorted(seen.values()), dtype=np.int64)


def stratified_quota(counts: dict[int, int], size: int) -> dict[int, int]:
    """How many windows each class contributes to a batch of ``size``.

    Proportional to the class counts (largest remainder), at least ``MIN_PER_CLASS`` per class
    where the class has that many, never more than a class has. When ``size`` is too small for
    that, every class gets at least one window; when it is smaller than the number of classes,
    the most frequent classes get one each.
    """
    total = sum(counts.values())
    if size >= total:
        return dict(counts)
    floor = {c: min(MIN_PER_CLASS, n) for c, n in counts.items()}
    if sum(floor.values()) > size:
        floor = {c: min(1, n) for c, n in counts.items()}
    if sum(floor.values()) > size:
        order = sorted(counts, key=lambda c: (-counts[c], c))
        return {c: int(i < size) for i, c in enumerate(order)}
    shares = {c: size * n / total for c, n in counts.items()}
    quota = {c: max(floor[c], min(counts[c], int(shares[c]))) for c in counts}
    # Move towards `size` one window at a time: add to the largest remainders (with room),
    # remove from the classes furthest above their share (above their floor).
    while sum(quota.values()) < size:
        open_classes = [c for c in counts if quota[c] < counts[c]]
        best = max(open_classes, key=lambda c: (shares[c] - quota[c], -c))
        quota[best] += 1
    while sum(quota.values()) > size:
        reducible = [c for c in counts if quota[c] > floor[c]]
        worst = max(reducible, key=lambda c: (quota[c] - shares[c], c))
        quota[worst] -= 1
    return quota


def select_scoring_batch(
    X: np.ndarray | torch.Tensor,  # noqa: N803 - conventional data-matrix name
    y: np.ndarray | torch.Tensor,
    size: int = 32,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick the fixed scoring batch from evaluation windows.

    Args:
        X: Windows, shape (N, C, T, V) (any (N, ...) shape), finite values.
        y: Class labels, shape (N,), integers.
        size: Batch size (>= 2). Fewer windows are returned, with a
            :class:`ScoringBatchWarning`, when ``X`` has fewer distinct windows.
        seed: Seed of the draw inside each class.

    Returns:
        ``(x, y)``: x float32 of shape (size, ...), y int64 of shape (size,), on the CPU, rows
        in the order of ``X``.

    Raises:
        ValueError: If shapes do not match, labels are not integers, ``size`` < 2, or a window
            has NaN/inf values (the message names the first such row).
    """
    x_np = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    y_np = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    _check_inputs(x_np, y_np, size)
    keep = unique_rows(x_np)
    if keep.size < x_np.shape[0]:
        logger.info("scoring batch: %d duplicate windows left out", x_np.shape[0] - keep.size)
    if keep.size < size:
        warnings.warn(
            f"only {keep.size} distinct windows are available for a scoring batch of {size}; "
            "using all of them",
            ScoringBatchWarning,
            stacklevel=2,
        )
    labels = y_np[keep]
    classes, counts = np.unique(labels, return_counts=True)
    quota = stratified_quota(dict(zip(classes.tolist(), counts.tolist(), strict=True)), size)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in classes.tolist():
        members = keep[labels == label]
        chosen.append(rng.choice(members, size=quota[label], replace=False))
        if quota[label] < min(MIN_PER_CLASS, members.size):
            warnings.warn(
                f"class {label} gets {quota[label]} window(s) in a scoring batch of {size} "
                f"({classes.size} classes); use size >= {MIN_PER_CLASS * classes.size}",
                ScoringBatchWarning,
                stacklevel=2,
            )
    rows = np.sort(np.concatenate(chosen))
    x_out = torch.as_tensor(x_np[rows], dtype=torch.float32)
    y_out = torch.as_tensor(y_np[rows].astype(np.int64))
    return x_out, y_out


def split_stratified(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a batch into two disjoint halves with the classes spread evenly.

    Within each class (in batch order) samples go alternately to the first and second half;
    the first half of a class with an odd count gets the extra sample, and odd classes
    alternate which half that is, so the halves differ in size by at most one.

    Args:
        y: Labels, shape (N,), N >= 4 (each half needs two samples for batch statistics).

    Returns:
        Index tensors of the two halves (on ``y``'s device), each sorted.

    Raises:
        ValueError: If N < 4.
    """
    n = int(y.shape[0])
    if n < 4:
        raise ValueError(
            f"splitting a batch into two halves of >= 2 samples needs N >= 4, got {n}"
        )
    labels = y.detach().cpu().numpy()
    first, second = [], []
    odd_seen = 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        a, b = members[0::2], members[1::2]
        if members.size % 2 == 1:
            if odd_seen % 2 == 1:
                a, b = b, a
            odd_seen += 1
        first.extend(a.tolist())
        second.extend(b.tolist())
    return (
        torch.as_tensor(sorted(first), dtype=torch.long, device=y.device),
        torch.as_tensor(sorted(second), dtype=torch.long, device=y.device),
    )
