"""Fixed-length windows, input features and window-to-subject aggregation.

The network sees windows of ``length`` frames cut from the preprocessed recordings:

* **Evaluation windows** (:func:`make_eval_windows`) start at 0, stride, 2 x stride, ...
  (50 % overlap by default) while they fit; if the last one ends before the recording does,
  one more window aligned to the end is added (never a duplicate).
* **Training windows** (:class:`TrainWindowSampler`) are drawn anew every epoch: each
  recording gets a number of windows that over-samples the minority class(es), with random
  starts spread evenly over the recording, and random rotation, scaling and translation.
* Recordings shorter than one window are first made one window long by a registered policy
  (``pad``: repeat the last frame; ``resample``: stretch in time; ``tile``: repeat the
  recording end to end).

**Missing values never reach the network.** Before windowing, every joint coordinate is
linearly interpolated over time between its observed frames, held constant before the first
and after the last observation, and set to 0 (the trunk centre / centre joint after
preprocessing) when the joint is never observed in the recording.

Features (:func:`features`) turn positions (C, T, V) into (3C, T, V) grouped per input branch:
``[positions, velocities, bones]`` with velocity x[t+1] - x[t] (0 in the last frame) and bone
x[v] - x[parent(v)] (0 for the root).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gcn_models.dataset import SkeletonDataset
from gcn_models.layouts import SkeletonLayout
from gcn_models.preprocess import resample

logger = logging.getLogger(__name__)

INFANT_WINDOW = 150  # 5 s at 30 fps, as in the infant pipeline
SHORT_WINDOW_CHOICES = (64, 32, 16, 8)  # for datasets whose median recording is shorter


# ---------------------------------------------------------------------------------------------
# Recordings shorter than one window
# ---------------------------------------------------------------------------------------------


def _pad_edge(x: np.ndarray, length: int) -> np.ndarray:
    return np.concatenate([x, np.repeat(x[:, -1:], length - x.shape[1], axis=1)], axis=1)


def _stretch(x: np.ndarray, length: int) -> np.ndarray:
    t = x.shape[1]
    if t == 1:
        return np.repeat(x, length, axis=1)
    # Output frame k samples source position k * (t - 1) / (length - 1).
    return resample(x, source_fps=t - 1, target_fps=length - 1)[:, :length]


def _tile(x: np.ndarray, length: int) -> np.ndarray:
    reps = -(-length // x.shape[1])
    return np.concatenate([x] * reps, axis=1)[:, :length]


# Policy name -> fn(x (C, T, V) with T < length, length) -> (C, length, V).
SHORT_POLICIES: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "pad": _pad_edge,
    "resample": _stretch,
    "tile": _tile,
}


@dataclass(frozen=True)
class WindowConfig:
    """How windows are cut, sampled and augmented.

    Attributes:
        length: Window length T in frames.
        stride: Evaluation stride in frames; ``None`` for ``length // 2`` (50 % overlap).
        fps: Frame rate the windows are cut at; recordings at another rate are resampled.
        short: Policy for recordings shorter than ``length``: ``pad``, ``resample``, ``tile``.
        windows_per_recording: Training windows per epoch for each recording of the largest
            class.
        oversampling: Binary data only: windows per minority-class recording as a multiple
            of ``windows_per_recording``; ``None`` balances the classes (n_major / n_minor).
            Multi-class data are always balanced (n_largest / n_class).
        augment: Apply random rotation, scaling and translation to training windows.
        rotation_deg: Largest rotation in degrees (in-plane for 2D, about y for 3D).
        scale_range: Range of the random scale factor.
        translation: Largest shift per coordinate, in preprocessed units.
    """

    length: int = INFANT_WINDOW
    stride: int | None = None
    fps: float = 30.0
    short: str = "pad"
    windows_per_recording: int = 4
    oversampling: float | None = None
    augment: bool = True
    rotation_deg: float = 45.0
    scale_range: tuple[float, float] = (0.7, 1.3)
    translation: float = 0.3

    def __post_init__(self) -> None:
        if self.length < 2:
            raise ValueError(f"`length` must be at least 2 frames, got {self.length}")
        if self.stride is not None and not 1 <= self.stride <= self.length:
            raise ValueError(f"`stride` must lie in 1..length ({self.length}), got {self.stride}")
        if self.short not in SHORT_POLICIES:
            raise ValueError(
                f"`short` must be one of {', '.join(SHORT_POLICIES)}, got {self.short!r}"
            )
        if self.windows_per_recording < 1:
            raise ValueError(
                f"`windows_per_recording` must be >= 1, got {self.windows_per_recording}"
            )
        if self.oversampling is not None and not self.oversampling > 0:
            raise ValueError(f"`oversampling` must be positive or None, got {self.oversampling}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"`scale_range` must satisfy 0 < low <= high, got {self.scale_range}")
        if not self.fps > 0:
            raise ValueError(f"`fps` must be positive, got {self.fps}")

    def replace(self, **changes: object) -> WindowConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def eval_stride(self) -> int:
        """Evaluation stride in frames (``stride`` or half the window)."""
        return self.stride if self.stride is not None else max(self.length // 2, 1)


def default_window_config(ds: SkeletonDataset, **overrides: object) -> WindowConfig:
    """Window settings suited to a dataset.

    Infant-like data (median recording at least 150 frames) get 150-frame windows; shorter
    data (e.g. MSR Action3D, median ~40 frames at 15 fps) get the longest of 64, 32, 16, 8
    frames that fits the median recording, and short recordings are resampled to one window.
    The frame rate is the dataset's.

    Args:
        ds: The (preprocessed) dataset.
        **overrides: Any :class:`WindowConfig` field.
    """
    median = float(np.median(ds.lengths)) if len(ds) else 0.0
    if median >= INFANT_WINDOW:
        settings: dict[str, object] = {"length": INFANT_WINDOW, "short": "pad"}
    else:
        fitting = [n for n in SHORT_WINDOW_CHOICES if n <= median]
        settings = {
            "length": fitting[0] if fitting else SHORT_WINDOW_CHOICES[-1],
            "short": "resample",
        }
    settings["fps"] = ds.fps
    settings.update(overrides)
    return WindowConfig(**settings)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Missing values and features
# ---------------------------------------------------------------------------------------------


def fill_missing(x: np.ndarray) -> np.ndarray:
    """Replace every NaN of (C, T, V) so nothing undefined reaches the network.

    Each joint coordinate is interpolated linearly between its observed frames, held at the
    first / last observed value outside them, and set to 0 if never observed.

    Returns:
        float32 copy (C, T, V) without NaN.
    """
    out = np.asarray(x, dtype=np.float32).copy()
    missing = ~np.isfinite(out)
    if not missing.any():
        return out
    frames = np.arange(out.shape[1])
    c_idx, v_idx = np.nonzero(missing.any(axis=1))
    for c, v in zip(c_idx.tolist(), v_idx.tolist(), strict=True):
        seen = ~missing[c, :, v]
        if seen.any():
            out[c, :, v] = np.interp(frames, frames[seen], out[c, seen, v])
        else:
            out[c, :, v] = 0.0
    return out


def features(x: np.ndarray, layout: SkeletonLayout) -> np.ndarray:
    """Positions, velocities and bones, grouped per input branch.

    Args:
        x: Positions (C, T, V) or batched (N, C, T, V).
        layout: Gives the parent of every joint.

    Returns:
        float32 (3C, T, V) or (N, 3C, T, V): channels ``[0, C)`` positions, ``[C, 2C)``
        velocities x[t+1] - x[t] (0 at the last frame), ``[2C, 3C)`` bones
        x[v] - x[parent(v)] (0 for the root joint).
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim not in (3, 4) or x.shape[-1] != layout.num_joints:
        raise ValueError(
            f"`x` must be (C, T, V) or (N, C, T, V) with V = {layout.num_joints} "
            f"(layout `{layout.name}`), got shape {x.shape}"
        )
    velocity = np.zeros_like(x)
    velocity[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
    bones = x - x[..., list(layout.parents)]
    return np.concatenate([x, velocity, bones], axis=-3)


def _prepared(ds: SkeletonDataset, cfg: WindowConfig) -> list[np.ndarray]:
    """Recordings at the window frame rate, NaN-free, at least one window long."""
    out = []
    for seq in ds.sequences:
        x = resample(seq, ds.fps, cfg.fps) if ds.fps != cfg.fps else seq
        x = fill_missing(x)
        if x.shape[1] < cfg.length:
            x = SHORT_POLICIES[cfg.short](x, cfg.length).astype(np.float32)
        out.append(x)
    if ds.fps != cfg.fps:
        logger.info("resampled %d recordings from %g to %g fps", len(ds), ds.fps, cfg.fps)
    return out


def eval_window_starts(num_frames: int, length: int, stride: int) -> list[int]:
    """Starts of the evaluation windows of a recording with ``num_frames`` >= ``length``.

    Starts are 0, stride, 2 x stride, ... while the window fits; if the last window ends
    before the recording, a final window aligned to the end is added. No start repeats.
    """
    last = num_frames - length
    starts = list(range(0, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)
    return starts


def make_eval_windows(
    ds: SkeletonDataset, cfg: WindowConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All evaluation windows of a dataset, as features.

    Returns:
        ``X`` float32 (N_w, 3C, T, V) features, ``y`` int64 (N_w,) labels and ``groups``
        int64 (N_w,): the index of each window's recording in ``ds``.
    """
    # TODO(zcnas): long real recordings make X large (minutes of video -> GBs); an iterator
    # over per-recording batches would keep memory flat.
    windows, labels, groups = [], [], []
    for i, x in enumerate(_prepared(ds, cfg)):
        for start in eval_window_starts(x.shape[1], cfg.length, cfg.eval_stride):
            windows.append(x[:, start : start + cfg.length])
            labels.append(ds.labels[i])
            groups.append(i)
    if not windows:
        v = ds.layout.num_joints
        return (
            np.zeros((0, 3 * max(ds.num_coords, 2), cfg.length, v), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )
    x = features(np.stack(windows), ds.layout)
    return x, np.asarray(labels, np.int64), np.asarray(groups, np.int64)


# ---------------------------------------------------------------------------------------------
# Training windows
# ---------------------------------------------------------------------------------------------


def windows_per_class(counts: np.ndarray, cfg: WindowConfig) -> np.ndarray:
    """Training windows per recording for each class (K,), given recordings per class (K,).

    The largest class gets ``windows_per_recording``; binary data give the minority class
    ``oversampling`` x that (or n_major / n_minor); multi-class data give class c
    round(windows_per_recording x n_largest / n_c). Classes without recordings get 0.
    """
    counts = np.asarray(counts, dtype=np.int64)
    base = cfg.windows_per_recording
    present = counts > 0
    if not present.any():
        return np.zeros_like(counts)
    largest = counts.max()
    if cfg.oversampling is not None:
        if len(counts) != 2:
            raise ValueError(
                f"`oversampling` applies to binary data only; this dataset has {len(counts)} "
                "classes (leave it None to balance them)"
            )
        per = np.where(counts == largest, base, int(round(base * cfg.oversampling)))
    else:
        with np.errstate(divide="ignore"):
            per = np.round(base * largest / np.where(present, counts, 1)).astype(np.int64)
    return np.where(present, np.maximum(per, 1), 0).astype(np.int64)


def random_starts(
    rng: np.random.Generator, num_frames: int, length: int, count: int
) -> np.ndarray:
    """``count`` window starts spread evenly over a recording, random within their stratum.

    The range of valid starts 0..num_frames-length is cut into ``count`` equal strata and one
    start is drawn uniformly in each, so the windows cover the whole recording.
    """
    span = num_frames - length + 1
    edges = np.linspace(0.0, span, count + 1)
    starts = np.floor(edges[:-1] + rng.random(count) * (edges[1:] - edges[:-1]))
    return np.clip(starts.astype(np.int64), 0, span - 1)


def augment_windows(rng: np.random.Generator, x: np.ndarray, cfg: WindowConfig) -> np.ndarray:
    """Randomly rotate, scale and translate positions (N, C, T, V), one draw per window.

    2D windows rotate in the plane; 3D windows rotate about the vertical y axis (x-z plane).
    All about the origin (trunk centre or centre joint after preprocessing). The translation
    is drawn per coordinate from [-translation, translation].
    """
    n, c = x.shape[:2]
    angle = np.deg2rad(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg, n))
    scale = rng.uniform(*cfg.scale_range, n)
    shift = rng.uniform(-cfg.translation, cfg.translation, (n, c))
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.tile(np.eye(c), (n, 1, 1))
    a, b = (0, 1) if c == 2 else (0, 2)  # rotated axes: x-y in 2D, x-z (about y) in 3D
    rot[:, a, a], rot[:, a, b], rot[:, b, a], rot[:, b, b] = cos, -sin, sin, cos
    out = np.einsum("nij,njtv->nitv", rot * scale[:, None, None], x)
    return (out + shift[:, :, None, None]).astype(np.float32)


@dataclass
class TrainWindowSampler:
    """Draws the training windows of each epoch: over-sampled, random starts, augmented.

    Deterministic given (``seed``, epoch): ``epoch(e)`` returns the same arrays every time.

    Attributes:
        ds: The training dataset (preprocessed).
        cfg: Window settings.
        seed: Base seed.
        augment: Overrides ``cfg.augment`` when not ``None``.
    """

    ds: SkeletonDataset
    cfg: WindowConfig
    seed: int = 0
    augment: bool | None = None
    _recordings: list[np.ndarray] = field(init=False, repr=False)
    _per_recording: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.ds) == 0:
            raise ValueError("TrainWindowSampler needs at least one recording")
        self._recordings = _prepared(self.ds, self.cfg)
        per_class = windows_per_class(self.ds.class_counts(), self.cfg)
        self._per_recording = per_class[self.ds.labels]
        logger.info(
            "training windows per recording by class: %s (%d per epoch)",
            per_class.tolist(),
            int(self._per_recording.sum()),
        )

    @property
    def windows_per_epoch(self) -> int:
        """Number of windows each epoch returns."""
        return int(self._per_recording.sum())

    def epoch(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The training windows of one epoch, in random order.

        Returns:
            ``X`` float32 (N_w, 3C, T, V) features and ``y`` int64 (N_w,) labels.
        """
        rng = np.random.default_rng([self.seed, epoch])
        length = self.cfg.length
        windows, labels = [], []
        for i, x in enumerate(self._recordings):
            count = int(self._per_recording[i])
            for start in random_starts(rng, x.shape[1], length, count):
                windows.append(x[:, start : start + length])
                labels.append(self.ds.labels[i])
        # Draw the order before the augmentation, so that windows with and without
        # augmentation (same seed and epoch) have the same starts and order.
        order = rng.permutation(len(labels))
        positions = np.stack(windows)[order]
        augment = self.cfg.augment if self.augment is None else self.augment
        if augment:
            positions = augment_windows(rng, positions, self.cfg)
        return features(positions, self.ds.layout), np.asarray(labels, np.int64)[order]


# ---------------------------------------------------------------------------------------------
# Aggregation of window scores
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupScores:
    """Scores aggregated per recording or subject.

    Attributes:
        keys: str (G,) subject ids (or recording indices as text).
        scores: float (G,) or (G, K): median window probability of each group.
        labels: int64 (G,) the group's label, or ``None`` when no labels were given.
        windows: int64 (G,) number of windows per group.
    """

    keys: np.ndarray
    scores: np.ndarray
    labels: np.ndarray | None
    windows: np.ndarray


def aggregate_subject_scores(
    probabilities: np.ndarray,
    groups: np.ndarray,
    subjects: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    by: str = "subject",
) -> GroupScores:
    """Median window probability per subject (or per recording).

    Args:
        probabilities: (N_w,) positive-class probabilities or (N_w, K) class probabilities.
        groups: int (N_w,) recording index of each window (from :func:`make_eval_windows`).
        subjects: str (N,) subject id of each recording (``ds.subjects``).
        labels: Optional int (N,) recording labels (``ds.labels``); every subject's recordings
            must share one label when ``by="subject"``.
        by: ``"subject"`` (all windows of a subject's recordings) or ``"recording"``.

    Returns:
        Groups in order of first appearance of their key in ``subjects`` / recordings.

    Raises:
        ValueError: For mismatched shapes, an unknown ``by``, or a subject whose recordings
            have different labels (use ``by="recording"`` then, e.g. for MSR actions).
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    subjects = np.asarray(subjects).astype(str)
    if probs.shape[0] != groups.shape[0]:
        raise ValueError(
            f"`probabilities` has {probs.shape[0]} rows but `groups` has {groups.shape[0]}"
        )
    if groups.size and (groups.min() < 0 or groups.max() >= subjects.size):
        raise ValueError(f"`groups` must index recordings 0..{subjects.size - 1}")
    keys_of = {
        "subject": subjects,
        "recording": np.arange(subjects.size).astype(str),
    }
    if by not in keys_of:
        raise ValueError(f"`by` must be one of {', '.join(keys_of)}, got {by!r}")
    rec_keys = keys_of[by]
    window_keys = rec_keys[groups]
    present = set(window_keys.tolist())
    keys = np.asarray([k for k in dict.fromkeys(rec_keys.tolist()) if k in present], dtype=str)
    scores = (
        np.stack([np.median(probs[window_keys == k], axis=0) for k in keys])
        if keys.size
        else probs[:0]
    )
    counts = np.asarray([(window_keys == k).sum() for k in keys], dtype=np.int64)
    group_labels = None
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != subjects.shape:
            raise ValueError(f"`labels` has shape {labels.shape}, expected {subjects.shape}")
        group_labels = np.empty(keys.size, dtype=np.int64)
        for g, k in enumerate(keys):
            values = np.unique(labels[rec_keys == k])
            if values.size != 1:
                raise ValueError(
                    f"subject `{k}` has recordings with labels {values.tolist()}; aggregate "
                    "by='recording' instead"
                )
            group_labels[g] = values[0]
    return GroupScores(keys, scores, group_labels, counts)
