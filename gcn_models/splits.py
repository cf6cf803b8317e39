"""Subject-disjoint, label-stratified, seeded train/validation splits.

All recordings of a subject go to the same side, so no subject is in both. Subjects are
stratified by their label (for subjects whose recordings carry several labels, such as MSR
actions, by their most frequent label, ties to the smaller index), and each stratum sends
its share of subjects to validation.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable

import numpy as np

from gcn_models.dataset import DataWarning, SkeletonDataset
from gcn_models.readers.msr_action3d import CROSS_SUBJECT_TEST, CROSS_SUBJECT_TRAIN

logger = logging.getLogger(__name__)


def subject_strata(ds: SkeletonDataset) -> tuple[np.ndarray, np.ndarray]:
    """Unique subjects (sorted) and each one's stratification label (most frequent label)."""
    subjects = np.unique(ds.subjects)
    strata = np.empty(subjects.size, dtype=np.int64)
    for i, subject in enumerate(subjects):
        counts = np.bincount(ds.labels[ds.subjects == subject], minlength=ds.num_classes)
        strata[i] = int(np.argmax(counts))
    return subjects, strata


def _allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Largest-remainder apportionment of ``total`` over strata proportional to ``sizes``."""
    exact = sizes * total / max(sizes.sum(), 1)
    base = np.floor(exact).astype(np.int64)
    remainder = total - base.sum()
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:remainder]] += 1
    return base


def split_by_subject(
    ds: SkeletonDataset, val_fraction: float = 0.25, seed: int = 0
) -> tuple[SkeletonDataset, SkeletonDataset]:
    """Split into train and validation sets with no subject in both, stratified by label.

    Of S subjects, round(val_fraction x S) go to validation, apportioned over the label
    strata in proportion to their size (largest remainders), chosen at random within each
    stratum. The same ``seed`` gives the same split.

    Args:
        ds: The dataset.
        val_fraction: Share of subjects for validation, in (0, 1).
        seed: Random seed.

    Returns:
        ``(train, val)`` datasets, recordings in their original order.

    Raises:
        ValueError: If ``val_fraction`` is outside (0, 1) or there are fewer than 2 subjects.

    Warns:
        DataWarning: When a class present in the data ends up missing from one side.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"`val_fraction` must lie in (0, 1), got {val_fraction}")
    subjects, strata = subject_strata(ds)
    if subjects.size < 2:
        raise ValueError(f"a subject split needs at least 2 subjects, got {subjects.size}")
    n_val = min(max(int(round(val_fraction * subjects.size)), 1), subjects.size - 1)
    classes = np.unique(strata)
    sizes = np.asarray([(strata == c).sum() for c in classes])
    per_stratum = _allocate(sizes, n_val)
    rng = np.random.default_rng(seed)
    val_subjects: list[str] = []
    for c, take in zip(classes, per_stratum, strict=True):
        members = subjects[strata == c]
        val_subjects += rng.permutation(members)[:take].tolist()
    return _split(ds, val_subjects, None, stacklevel=4)


def split_by_subjects(
    ds: SkeletonDataset,
    *,
    val_subjects: Iterable[str],
    train_subjects: Iterable[str] | None = None,
) -> tuple[SkeletonDataset, SkeletonDataset]:
    """Split by explicit subject lists.

    Args:
        ds: The dataset.
        val_subjects: Subject ids for validation / test.
        train_subjects: Subject ids for training; all other subjects when ``None``.

    Returns:
        ``(train, val)`` datasets, recordings in their original order.

    Raises:
        ValueError: If a listed subject is not in the dataset, a subject is in both lists, or
            a side is empty.
    """
    return _split(ds, val_subjects, train_subjects, stacklevel=4)


def _split(
    ds: SkeletonDataset,
    val_subjects: Iterable[str],
    train_subjects: Iterable[str] | None,
    *,
    stacklevel: int,
) -> tuple[SkeletonDataset, SkeletonDataset]:
    val = {str(s) for s in val_subjects}
    known = set(ds.subjects.tolist())
    train = set(known - val) if train_subjects is None else {str(s) for s in train_subjects}
    unknown = sorted((val | train) - known)
    if unknown:
        raise ValueError(
            f"subject(s) {unknown} are not in the dataset; known subjects: {sorted(known)[:20]}"
        )
    both = sorted(val & train)
    if both:
        raise ValueError(f"subject(s) {both} are listed for both training and validation")
    train_idx = np.flatnonzero(np.isin(ds.subjects, sorted(train)))
    val_idx = np.flatnonzero(np.isin(ds.subjects, sorted(val)))
    if train_idx.size == 0 or val_idx.size == 0:
        raise ValueError(
            f"split leaves {train_idx.size} training and {val_idx.size} validation recordings; "
            "both sides need at least one"
        )
    unused = len(ds) - train_idx.size - val_idx.size
    if unused:
        logger.info("%d recordings of unlisted subjects are in neither side", unused)
    train_ds, val_ds = ds.subset(train_idx), ds.subset(val_idx)
    present = set(ds.labels.tolist())
    for side, part in (("training", train_ds), ("validation", val_ds)):
        lacking = sorted(present - set(part.labels.tolist()))
        if lacking:
            warnings.warn(
                f"the {side} split has no recording of class(es) "
                f"{[ds.class_names[c] for c in lacking]}; use more subjects or another seed",
                DataWarning,
                stacklevel=stacklevel,
            )
    return train_ds, val_ds


def msr_cross_subject_split(ds: SkeletonDataset) -> tuple[SkeletonDataset, SkeletonDataset]:
    """The standard MSR Action3D cross-subject protocol: train s01,s03,...; test s02,s04,...."""
    return _split(ds, CROSS_SUBJECT_TEST, CROSS_SUBJECT_TRAIN, stacklevel=4)
