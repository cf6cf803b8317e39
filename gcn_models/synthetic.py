"""The embedded synthetic infant-like movement dataset (2D, ``infant19``, 30 fps).

Generating model (per subject, one or more recordings; all randomness from ``seed``):

* **Body.** A supine infant seen from above, in body units (trunk length thorax-pelvis = 1,
  y towards the head, the infant's right side at negative x). The head pivots at the upper
  neck; each arm and leg is a two-segment chain (upper arm 0.5 / forearm 0.45, thigh 0.55 /
  shank 0.5) whose proximal and distal joint angles move around a resting "W / frog" pose.
* **General movement** (both classes): smooth band-limited noise of 0.2-0.8 Hz on every joint
  angle, amplitude ``general_amplitude`` rad times a per-subject activity factor
  (log-normal). A share ``w`` of it is one signal common to all limbs (synchrony);
  ``w`` is low for typical subjects.
* **Fidgety movement** (typical subjects): continuous, small-amplitude, variable movement of
  1-4 Hz on every angle and the head, independent between limbs, with a slowly varying
  intensity envelope. Amplitude ``fidgety_amplitude`` rad times a per-subject factor.
* **Positive class** (atypical, about 20 %): a severity ``s`` in [0.2, 1] reduces the fidgety
  amplitude by the factor (1 - 0.8 s), raises the synchrony share ``w`` and adds a
  "cramped-synchronised" component: one regular narrow-band (0.5-1.0 Hz) flexion-extension
  signal driving all four limbs together, amplitude ``cramped_amplitude`` x s rad.
* **Camera and tracker.** The body is placed in normalised image coordinates (x / width and
  y / height of a square frame, y pointing down) with a per-subject size (trunk 0.13-0.18),
  orientation (+-25 deg) and slow drift of position and angle; every coordinate gets white
  tracking noise (per-subject level ``tracking_noise`` x U(0.5, 1.5) image units); a few gaps
  per recording (mostly hands and feet, 1-8 frames inside the recording) are missing (NaN).

Subject-level nuisance factors (activity, noise level, size) overlap between the classes, so
simple amplitude or spectrum features separate them only partly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import signal

from gcn_models.dataset import LoadSummary, SkeletonDataset
from gcn_models.layouts import get_layout
from gcn_models.windows import WindowConfig

logger = logging.getLogger(__name__)

FPS = 30.0
CLASS_NAMES = ("0", "1")  # outcome 0 = typical movement, 1 = atypical (positive)

# Resting pose in body units (thorax at the origin, y towards the head, right side at -x).
_UPPER_NECK = np.array([0.0, 0.3])
_SHOULDER_LEFT = np.array([0.45, 0.0])
_HIP_LEFT = np.array([0.25, -1.0])
_ARM = (0.5, 0.45, -0.3, 1.6)  # upper length, lower length, proximal rest angle, distal rest
_LEG = (0.55, 0.5, -1.25, -0.5)
_GAP_JOINT_WEIGHTS = {  # joints that trackers lose most often: hands and feet
    "right_wrist": 4, "left_wrist": 4, "right_ankle": 3, "left_ankle": 3, "right_elbow": 1,
    "left_elbow": 1, "right_knee": 1, "left_knee": 1, "nose": 1, "right_ear": 1, "left_ear": 1,
}  # fmt: skip


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the generating model (angles in radians, frequencies in Hz).

    Attributes:
        subjects: Number of subjects.
        recordings_per_subject: Recordings per subject (each gets its own movement).
        positive_fraction: Share of positive subjects (rounded to a whole number).
        duration_s: Mean recording length in seconds; each varies by +-10 %.
        general_amplitude: Standard deviation of the general (0.2-0.8 Hz) angle movement.
        fidgety_amplitude: Standard deviation of the fidgety (1-4 Hz) angle movement.
        cramped_amplitude: Standard deviation of the synchronised component at severity 1.
        tracking_noise: Typical tracking noise (image units, per coordinate and frame).
        gaps_per_recording: Mean number of missing-joint gaps per recording (Poisson); gaps
            lie inside the recording and last 1-8 frames, so the default preprocessing
            interpolates them.
        long_gap_probability: Chance that a gap lasts 20-40 frames instead (left missing and
            reported by the preprocessing); 0 by default.
    """

    subjects: int = 40
    recordings_per_subject: int = 1
    positive_fraction: float = 0.2
    duration_s: float = 10.0
    general_amplitude: float = 0.25
    fidgety_amplitude: float = 0.10
    cramped_amplitude: float = 0.18
    tracking_noise: float = 0.004
    gaps_per_recording: float = 3.0
    long_gap_probability: float = 0.0

    def __post_init__(self) -> None:
        if self.subjects < 1 or self.recordings_per_subject < 1:
            raise ValueError(
                f"`subjects` and `recordings_per_subject` must be >= 1, got {self.subjects} and "
                f"{self.recordings_per_subject}"
            )
        if not 0 <= self.positive_fraction <= 1:
            raise ValueError(
                f"`positive_fraction` must lie in [0, 1], got {self.positive_fraction}"
            )
        if not self.duration_s * FPS >= 30:
            raise ValueError(f"`duration_s` must be at least 1 s, got {self.duration_s}")


