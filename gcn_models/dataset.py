"""The in-memory skeleton dataset every reader returns, and the summary of how it was loaded.

A dataset holds one entry per recording: a coordinate array of shape (C, T_i, V) with
C = 2 or 3 coordinates, T_i frames and V joints of the dataset's :class:`SkeletonLayout`,
plus the recording's class label, subject id and recording id. Missing joints or frames are
NaN. Recordings may have different lengths; :meth:`SkeletonDataset.to_padded` stacks them
into one NaN-padded array.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from gcn_models.layouts import SkeletonLayout

logger = logging.getLogger(__name__)


class DataWarning(UserWarning):
    """A problem in skeleton input data that the user can fix (bad cell, gap, missing outcome)."""


@dataclass(frozen=True)
class SkippedRecording:
    """A recording that a reader found but did not load.

    Attributes:
        source: File (or recording id) that was skipped.
        reason: Why, in words that say what was expected.
        deliberate: True when the user's selection left it out (clean list, action subset),
            False when it could not be read.
    """

    source: str
    reason: str
    deliberate: bool = False


@dataclass
class LoadSummary:
    """What happened while a dataset was read and preprocessed.

    Attributes:
        source: The path (or name) the dataset was loaded from.
        format: Registry name of the reader (``tracker_csv``, ``msr_action3d``, ...).
        read: Number of recordings loaded.
        skipped: Recordings found but not loaded, each with its reason.
        issues: Problems that did not stop a recording from loading (long gaps, infinite
            values, outcome ids without a recording, ...), one line each.
        notes: Routine repairs that need no attention (e.g. short gaps interpolated).
        preprocessing: Description of the preprocessing steps applied, empty when raw.
    """

    source: str
    format: str
    read: int = 0
    skipped: list[SkippedRecording] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preprocessing: str = ""

    @property
    def errors(self) -> list[SkippedRecording]:
        """Skipped recordings that could not be read (not deliberately left out)."""
        return [s for s in self.skipped if not s.deliberate]

    def skip_reasons(self) -> dict[str, int]:
        """Count skipped recordings per kind of reason.

        The kind is the reason without its leading file name, up to the next colon.
        """
        return dict(
            Counter(s.reason.removeprefix(f"{s.source}: ").split(":")[0] for s in self.skipped)
        )

    def lines(self, max_lines: int = 20) -> list[str]:
        """The summary as human-readable lines (used by ``zcnas data check``).

        Args:
            max_lines: Longest list of skipped recordings, issues or notes shown in full.
        """
        out = [
            f"source: {self.source} (format {self.format})",
            f"recordings read: {self.read}, skipped: {len(self.skipped)} "
            f"({len(self.skipped) - len(self.errors)} by selection, {len(self.errors)} errors)",
        ]
        for s in self.skipped[:max_lines]:
            out.append(f"  skipped {s.source}: {s.reason}")
        if len(self.skipped) > max_lines:
            out.append(f"  ... {len(self.skipped) - max_lines} more skipped; by reason:")
            out += [f"    {n} x {r}" for r, n in self.skip_reasons().items()]
        if self.preprocessing:
            out.append(f"preprocessing: {self.preprocessing}")
        for title, items in (("issues", self.issues), ("notes", self.notes)):
            if items:
                out.append(f"{title}: {len(items)}")
                out += [f"  {item}" for item in items[:max_lines]]
                if len(items) > max_lines:
                    out.append(f"  ... {len(items) - max_lines} more")
        return out


@dataclass
class SkeletonDataset:
    """Recordings of skeleton movement with one class label each.

    Attributes:
        sequences: One float32 array (C, T_i, V) per recording; NaN marks a missing joint or
            frame. Units depend on the stage: normalised image coordinates or metres when raw,
            body-normalised units after preprocessing.
        labels: int64 array (N,) of class indices in ``0..num_classes-1``.
        subjects: str array (N,) of subject ids; several recordings may share a subject.
        ids: Recording ids (N,), unique.
        layout: Skeleton layout giving joint order and bones.
        fps: Frame rate in frames per second.
        class_names: Name of each class index.
        summary: How the dataset was loaded (read, skipped and why, issues).
    """

    sequences: list[np.ndarray]
    labels: np.ndarray
    subjects: np.ndarray
    ids: list[str]
    layout: SkeletonLayout
    fps: float
    class_names: list[str]
    summary: LoadSummary = field(default_factory=lambda: LoadSummary("<memory>", "memory"))

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        self.subjects = np.asarray([str(s) for s in self.subjects], dtype=str).reshape(-1)
        self.ids = [str(i) for i in self.ids]
        self.sequences = [np.asarray(s, dtype=np.float32) for s in self.sequences]
        self.class_names = [str(c) for c in self.class_names]
        _validate_dataset(self)

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def num_classes(self) -> int:
        """Number of classes K (the length of ``class_names``)."""
        return len(self.class_names)

    @property
    def num_coords(self) -> int:
        """Number of coordinates C per joint (2 or 3); 0 for an empty dataset."""
        return int(self.sequences[0].shape[0]) if self.sequences else 0

    @property
    def lengths(self) -> np.ndarray:
        """int64 array (N,) with the number of frames T_i of each recording."""
        return np.asarray([s.shape[1] for s in self.sequences], dtype=np.int64)

    def class_counts(self) -> np.ndarray:
        """int64 array (K,) with the number of recordings per class."""
        return np.bincount(self.labels, minlength=self.num_classes).astype(np.int64)

    def subset(self, indices: Sequence[int] | np.ndarray) -> SkeletonDataset:
        """Return the recordings at ``indices`` (in that order) as a new dataset.

        The arrays are shared, not copied; the summary is carried over.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"subset index outside 0..{len(self) - 1}: {idx.tolist()}")
        return replace(
            self,
            sequences=[self.sequences[i] for i in idx],
            labels=self.labels[idx],
            subjects=self.subjects[idx],
            ids=[self.ids[i] for i in idx],
            class_names=list(self.class_names),
        )

    def with_sequences(self, sequences: list[np.ndarray], **changes: object) -> SkeletonDataset:
        """Return a copy with new sequence arrays (same order) and optional field changes."""
        return replace(self, sequences=sequences, **changes)  # type: ignore[arg-type]

    def to_padded(self) -> np.ndarray:
        """Stack all recordings into one float32 array (N, C, T_max, V), NaN after each end."""
        n, t_max = len(self), int(self.lengths.max(initial=0))
        out = np.full((n, self.num_coords, t_max, self.layout.num_joints), np.nan, np.float32)
        for i, seq in enumerate(self.sequences):
            out[i, :, : seq.shape[1]] = seq
        return out


