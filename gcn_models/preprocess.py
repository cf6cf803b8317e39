"""Preprocessing of skeleton recordings: gaps, resampling, low-pass, y flip, alignment, scaling.

Each step is optional and configured by a :class:`Preprocessing` value. The steps run in a
fixed order on every recording (C, T, V):

1. non-finite coordinates (inf) become NaN; a joint with any NaN coordinate is missing;
2. short gaps (missing joint for at most ``max_gap_s`` seconds between two observed frames)
   are filled by linear interpolation; longer gaps stay NaN and are reported;
3. resampling to ``target_fps`` by linear interpolation;
4. zero-phase Butterworth low-pass (order 8, cut-off a quarter of the sampling rate by
   default), applied forward and backward with second-order sections to every contiguous
   observed stretch of every joint;
5. y flip (image coordinates point down; the body frame points up);
6. 2D: per-frame trunk alignment: translate the trunk centre (mean of the two trunk joints)
   to the origin and rotate so that the upper trunk joint (thorax) lies on +y.
   3D: per-frame centring on ``center_joint``;
7. scaling by ``scale_factor`` x the median over frames of the trunk length, so that with the
   default factor 4 the thorax of an aligned 2D pose sits at about (0, +0.125).

The infant pipeline (:func:`infant_preprocessing`) uses steps 1-7 with alignment; the 3D
body pipeline (:func:`body3d_preprocessing`) centres on a joint and scales.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from gcn_models.dataset import DataWarning, SkeletonDataset, SkippedRecording
from gcn_models.layouts import SkeletonLayout

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preprocessing:
    """Which preprocessing steps to run, and their settings.

    Attributes:
        max_gap_s: Interpolate gaps of a joint up to this many seconds (between two observed
            frames); longer gaps stay NaN and are reported. ``None`` turns gap filling off.
        target_fps: Resample to this frame rate (frames per second); ``None`` keeps the rate.
        lowpass: Apply the zero-phase Butterworth low-pass filter.
        lowpass_order: Filter order (8 in the infant pipeline).
        lowpass_cutoff: Cut-off frequency as a fraction of the sampling rate (0.25 = 7.5 Hz
            at 30 fps); must be below 0.5 (Nyquist).
        flip_y: Multiply the y coordinate by -1 (image coordinates point down).
        align_trunk: 2D only: per frame, centre on the trunk centre and rotate the trunk
            upright (upper trunk joint on +y).
        center_joint: Name of a joint to subtract from every joint in every frame (3D centring);
            ``None`` for no centring (alignment already centres 2D data).
        scale: Divide coordinates by ``scale_factor`` x the median trunk length.
        scale_factor: Multiple of the median trunk length that becomes one unit.
    """

    max_gap_s: float | None = 0.5
    target_fps: float | None = None
    lowpass: bool = False
    lowpass_order: int = 8
    lowpass_cutoff: float = 0.25
    flip_y: bool = False
    align_trunk: bool = False
    center_joint: str | None = None
    scale: bool = False
    scale_factor: float = 4.0

    def __post_init__(self) -> None:
        if self.max_gap_s is not None and self.max_gap_s < 0:
            raise ValueError(f"`max_gap_s` must be >= 0 or None, got {self.max_gap_s}")
        if self.target_fps is not None and not self.target_fps > 0:
            raise ValueError(f"`target_fps` must be positive or None, got {self.target_fps}")
        if not 0 < self.lowpass_cutoff < 0.5:
            raise ValueError(
                f"`lowpass_cutoff` is a fraction of the sampling rate and must lie in (0, 0.5), "
                f"got {self.lowpass_cutoff}"
            )
        if self.lowpass_order < 1:
            raise ValueError(f"`lowpass_order` must be >= 1, got {self.lowpass_order}")
        if not self.scale_factor > 0:
            raise ValueError(f"`scale_factor` must be positive, got {self.scale_factor}")
        if self.align_trunk and self.center_joint is not None:
            raise ValueError("`align_trunk` already centres the pose; leave `center_joint` None")

    def describe(self) -> str:
        """One line listing the active steps, for summaries and `.npz` metadata."""
        steps = []
        if self.max_gap_s is not None:
            steps.append(f"gaps<={self.max_gap_s:g}s interpolated")
        if self.target_fps is not None:
            steps.append(f"resample {self.target_fps:g} fps")
        if self.lowpass:
            steps.append(
                f"butterworth order {self.lowpass_order} cutoff {self.lowpass_cutoff:g}fs"
            )
        if self.flip_y:
            steps.append("flip y")
        if self.align_trunk:
            steps.append("trunk centre+rotation")
        if self.center_joint is not None:
            steps.append(f"centre on {self.center_joint}")
        if self.scale:
            steps.append(f"scale 1/({self.scale_factor:g} x median trunk)")
        return ", ".join(steps) if steps else "none"

    def to_dict(self) -> dict[str, object]:
        """Plain mapping of the settings (for saving next to results)."""
        return asdict(self)


def infant_preprocessing(target_fps: float | None = 30.0) -> Preprocessing:
    """The infant 2D tracker pipeline: resample, low-pass, flip y, align trunk, scale."""
    return Preprocessing(
        target_fps=target_fps, lowpass=True, flip_y=True, align_trunk=True, scale=True
    )


def body3d_preprocessing(layout: SkeletonLayout) -> Preprocessing:
    """3D body pipeline: centre every frame on the layout's centre joint and scale."""
    return Preprocessing(center_joint=layout.joints[layout.center], scale=layout.trunk is not None)


