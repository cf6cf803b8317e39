"""Windows and features: counts, coverage, short recordings, sampling, augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from gcn_models.dataset import SkeletonDataset
from gcn_models.layouts import SkeletonLayout, get_layout
from gcn_models.windows import (
    TrainWindowSampler,
    WindowConfig,
    aggregate_subject_scores,
    default_window_config,
    eval_window_starts,
    features,
    fill_missing,
    make_eval_windows,
    random_starts,
    windows_per_class,
)

# A 3-joint chain: 0 root, 1 child of 0, 2 child of 1.
CHAIN = SkeletonLayout("chain3", ("a", "b", "c"), ((0, 1), (1, 2)), 0)


def dataset(lengths, labels, subjects=None, coords=2, layout=CHAIN, fps=30.0, seed=0):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(coords, t, layout.num_joints)).astype(np.float32) for t in lengths]
    subjects = subjects if subjects is not None else [f"s{i}" for i in range(len(lengths))]
    ids = [f"r{i}" for i in range(len(lengths))]
    k = max(labels) + 1
    return SkeletonDataset(seqs, labels, subjects, ids, layout, fps, [str(c) for c in range(k)])


def test_eval_window_starts_examples():
    assert eval_window_starts(300, 150, 75) == [0, 75, 150]
    assert eval_window_starts(320, 150, 75) == [0, 75, 150, 170]  # end-aligned extra window
    assert eval_window_starts(150, 150, 75) == [0]
    assert eval_window_starts(151, 150, 75) == [0, 1]


@pytest.mark.parametrize("length", [8, 9, 32])
def test_eval_windows_cover_every_frame_without_duplicates(length):
    stride = length // 2
    for n in range(length, 4 * length):
        starts = eval_window_starts(n, length, stride)
        assert len(starts) == len(set(starts)) and starts == sorted(starts)
        covered = np.zeros(n, bool)
        for s in starts:
            assert 0 <= s <= n - length
            covered[s : s + length] = True
        assert covered.all()
        assert len(starts) == (n - length) // stride + 1 + ((n - length) % stride != 0)


def test_make_eval_windows_counts_groups_and_content():
    ds = dataset([20, 16, 27], [0, 1, 0])
    cfg = WindowConfig(length=8, fps=30.0)
    x, y, groups = make_eval_windows(ds, cfg)
    # 20 -> starts 0,4,8,12; 16 -> 0,4,8; 27 -> 0,4,...,16,19
    assert groups.tolist() == [0] * 4 + [1] * 3 + [2] * 6
    assert y.tolist() == [0] * 4 + [1] * 3 + [0] * 6
    assert x.shape == (13, 6, 8, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[12, :2], ds.sequences[2][:, 19:27])  # end-aligned window


@pytest.mark.parametrize("policy", ["pad", "resample", "tile"])
def test_short_recordings_become_one_window(policy):
    ds = dataset([5], [0])
    seq = ds.sequences[0]
    x, _, groups = make_eval_windows(ds, WindowConfig(length=12, short=policy))
    assert x.shape == (1, 6, 12, 3) and groups.tolist() == [0]
    positions = x[0, :2]
    np.testing.assert_allclose(positions[:, 0], seq[:, 0], atol=1e-6)
    if policy == "pad":
        np.testing.assert_array_equal(positions[:, :5], seq)
        np.testing.assert_array_equal(positions[:, 5:], np.repeat(seq[:, -1:], 7, axis=1))
    elif policy == "resample":
        np.testing.assert_allclose(positions[:, -1], seq[:, -1], atol=1e-6)
        # Frame 11 of 12 maps to source position 11 * 4/11 = 4 -> the last frame; frame 1 to 4/11.
        expected = seq[:, 0] + (seq[:, 1] - seq[:, 0]) * (4 / 11)
        np.testing.assert_allclose(positions[:, 1], expected, atol=1e-6)
    else:
        np.testing.assert_array_equal(positions[:, 5:10], seq)
        np.testing.assert_array_equal(positions[:, 10:], seq[:, :2])


def test_features_on_a_hand_made_sequence():
    # One coordinate pair per joint; 3 frames.
    x = np.array(
        [
            [[0.0, 1.0, 3.0], [1.0, 1.0, 1.0], [2.0, 4.0, 8.0]],  # x: frames x joints
            [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 2.0, 4.0]],  # y
        ]
    )  # (C=2, T=3, V=3)
    f = features(x, CHAIN)
    assert f.shape == (6, 3, 3)
    np.testing.assert_array_equal(f[:2], x)
    # velocity x[t+1] - x[t], last frame 0
    np.testing.assert_array_equal(f[2, :, 0], [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(f[2, :, 2], [-2.0, 7.0, 0.0])
    np.testing.assert_array_equal(f[3, :, 0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(f[3, :, 1], [1.0, 1.0, 0.0])
    # bone x[v] - x[parent(v)], parents (0, 0, 1); root bone 0
    np.testing.assert_array_equal(f[4, 0], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(f[5, 2], [0.0, 2.0, 2.0])
    batched = features(np.stack([x, 2 * x]), CHAIN)
    np.testing.assert_array_equal(batched[1], 2 * f)
    with pytest.raises(ValueError, match="V = 3"):
        features(np.zeros((2, 3, 4)), CHAIN)


def test_fill_missing_interpolates_holds_and_zeroes():
    x = np.tile(np.arange(6, dtype=np.float32)[None, :, None], (2, 1, 3))
    x[:, 2:4, 0] = np.nan  # interior
    x[0, :2, 1] = np.nan  # leading
    x[:, :, 2] = np.nan  # never observed
    out = fill_missing(x)
    np.testing.assert_array_equal(out[:, :, 0], np.tile(np.arange(6.0), (2, 1)))
    np.testing.assert_array_equal(out[0, :, 1], [2, 2, 2, 3, 4, 5])
    np.testing.assert_array_equal(out[:, :, 2], 0.0)


def test_no_nan_reaches_the_windows():
    ds = dataset([20, 20], [0, 1])
    ds.sequences[0][:, 3:9, 1] = np.nan
    ds.sequences[1][:, :, 2] = np.nan
    x, _, _ = make_eval_windows(ds, WindowConfig(length=8))
    xt, _ = TrainWindowSampler(ds, WindowConfig(length=8), seed=0).epoch(0)
    assert np.isfinite(x).all() and np.isfinite(xt).all()


def test_windows_per_class_binary_and_multiclass():
    cfg = WindowConfig(length=8, windows_per_recording=4)
    assert windows_per_class(np.array([6, 2]), cfg).tolist() == [4, 12]
    assert windows_per_class(np.array([2, 6]), cfg).tolist() == [12, 4]
    two = WindowConfig(length=8, windows_per_recording=4, oversampling=2.0)
    assert windows_per_class(np.array([6, 2]), two).tolist() == [4, 8]
    assert windows_per_class(np.array([4, 2, 1]), cfg).tolist() == [4, 8, 16]
    assert windows_per_class(np.array([3, 0, 3]), cfg).tolist() == [4, 0, 4]
    with pytest.raises(ValueError, match="binary data only"):
        windows_per_class(np.array([4, 2, 1]), two)


def test_train_sampler_oversamples_and_is_deterministic():
    ds = dataset([30] * 8, [0, 0, 0, 0, 0, 0, 1, 1])
    cfg = WindowConfig(length=10, windows_per_recording=3)
    sampler = TrainWindowSampler(ds, cfg, seed=5)
    x, y = sampler.epoch(0)
    assert x.shape == (36, 6, 10, 3) and sampler.windows_per_epoch == 36
    assert np.bincount(y).tolist() == [18, 18]  # 6 x 3 negatives, 2 x 9 positives
    x_again, y_again = TrainWindowSampler(ds, cfg, seed=5).epoch(0)
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    x_next, _ = sampler.epoch(1)
    assert not np.array_equal(x, x_next)
    x_other, _ = TrainWindowSampler(ds, cfg, seed=6).epoch(0)
    assert not np.array_equal(x, x_other)


def test_unaugmented_training_windows_are_slices_of_their_recording():
    ds = dataset([25, 40], [0, 1])
    x, y = TrainWindowSampler(ds, WindowConfig(length=10), seed=0, augment=False).epoch(3)
    for window, label in zip(x[:, :2], y, strict=True):
        seq = ds.sequences[label]  # recording index equals label here
        matches = [
            s for s in range(seq.shape[1] - 9) if np.array_equal(seq[:, s : s + 10], window)
        ]
        assert len(matches) == 1


def test_random_starts_are_spread_over_the_recording():
    rng = np.random.default_rng(0)
    starts = random_starts(rng, num_frames=300, length=64, count=4)
    span = 300 - 64 + 1
    for p, s in enumerate(starts):
        assert p * span / 4 <= s < (p + 1) * span / 4
    assert random_starts(rng, 64, 64, 3).tolist() == [0, 0, 0]


def _bone_lengths(x: np.ndarray, c: int, layout: SkeletonLayout) -> np.ndarray:
    """Lengths (N, T, V-1) of all bones except the root's (which is 0)."""
    keep = [v for v in range(layout.num_joints) if layout.parents[v] != v]
    return np.linalg.norm(x[:, 2 * c : 3 * c], axis=1)[..., keep]