def _validate_dataset(ds: SkeletonDataset) -> None:
    n = len(ds.sequences)
    for name, size in (("labels", ds.labels.size), ("subjects", ds.subjects.size)):
        if size != n:
            raise ValueError(
                f"dataset: `{name}` has {size} entries, expected {n} (one per sequence)"
            )
    if len(ds.ids) != n:
        raise ValueError(f"dataset: `ids` has {len(ds.ids)} entries, expected {n}")
    dupes = sorted(k for k, c in Counter(ds.ids).items() if c > 1)
    if dupes:
        raise ValueError(f"dataset: recording ids must be unique; repeated: {dupes[:10]}")
    if not ds.fps > 0:
        raise ValueError(f"dataset: `fps` must be positive, got {ds.fps}")
    if n and (ds.labels.min() < 0 or ds.labels.max() >= len(ds.class_names)):
        raise ValueError(
            f"dataset: labels must lie in 0..{len(ds.class_names) - 1} "
            f"(one per class name), got {sorted(set(ds.labels.tolist()))}"
        )
    coords = {s.shape[0] for s in ds.sequences if s.ndim == 3}
    for rec_id, seq in zip(ds.ids, ds.sequences, strict=True):
        if seq.ndim != 3 or seq.shape[0] not in (2, 3) or seq.shape[2] != ds.layout.num_joints:
            raise ValueError(
                f"dataset: recording `{rec_id}` has shape {seq.shape}, expected (C, T, V) with "
                f"C = 2 or 3 and V = {ds.layout.num_joints} (layout `{ds.layout.name}`)"
            )
    if len(coords) > 1:
        raise ValueError(f"dataset: recordings mix 2D and 3D coordinates ({sorted(coords)})")