def no_preprocessing() -> Preprocessing:
    """Leave the recordings exactly as read (gaps are not even interpolated)."""
    return Preprocessing(max_gap_s=None)


# Preset name -> builder taking the dataset's layout (used by `zcnas data convert --preprocess`).
PREPROCESSING_PRESETS: dict[str, Callable[[SkeletonLayout], Preprocessing]] = {
    "infant2d": lambda layout: infant_preprocessing(),
    "body3d": body3d_preprocessing,
    "none": lambda layout: no_preprocessing(),
}


def get_preprocessing(name: str, layout: SkeletonLayout) -> Preprocessing:
    """Build a named preset for a layout.

    Raises:
        ValueError: For an unknown preset name, listing the valid ones.
    """
    try:
        builder = PREPROCESSING_PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown preprocessing preset `{name}`; valid: {', '.join(PREPROCESSING_PRESETS)}"
        ) from None
    return builder(layout)


# ---------------------------------------------------------------------------------------------
# Single steps on one recording (C, T, V)
# ---------------------------------------------------------------------------------------------


def missing_mask(x: np.ndarray) -> np.ndarray:
    """Boolean (T, V): True where a joint has any non-finite coordinate in a frame."""
    return ~np.isfinite(x).all(axis=0)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, stop) runs of True in a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


@dataclass(frozen=True)
class Gap:
    """A stretch of frames in which one joint is missing.

    Attributes:
        joint: Joint index v.
        start: First missing frame (0-based).
        stop: One past the last missing frame.
        filled: Whether it was interpolated.
    """

    joint: int
    start: int
    stop: int
    filled: bool

    @property
    def length(self) -> int:
        """Number of missing frames."""
        return self.stop - self.start


def fill_short_gaps(x: np.ndarray, max_gap: int) -> tuple[np.ndarray, list[Gap]]:
    """Linearly interpolate interior gaps of at most ``max_gap`` frames, joint by joint.

    A gap is a run of frames in which a joint is missing (any coordinate non-finite), with an
    observed frame on both sides. Gaps at the start or end of a recording cannot be
    interpolated and stay NaN, as do longer gaps.

    Args:
        x: Coordinates (C, T, V).
        max_gap: Longest gap to fill, in frames.

    Returns:
        The filled copy (C, T, V) (all coordinates of a missing joint set to NaN or filled),
        and every gap found, each marked filled or not.
    """
    out = x.astype(np.float64, copy=True)
    missing = missing_mask(out)
    out[:, missing] = np.nan
    gaps: list[Gap] = []
    t = out.shape[1]
    for v in np.flatnonzero(missing.any(axis=0)):
        for start, stop in _runs(missing[:, v]):
            interior = start > 0 and stop < t
            fill = interior and stop - start <= max_gap
            if fill:
                left, right = out[:, start - 1, v], out[:, stop, v]
                w = (np.arange(start, stop) - (start - 1)) / (stop - (start - 1))
                out[:, start:stop, v] = left[:, None] + (right - left)[:, None] * w[None, :]
            gaps.append(Gap(int(v), start, stop, fill))
    return out, gaps


