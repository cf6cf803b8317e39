"""Preprocessing: canonical pose recovery, filter, resampling, gaps, 3D centring, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from gcn_models.dataset import DataWarning, SkeletonDataset
from gcn_models.layouts import SkeletonLayout, get_layout
from gcn_models.preprocess import (
    Preprocessing,
    align_trunk,
    body3d_preprocessing,
    fill_short_gaps,
    get_preprocessing,
    infant_preprocessing,
    lowpass_filter,
    lowpass_min_length,
    preprocess_dataset,
    preprocess_recording,
    resample,
)

INFANT = get_layout("infant19")
KINECT = get_layout("kinect20")
THORAX, PELVIS = INFANT.trunk


def canonical_pose(rng: np.random.Generator) -> np.ndarray:
    """(2, V) pose with the trunk centre at the origin, thorax at (0, 0.5), pelvis at (0, -0.5)."""
    pose = rng.uniform(-1.5, 1.5, size=(2, INFANT.num_joints))
    pose[:, THORAX] = (0.0, 0.5)
    pose[:, PELVIS] = (0.0, -0.5)
    return pose


def to_image(pose: np.ndarray, angles: np.ndarray, scale: float, shift: np.ndarray) -> np.ndarray:
    """Rotate by a per-frame angle, scale, translate and flip y (image coordinates)."""
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x = cos * pose[0] - sin * pose[1]
    y = sin * pose[0] + cos * pose[1]
    out = np.stack([x, y]) * scale + shift[:, :, None]  # (2, T, V)
    out[1] *= -1.0
    return out


def test_rotated_translated_scaled_pose_returns_to_canonical():
    rng = np.random.default_rng(1)
    pose = canonical_pose(rng)
    t = 12
    angles = rng.uniform(-np.pi, np.pi, t)  # a different rotation in every frame
    shift = rng.uniform(-3, 3, size=(2, t))
    image = to_image(pose, angles, scale=0.37, shift=shift)
    cfg = Preprocessing(flip_y=True, align_trunk=True, scale=True)
    out = preprocess_recording(image, fps=30, layout=INFANT, config=cfg).coords
    # Trunk length 1 -> one unit is 4 trunk lengths: the canonical pose divided by 4.
    expected = np.repeat((pose / 4.0)[:, None, :], t, axis=1)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert out[:, 0, THORAX] == pytest.approx([0.0, 0.125], abs=1e-6)


def test_full_infant_pipeline_on_a_still_pose_keeps_the_canonical_pose():
    rng = np.random.default_rng(2)
    pose = canonical_pose(rng)
    t = 60
    image = to_image(pose, np.full(t, 0.7), scale=0.2, shift=np.full((2, t), 0.5))
    out = preprocess_recording(image, fps=30, layout=INFANT, config=infant_preprocessing()).coords
    np.testing.assert_allclose(out, np.repeat((pose / 4)[:, None], t, axis=1), atol=1e-5)


def test_lowpass_removes_high_frequencies_without_phase_shift():
    fps, t = 30.0, 300
    time = np.arange(t) / fps
    slow = np.sin(2 * np.pi * 1.0 * time)
    fast = np.sin(2 * np.pi * 12.0 * time)  # above the 7.5 Hz cut-off
    x = np.zeros((2, t, 3))
    x[0, :, 0] = slow + fast
    x[1, :, 2] = slow
    out, short = lowpass_filter(x, order=8, cutoff=0.25)
    assert short == []
    middle = slice(30, -30)  # away from the edges
    np.testing.assert_allclose(out[0, middle, 0], slow[middle], atol=0.01)  # fast gone, no lag
    np.testing.assert_allclose(out[1, middle, 2], slow[middle], atol=0.01)


def test_lowpass_filters_each_observed_stretch_and_reports_short_ones():
    x = np.ones((2, 100, 2))
    x[:, 40:45, 1] = np.nan  # joint 1: observed 0..39 and 45..99
    x[:, :80, 0] = np.nan  # joint 0: observed only 80..99 (20 frames)
    out, short = lowpass_filter(x)
    assert np.isnan(out[:, 40:45, 1]).all() and np.allclose(out[:, 45:, 1], 1.0)
    assert [(g.joint, g.start, g.stop) for g in short] == [(0, 80, 100)]


def test_lowpass_min_length_matches_scipy_padding():
    assert lowpass_min_length(8) == 28  # padlen 27 for 4 second-order sections


def test_recording_shorter_than_the_filter_is_kept_and_reported():
    x = np.random.default_rng(0).normal(size=(2, 20, 19))
    result = preprocess_recording(
        x, fps=30, layout=INFANT, config=Preprocessing(lowpass=True), name="rec7"
    )
    np.testing.assert_allclose(result.coords, x, atol=1e-6)
    assert result.issues == [
        "rec7: 20 frames, but the order-8 low-pass filter needs at least 28: left unfiltered"
    ]


def test_resample_linear_ramp():
    ramp = np.arange(10, dtype=float)[None, :, None] * np.ones((2, 1, 3))
    down = resample(ramp, 30, 15)
    np.testing.assert_allclose(down[0, :, 0], [0, 2, 4, 6, 8])
    up = resample(ramp, 10, 30)  # 3x: positions 0, 1/3, ..., 9
    assert up.shape[1] == 28
    np.testing.assert_allclose(up[1, :, 2], np.arange(28) / 3)
    with_gap = ramp.copy()
    with_gap[:, 4] = np.nan
    out = resample(with_gap, 10, 20)
    assert np.isnan(out[0, 7:10, 0]).all()  # samples touching frame 4 (3.5, 4, 4.5)
    assert out[0, 6, 0] == 3.0 and out[0, 10, 0] == 5.0


def test_short_gaps_are_interpolated_long_and_edge_gaps_stay():
    t = np.arange(40, dtype=float)
    x = np.stack([t, 2 * t])[:, :, None].repeat(2, axis=2)
    x[:, 5:8, 0] = np.nan  # 3 frames: filled
    x[0, 20:36, 0] = np.inf  # 16 frames (one coordinate): too long for max_gap 15
    x[:, :3, 1] = np.nan  # edge: cannot interpolate
    out, gaps = fill_short_gaps(x, max_gap=15)
    np.testing.assert_allclose(out[:, 5:8, 0], [[5, 6, 7], [10, 12, 14]])
    assert np.isnan(out[:, 20:36, 0]).all() and np.isnan(out[:, :3, 1]).all()
    assert {(g.joint, g.start, g.stop, g.filled) for g in gaps} == {
        (0, 5, 8, True), (0, 20, 36, False), (1, 0, 3, False)
    }  # fmt: skip


def test_gap_and_inf_issues_name_recording_frames_and_joints():
    x = np.ones((2, 60, 19))
    x[0, 10, 3] = np.inf
    x[:, 30:50, INFANT.index("left_wrist")] = np.nan
    result = preprocess_recording(
        x, fps=30, layout=INFANT, config=Preprocessing(max_gap_s=0.5), name="baby"
    )
    assert "baby: 1 infinite coordinate(s) treated as missing" in result.issues
    assert (
        "baby: frames 30..49 (20 frames), joint(s) left_wrist: missing, longer than 0.5 s: "
        "left missing" in result.issues
    )
    assert result.notes == ["baby: 1 short gap(s), 1 joint-frames interpolated"]


def test_align_trunk_rejects_3d_and_scaling_needs_a_trunk():
    with pytest.raises(ValueError, match="needs 2D coordinates"):
        align_trunk(np.zeros((3, 4, 19)), THORAX, PELVIS)
    no_trunk = SkeletonLayout("nt", ("a", "b"), ((0, 1),), 0)
    with pytest.raises(ValueError, match="layout `nt` has no `trunk`"):
        preprocess_recording(
            np.ones((2, 5, 2)), fps=30, layout=no_trunk, config=Preprocessing(scale=True)
        )


def test_3d_centring_and_body_length_scaling():
    rng = np.random.default_rng(3)
    t = 15
    pose = rng.normal(size=(3, 1, 20)).repeat(t, axis=1) + rng.normal(size=(3, t, 1)) * 5
    cfg = body3d_preprocessing(KINECT)
    assert cfg.center_joint == "hip_center" and cfg.scale
    out = preprocess_recording(pose, fps=15, layout=KINECT, config=cfg).coords
    hip, neck = KINECT.index("hip_center"), KINECT.index("neck")
    np.testing.assert_allclose(out[:, :, hip], 0.0, atol=1e-6)
    trunk = np.linalg.norm(pose[:, 0, neck] - pose[:, 0, hip])
    expected = (pose[:, 0] - pose[:, 0, hip : hip + 1]) / (4 * trunk)
    np.testing.assert_allclose(out[:, 7], expected, atol=1e-5)  # frame 7, any frame


def test_dataset_skips_recordings_without_trunk_and_warns():
    good = np.random.default_rng(0).normal(size=(2, 10, 19)).astype(np.float32)
    bad = good.copy()
    bad[:, :, THORAX] = np.nan
    ds = SkeletonDataset([good, bad], [0, 1], ["a", "b"], ["a", "b"], INFANT, 30.0, ["0", "1"])
    cfg = Preprocessing(align_trunk=True, scale=True)
    with pytest.warns(DataWarning, match="skipped 1 recording"):
        out = preprocess_dataset(ds, cfg)
    assert out.ids == ["a"] and out.summary.read == 1
    assert out.summary.skipped[0].source == "b"
    assert "trunk joints never observed" in out.summary.skipped[0].reason
    assert ds.sequences[0] is good  # the input dataset is not changed


def test_resampling_updates_the_dataset_frame_rate():
    ds = SkeletonDataset(
        [np.zeros((2, 31, 19), np.float32)], [0], ["a"], ["a"], INFANT, 60.0, ["0"]
    )
    out = preprocess_dataset(ds, Preprocessing(target_fps=30.0))
    assert out.fps == 30.0 and out.lengths.tolist() == [16]


def test_config_validation_and_presets():
    with pytest.raises(ValueError, match="lowpass_cutoff"):
        Preprocessing(lowpass_cutoff=0.6)
    with pytest.raises(ValueError, match="target_fps"):
        Preprocessing(target_fps=0)
    with pytest.raises(ValueError, match="unknown preprocessing preset `fancy`"):
        get_preprocessing("fancy", INFANT)
    assert get_preprocessing("infant2d", INFANT) == infant_preprocessing()
    assert get_preprocessing("none", INFANT).describe() == "none"