def test_2d_augmentation_rotates_scales_translates_rigidly():
    ds = dataset([30, 30], [0, 1], layout=get_layout("infant19"))
    cfg = WindowConfig(length=10, windows_per_recording=20)
    plain, y0 = TrainWindowSampler(ds, cfg, seed=1, augment=False).epoch(0)
    aug, y1 = TrainWindowSampler(ds, cfg, seed=1, augment=True).epoch(0)
    np.testing.assert_array_equal(y0, y1)
    assert not np.allclose(plain, aug)
    # Same starts and order (same seed, augmentation drawn after the starts): bone lengths
    # scale by one factor per window in [0.7, 1.3]; velocities are free of translation.
    infant = get_layout("infant19")
    ratio = _bone_lengths(aug, 2, infant) / _bone_lengths(plain, 2, infant)
    per_window = ratio.reshape(len(ratio), -1)
    same = np.broadcast_to(per_window[:, :1], per_window.shape)
    np.testing.assert_allclose(per_window, same, rtol=1e-4)
    assert (per_window > 0.7 - 1e-6).all() and (per_window < 1.3 + 1e-6).all()
    s = per_window[:, 0][:, None, None]
    speed = np.linalg.norm(plain[:, 2:4], axis=1)
    np.testing.assert_allclose(
        np.linalg.norm(aug[:, 2:4], axis=1), s * speed, rtol=1e-4, atol=1e-6
    )