def resample(x: np.ndarray, source_fps: float, target_fps: float) -> np.ndarray:
    """Resample (C, T, V) by linear interpolation at times 0, 1/target, 2/target, ... seconds.

    Sample k lies at source frame position p = k * source_fps / target_fps, for all p <= T-1.
    A sample between a missing and an observed frame is missing (NaN propagates).

    Returns:
        float64 array (C, T', V) with T' = floor((T - 1) * target / source) + 1.
    """
    x = np.asarray(x, dtype=np.float64)
    t = x.shape[1]
    if t == 0 or source_fps == target_fps:
        return x.copy()
    ratio = source_fps / target_fps
    n_out = int(np.floor((t - 1) / ratio + 1e-9)) + 1
    pos = np.arange(n_out) * ratio
    lo = np.minimum(np.floor(pos + 1e-9).astype(np.int64), t - 1)
    frac = np.clip(pos - lo, 0.0, 1.0)
    hi = np.minimum(lo + 1, t - 1)
    exact = frac < 1e-9
    low, high = x[:, lo], x[:, hi]
    mixed = low + (high - low) * frac[None, :, None]
    return np.where(exact[None, :, None], low, mixed)


def lowpass_min_length(order: int = 8) -> int:
    """Fewest frames a recording needs for :func:`lowpass_filter` (forward-backward padding)."""
    from scipy import signal  # here, not at the top: every trial worker imports this module

    sos = signal.butter(order, 0.5, output="sos")
    taps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * taps + 1


def lowpass_filter(
    x: np.ndarray, *, order: int = 8, cutoff: float = 0.25
) -> tuple[np.ndarray, list[Gap]]:
    """Zero-phase Butterworth low-pass of every contiguous observed stretch of every joint.

    Args:
        x: Coordinates (C, T, V); NaN marks missing joints.
        order: Filter order.
        cutoff: Cut-off frequency as a fraction of the sampling rate (< 0.5).

    Returns:
        The filtered copy (C, T, V) and the observed stretches that were too short to filter
        (left unfiltered; reported as :class:`Gap` records with ``filled=False``).
    """
    from scipy import signal

    sos = signal.butter(order, cutoff * 2.0, output="sos")  # Wn is relative to Nyquist = fs/2
    need = lowpass_min_length(order)
    out = np.asarray(x, dtype=np.float64).copy()
    missing = missing_mask(out)
    unfiltered: list[Gap] = []
    complete = ~missing.any(axis=0)
    if complete.any() and out.shape[1] >= need:
        out[:, :, complete] = signal.sosfiltfilt(sos, out[:, :, complete], axis=1)
    for v in np.flatnonzero(~complete):
        for start, stop in _runs(~missing[:, v]):
            if stop - start >= need:
                out[:, start:stop, v] = signal.sosfiltfilt(sos, out[:, start:stop, v], axis=1)
            else:
                unfiltered.append(Gap(int(v), start, stop, False))
    return out, unfiltered


def flip_y(x: np.ndarray) -> np.ndarray:
    """Return a copy of (C, T, V) with the y coordinate (index 1) negated."""
    out = np.asarray(x, dtype=np.float64).copy()
    out[1] *= -1.0
    return out