@dataclass(frozen=True)
class SubjectTraits:
    """Per-subject parameters drawn once and shared by the subject's recordings.

    Attributes:
        label: 0 typical, 1 positive.
        severity: 0 for typical subjects, in [0.2, 1] for positive ones.
        activity: Multiplier of the general movement amplitude.
        fidgety: Fidgety amplitude in radians.
        synchrony: Share of the general movement common to all limbs, in [0, 1].
        cramped: Amplitude of the synchronised flexion-extension component in radians.
        noise: Tracking noise in image units.
        size: Trunk length in image units.
    """

    label: int
    severity: float
    activity: float
    fidgety: float
    synchrony: float
    cramped: float
    noise: float
    size: float


def _band_noise(
    rng: np.random.Generator, shape: tuple[int, ...], t: int, low: float, high: float
) -> np.ndarray:
    """Unit-variance band-limited Gaussian noise along the last axis ((..., t), fps 30)."""
    pad = 60
    white = rng.standard_normal((*shape, t + 2 * pad))
    sos = signal.butter(4, [low, high], btype="bandpass", fs=FPS, output="sos")
    out = signal.sosfiltfilt(sos, white, axis=-1)[..., pad:-pad]
    return out / out.std(axis=-1, keepdims=True)


def _draw_traits(rng: np.random.Generator, label: int, cfg: SyntheticConfig) -> SubjectTraits:
    severity = float(0.2 + 0.8 * rng.beta(2.0, 2.0)) if label else 0.0
    synchrony = float(np.clip(0.15 + 0.55 * severity + rng.normal(0.0, 0.12), 0.0, 0.95))
    return SubjectTraits(
        label=label,
        severity=severity,
        activity=float(rng.lognormal(0.0, 0.35)),
        fidgety=float(cfg.fidgety_amplitude * (1.0 - 0.8 * severity) * rng.lognormal(0.0, 0.3)),
        synchrony=synchrony,
        cramped=float(cfg.cramped_amplitude * severity),
        noise=float(cfg.tracking_noise * rng.uniform(0.5, 1.5)),
        size=float(rng.uniform(0.13, 0.18)),
    )