def test_3d_augmentation_rotates_about_the_vertical_axis():
    ds = dataset([20], [0], coords=3, layout=get_layout("kinect20"))
    cfg = WindowConfig(length=10, windows_per_recording=6)
    plain, _ = TrainWindowSampler(ds, cfg, seed=2, augment=False).epoch(0)
    aug, _ = TrainWindowSampler(ds, cfg, seed=2, augment=True).epoch(0)
    kinect = get_layout("kinect20")
    scale = _bone_lengths(aug, 3, kinect) / _bone_lengths(plain, 3, kinect)
    s = scale.reshape(len(scale), -1)[:, 0]
    # Bones' vertical (y) component only scales; x and z mix by the rotation.
    np.testing.assert_allclose(aug[:, 7], plain[:, 7] * s[:, None, None], rtol=1e-4, atol=1e-6)
    assert not np.allclose(aug[:, 6], plain[:, 6] * s[:, None, None])


def test_default_window_config_for_long_and_short_data():
    long = dataset([320, 300, 400], [0, 1, 0])
    assert default_window_config(long).length == 150
    assert default_window_config(long).eval_stride == 75
    short = dataset([39, 13, 60, 40], [0, 1, 0, 1], fps=15.0)
    cfg = default_window_config(short)
    assert (cfg.length, cfg.short, cfg.fps, cfg.eval_stride) == (32, "resample", 15.0, 16)
    assert default_window_config(short, length=16).length == 16


def test_window_config_validation():
    with pytest.raises(ValueError, match="`short` must be one of pad, resample, tile"):
        WindowConfig(short="crop")
    with pytest.raises(ValueError, match="stride"):
        WindowConfig(length=10, stride=11)


def test_windows_at_another_frame_rate_are_resampled():
    ds = dataset([61], [0], fps=60.0)
    x, _, _ = make_eval_windows(ds, WindowConfig(length=31, fps=30.0))
    assert x.shape[0] == 1  # 61 frames at 60 fps -> 31 frames at 30 fps
    np.testing.assert_allclose(x[0, :2, 1], ds.sequences[0][:, 2], atol=1e-6)


def test_aggregate_subject_scores_by_hand():
    probs = np.array([0.1, 0.2, 0.9, 0.4, 0.6, 0.3])
    groups = np.array([0, 0, 0, 1, 1, 2])
    subjects = np.array(["a", "b", "a"])
    out = aggregate_subject_scores(probs, groups, subjects, labels=np.array([1, 0, 1]))
    assert out.keys.tolist() == ["a", "b"]
    np.testing.assert_allclose(out.scores, [0.25, 0.5])  # median(0.1, 0.2, 0.9, 0.3)
    assert out.labels.tolist() == [1, 0] and out.windows.tolist() == [4, 2]
    rec = aggregate_subject_scores(probs, groups, subjects, by="recording")
    np.testing.assert_allclose(rec.scores, [0.2, 0.5, 0.3])
    two_class = aggregate_subject_scores(np.stack([1 - probs, probs], 1), groups, subjects)
    np.testing.assert_allclose(two_class.scores[:, 1], [0.25, 0.5])
    with pytest.raises(ValueError, match="subject `a` has recordings with labels"):
        aggregate_subject_scores(probs, groups, subjects, labels=np.array([1, 0, 0]))
    with pytest.raises(ValueError, match="`by` must be one of"):
        aggregate_subject_scores(probs, groups, subjects, by="window")