def align_trunk(x: np.ndarray, upper: int, lower: int) -> np.ndarray:
    """Centre each 2D frame on the trunk centre and rotate the upper trunk joint onto +y.

    The trunk centre is c_t = (x[upper] + x[lower]) / 2. With (dx, dy) = x[upper] - c_t and
    h = |(dx, dy)|, every joint p becomes R (p - c_t) with R = [[cos, -sin], [sin, cos]],
    cos = dy / h, sin = dx / h, which maps (dx, dy) to (0, h).

    Args:
        x: 2D coordinates (2, T, V), y pointing up.
        upper: Index of the upper trunk joint (thorax).
        lower: Index of the lower trunk joint (pelvis).

    Returns:
        Aligned copy (2, T, V); frames whose trunk is missing or of zero length are all NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] != 2:
        raise ValueError(
            f"trunk alignment needs 2D coordinates (2, T, V), got {x.shape[0]} coordinates; "
            "use `center_joint` for 3D data"
        )
    centre = (x[:, :, upper] + x[:, :, lower]) / 2.0  # (2, T)
    d = x[:, :, upper] - centre
    h = np.hypot(d[0], d[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        cos, sin = d[1] / h, d[0] / h
    bad = ~(np.isfinite(h) & (h > 0))
    cos[bad] = np.nan
    sin[bad] = np.nan
    p = x - centre[:, :, None]
    out = np.empty_like(p)
    out[0] = cos[:, None] * p[0] - sin[:, None] * p[1]
    out[1] = sin[:, None] * p[0] + cos[:, None] * p[1]
    return out


def center_on_joint(x: np.ndarray, joint: int) -> np.ndarray:
    """Subtract the position of ``joint`` from every joint, frame by frame (C, T, V)."""
    x = np.asarray(x, dtype=np.float64)
    return x - x[:, :, joint : joint + 1]


def median_trunk_length(x: np.ndarray, upper: int, lower: int) -> float:
    """Median over frames of the distance between the trunk joints (NaN if never observed)."""
    length = np.linalg.norm(x[:, :, upper] - x[:, :, lower], axis=0)
    length = length[np.isfinite(length) & (length > 0)]
    return float(np.median(length)) if length.size else float("nan")


# ---------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingResult:
    """Outcome of preprocessing one recording.

    Attributes:
        coords: float32 (C, T', V), or ``None`` when the recording cannot be used.
        issues: Problems found, one line each (already prefixed with the recording id).
        notes: Routine repairs (short gaps interpolated), one line each.
        skip_reason: Why the recording is unusable, when ``coords`` is ``None``.
    """

    coords: np.ndarray | None
    issues: list[str]
    notes: list[str]
    skip_reason: str = ""


def _describe_gaps(rec: str, layout: SkeletonLayout, gaps: list[Gap], what: str) -> list[str]:
    """One line per frame range, naming the joints it affects (or "all joints")."""
    by_range: dict[tuple[int, int], list[str]] = {}
    for g in gaps:
        by_range.setdefault((g.start, g.stop), []).append(layout.joints[g.joint])
    lines = []
    for (start, stop), joints in by_range.items():
        who = "all joints" if len(joints) == layout.num_joints else "joint(s) " + ", ".join(joints)
        lines.append(f"{rec}: frames {start}..{stop - 1} ({stop - start} frames), {who}: {what}")
    return lines


def preprocess_recording(
    x: np.ndarray,
    *,
    fps: float,
    layout: SkeletonLayout,
    config: Preprocessing,
    name: str = "recording",
) -> RecordingResult:
    """Run the configured steps on one recording.

    Args:
        x: Coordinates (C, T, V) in the reader's units.
        fps: Its frame rate in frames per second.
        layout: Skeleton layout (trunk and joint names).
        config: Which steps to run.
        name: Recording id, used in issue lines.

    Returns:
        The processed coordinates (float32 (C, T', V)) and the issues found.

    Raises:
        ValueError: If a step needs something the layout or data lack (no trunk for alignment
            or scaling, 3D data for trunk alignment, unknown centre joint).
    """
    issues: list[str] = []
    notes: list[str] = []
    out = np.asarray(x, dtype=np.float64)
    inf = int(np.isinf(out).sum())
    if inf:
        issues.append(f"{name}: {inf} infinite coordinate(s) treated as missing")
        out = np.where(np.isinf(out), np.nan, out)

    if config.max_gap_s is not None:
        out, gaps = fill_short_gaps(out, int(round(config.max_gap_s * fps)))
        filled = [g for g in gaps if g.filled]
        if filled:
            n_frames = sum(g.length for g in filled)
            notes.append(
                f"{name}: {len(filled)} short gap(s), {n_frames} joint-frames interpolated"
            )
        t = out.shape[1]
        interior = [g for g in gaps if not g.filled and 0 < g.start and g.stop < t]
        edge = [g for g in gaps if not g.filled and (g.start == 0 or g.stop == t)]
        issues += _describe_gaps(
            name, layout, interior, f"missing, longer than {config.max_gap_s:g} s: left missing"
        )
        issues += _describe_gaps(
            name, layout, edge, "missing at the start or end: cannot interpolate, left missing"
        )
    if config.target_fps is not None and config.target_fps != fps:
        out = resample(out, fps, config.target_fps)
        fps = config.target_fps
    if config.lowpass:
        need = lowpass_min_length(config.lowpass_order)
        if out.shape[1] < need:
            issues.append(
                f"{name}: {out.shape[1]} frames, but the order-{config.lowpass_order} low-pass "
                f"filter needs at least {need}: left unfiltered"
            )
        else:
            out, short = lowpass_filter(
                out, order=config.lowpass_order, cutoff=config.lowpass_cutoff
            )
            issues += _describe_gaps(
                name, layout, short, f"observed, shorter than {need} frames: left unfiltered"
            )
    if config.flip_y:
        out = flip_y(out)
    if config.align_trunk or config.scale:
        if layout.trunk is None:
            raise ValueError(
                f"layout `{layout.name}` has no `trunk`; trunk alignment and scaling need one "
                "(add `trunk: [upper, lower]` to the layout file or turn the steps off)"
            )
        upper, lower = layout.trunk
    if config.align_trunk:
        out = align_trunk(out, upper, lower)
        lost = int(np.isnan(out[:, :, 0]).any(axis=0).sum())
        if lost == out.shape[1] and lost > 0:
            return RecordingResult(
                None, issues, notes, "trunk joints never observed: cannot align"
            )
        if lost:
            issues.append(f"{name}: {lost} frame(s) without both trunk joints: frame left missing")
    if config.center_joint is not None:
        out = center_on_joint(out, layout.index(config.center_joint))
    if config.scale:
        length = median_trunk_length(out, upper, lower)
        if not np.isfinite(length):
            return RecordingResult(None, issues, notes, "trunk length undefined: cannot scale")
        out = out / (config.scale_factor * length)
    return RecordingResult(out.astype(np.float32), issues, notes)


def preprocess_dataset(
    ds: SkeletonDataset, config: Preprocessing, *, stacklevel: int = 2
) -> SkeletonDataset:
    """Preprocess every recording of a dataset.

    Recordings that cannot be used (e.g. trunk never observed) are removed and listed in the
    summary's ``skipped``; other problems go to the summary's ``issues``. One
    :class:`DataWarning` reports them all.

    Args:
        ds: The dataset.
        config: Which steps to run.
        stacklevel: Passed to ``warnings.warn`` (2 = the caller of this function).

    Returns:
        A new dataset (frame rate updated when resampled); the input is not changed.
    """
    keep: list[int] = []
    sequences: list[np.ndarray] = []
    issues: list[str] = []
    notes: list[str] = []
    skipped: list[SkippedRecording] = []
    for i, (rec, seq) in enumerate(zip(ds.ids, ds.sequences, strict=True)):
        result = preprocess_recording(seq, fps=ds.fps, layout=ds.layout, config=config, name=rec)
        issues += result.issues
        notes += result.notes
        if result.coords is None:
            skipped.append(SkippedRecording(rec, result.skip_reason))
            continue
        keep.append(i)
        sequences.append(result.coords)
    kept = ds.subset(keep)
    summary = type(ds.summary)(
        source=ds.summary.source,
        format=ds.summary.format,
        read=len(keep),
        skipped=[*ds.summary.skipped, *skipped],
        issues=[*ds.summary.issues, *issues],
        notes=[*ds.summary.notes, *notes],
        preprocessing=(
            f"{ds.summary.preprocessing}; then {config.describe()}"
            if ds.summary.preprocessing not in ("", "none")
            else config.describe()
        ),
    )
    fps = config.target_fps if config.target_fps is not None else ds.fps
    if issues or skipped:
        warnings.warn(
            f"{ds.summary.source}: preprocessing skipped {len(skipped)} recording(s) and found "
            f"{len(issues)} issue(s), e.g. {(skipped[0].reason if skipped else issues[0])!r}; "
            "see `dataset.summary`",
            DataWarning,
            stacklevel=stacklevel,
        )
    logger.info("preprocessed %d recordings (%s)", len(keep), config.describe())
    return kept.with_sequences(sequences, fps=float(fps), summary=summary)