def _limb(
    root: np.ndarray,
    chain: tuple[float, float, float, float],
    proximal: np.ndarray,
    distal: np.ndarray,
    mirror: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Middle and end joint positions (T, 2) of a two-segment limb from its angle signals."""
    upper, lower, rest_p, rest_d = chain
    a = rest_p + proximal
    b = a + rest_d + distal
    sign = -1.0 if mirror else 1.0
    middle = root + np.stack([upper * np.cos(a), upper * np.sin(a)], axis=-1)
    end = middle + np.stack([lower * np.cos(b), lower * np.sin(b)], axis=-1)
    return middle * [sign, 1.0], end * [sign, 1.0]


def _body_pose(rng: np.random.Generator, traits: SubjectTraits, cfg: SyntheticConfig, t: int):
    """Joint positions (T, 19, 2) in body units for one recording."""
    # Angle signals: 4 limbs x 2 angles (proximal, distal) + head yaw and tilt.
    general_own = _band_noise(rng, (4, 2), t, 0.2, 0.8)
    general_shared = _band_noise(rng, (1, 2), t, 0.2, 0.8)
    w = traits.synchrony
    general = np.sqrt(1.0 - w) * general_own + np.sqrt(w) * general_shared
    general *= cfg.general_amplitude * traits.activity
    envelope = 0.5 + 0.5 * (1.0 + np.tanh(_band_noise(rng, (4, 1), t, 0.05, 0.3)))  # 0.5..1.5
    fidgety = traits.fidgety * envelope * _band_noise(rng, (4, 2), t, 1.0, 4.0)
    cramped = traits.cramped * _band_noise(rng, (1, 1), t, 0.5, 1.0) * np.array([[1.0], [0.7]])
    angles = general + fidgety + cramped  # (4, 2, T); cramped is (1, 2, T)
    head = 0.3 * traits.activity * _band_noise(rng, (2,), t, 0.1, 0.6)
    head += traits.fidgety * 1.5 * _band_noise(rng, (2,), t, 1.0, 4.0)
    yaw, tilt = head[0], head[1] * 0.3

    layout = get_layout("infant19")
    pose = np.zeros((t, layout.num_joints, 2))

    def put(name: str, value: np.ndarray) -> None:
        pose[:, layout.index(name)] = value

    put("thorax", np.zeros((t, 2)))
    put("pelvis", np.tile([0.0, -1.0], (t, 1)))
    put("upper_neck", np.tile(_UPPER_NECK, (t, 1)))
    rot = np.stack([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])  # (2, 2, T)
    head_points = {
        "nose": np.stack([0.18 * np.sin(yaw), np.full(t, 0.3)], -1),
        "head_top": np.stack([0.05 * np.sin(yaw), np.full(t, 0.65)], -1),
        "right_ear": np.stack([-0.22 * np.cos(yaw), np.full(t, 0.28)], -1),
        "left_ear": np.stack([0.22 * np.cos(yaw), np.full(t, 0.28)], -1),
    }
    for name, offset in head_points.items():
        put(name, _UPPER_NECK + np.einsum("ijt,tj->ti", rot, offset))
    limbs = (
        ("right_shoulder", "right_elbow", "right_wrist", _SHOULDER_LEFT, _ARM, 0, True),
        ("left_shoulder", "left_elbow", "left_wrist", _SHOULDER_LEFT, _ARM, 1, False),
        ("right_hip", "right_knee", "right_ankle", _HIP_LEFT, _LEG, 2, True),
        ("left_hip", "left_knee", "left_ankle", _HIP_LEFT, _LEG, 3, False),
    )
    for root_name, mid_name, end_name, root, chain, k, mirror in limbs:
        # The mirrored side uses the same sign convention, so a shared (synchronised) signal
        # moves both sides symmetrically.
        middle, end = _limb(root, chain, angles[k, 0], angles[k, 1], mirror)
        put(root_name, np.tile(root * [-1.0 if mirror else 1.0, 1.0], (t, 1)))
        put(mid_name, middle)
        put(end_name, end)
    return pose


def _to_image(rng: np.random.Generator, pose: np.ndarray, traits: SubjectTraits) -> np.ndarray:
    """Place a body-unit pose (T, V, 2) in normalised image coordinates (y down) + noise."""
    t = pose.shape[0]
    angle = rng.uniform(-0.45, 0.45) + 0.05 * _band_noise(rng, (1,), t, 0.02, 0.2)[0]
    centre = np.array([0.5, 0.55]) + rng.uniform(-0.05, 0.05, size=2)
    drift = 0.01 * _band_noise(rng, (2,), t, 0.02, 0.2).T  # (T, 2)
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = cos * pose[..., 0] - sin * pose[..., 1]
    y = sin * pose[..., 0] + cos * pose[..., 1]
    image = np.stack([x, -y], axis=-1) * traits.size + (centre + drift)[:, None, :]
    return image + rng.normal(0.0, traits.noise, size=image.shape)


def _add_gaps(rng: np.random.Generator, image: np.ndarray, cfg: SyntheticConfig) -> np.ndarray:
    layout = get_layout("infant19")
    names = list(_GAP_JOINT_WEIGHTS)
    weights = np.asarray([_GAP_JOINT_WEIGHTS[n] for n in names], dtype=float)
    t = image.shape[0]
    for _ in range(rng.poisson(cfg.gaps_per_recording)):
        joint = layout.index(names[rng.choice(len(names), p=weights / weights.sum())])
        length = (
            int(rng.integers(20, 41))
            if rng.random() < cfg.long_gap_probability
            else int(rng.integers(1, 9))
        )
        start = int(rng.integers(1, max(t - length - 1, 2)))
        if np.isnan(image[max(start - 1, 0) : start + length + 1, joint]).any():
            continue  # never merge two gaps into one longer than drawn
        image[start : start + length, joint] = np.nan
    return image


def synthetic_demo_config() -> WindowConfig:
    """Window settings recommended for quick demo studies on the default synthetic data.

    64 frames (2.1 s at 30 fps) hold several cycles of the 1-4 Hz fidgety component and part
    of a slow general movement; with 10-s recordings each one gives 8-9 evaluation windows
    (stride 32). Every negative recording gives 4 training windows per epoch and every
    positive one 4 x n_neg / n_pos (16 at 20 % positives).
    """
    return WindowConfig(length=64, stride=32, fps=FPS, windows_per_recording=4)


def make_synthetic_dataset(
    subjects: int = 40,
    seed: int = 0,
    positive_fraction: float = 0.2,
    duration_s: float = 10.0,
    *,
    recordings_per_subject: int = 1,
    raw: bool = False,
    config: SyntheticConfig | None = None,
) -> SkeletonDataset:
    """Generate the synthetic infant-like dataset; the same arguments give the same data.

    Args:
        subjects: Number of subjects.
        seed: Random seed.
        positive_fraction: Share of positive subjects; round(subjects x fraction) are positive.
        duration_s: Mean recording length in seconds (each varies by +-10 %).
        recordings_per_subject: Recordings per subject.
        raw: Return tracker-like normalised image coordinates (y down, with gaps) instead of
            applying the infant preprocessing pipeline.
        config: Further model parameters; its ``subjects``, ``positive_fraction``,
            ``duration_s`` and ``recordings_per_subject`` are replaced by the arguments.

    Returns:
        A dataset with layout ``infant19``, C = 2, 30 fps, classes ``["0", "1"]``.
    """
    base = config if config is not None else SyntheticConfig()
    cfg = SyntheticConfig(
        **{
            **base.__dict__,
            "subjects": subjects,
            "positive_fraction": positive_fraction,
            "duration_s": duration_s,
            "recordings_per_subject": recordings_per_subject,
        }
    )
    root = np.random.SeedSequence(seed)
    label_rng = np.random.default_rng(root.spawn(1)[0])
    n_pos = int(round(cfg.subjects * cfg.positive_fraction))
    labels = np.zeros(cfg.subjects, dtype=np.int64)
    labels[label_rng.permutation(cfg.subjects)[:n_pos]] = 1
    subject_seeds = np.random.SeedSequence([seed, 1]).spawn(cfg.subjects)

    sequences, rec_labels, rec_subjects, ids = [], [], [], []
    for s, subject_seed in enumerate(subject_seeds):
        rng = np.random.default_rng(subject_seed)
        traits = _draw_traits(rng, int(labels[s]), cfg)
        subject = f"synth{s + 1:03d}"
        for r in range(cfg.recordings_per_subject):
            t = int(round(cfg.duration_s * FPS * rng.uniform(0.9, 1.1)))
            image = _add_gaps(rng, _to_image(rng, _body_pose(rng, traits, cfg, t), traits), cfg)
            sequences.append(image.transpose(2, 0, 1).astype(np.float32))  # (2, T, V)
            rec_labels.append(traits.label)
            rec_subjects.append(subject)
            ids.append(subject if cfg.recordings_per_subject == 1 else f"{subject}_r{r + 1}")
    summary = LoadSummary(f"synthetic(seed={seed})", "synthetic", read=len(sequences))
    ds = SkeletonDataset(
        sequences,
        np.asarray(rec_labels),
        np.asarray(rec_subjects),
        ids,
        get_layout("infant19"),
        FPS,
        list(CLASS_NAMES),
        summary,
    )
    logger.info("generated %d synthetic recordings (%d positive subjects)", len(ds), n_pos)
    if raw:
        return ds
    from gcn_models.preprocess import infant_preprocessing, preprocess_dataset

    return preprocess_dataset(ds, infant_preprocessing(), stacklevel=3)
