"""The real MSR Action3D skeleton files (../shared/data/msr_action3d); skipped when absent.

Expected counts come from the dataset README: per-class and per-subject counts of all 567
files, minus the 10 sequences the clean list leaves out.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from gcn_models.dataset import DataWarning
from gcn_models.readers import load_dataset
from gcn_models.splits import msr_cross_subject_split
from gcn_models.windows import TrainWindowSampler, default_window_config, make_eval_windows

pytestmark = pytest.mark.real_data

MSR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "msr_action3d"
EXCLUDED = (
    "a02_s03_e02 a04_s03_e01 a07_s04_e01 a13_s09_e01 a13_s09_e02 a13_s09_e03 a14_s03_e01 "
    "a20_s07_e01 a20_s07_e03 a20_s10_e03"
).split()
ALL_PER_CLASS = [27, 27, 27, 26, 26, 26, 28, 30, 30, 30, 30, 30, 30, 30, 20, 30, 30, 30, 30, 30]
ALL_PER_SUBJECT = [60, 59, 56, 38, 57, 58, 59, 60, 60, 60]


@pytest.fixture(scope="module")
def clean():
    if not (MSR / "skeleton3D").is_dir():
        pytest.skip(f"MSR Action3D data not found at {MSR}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # lost-skeleton stretches; checked below
        return load_dataset(MSR)


def test_clean_subset_counts(clean):
    assert len(clean) == 557 and clean.summary.read == 557
    assert clean.num_classes == 20 and clean.num_coords == 3 and clean.fps == 15.0
    assert sorted(s.source.split("/")[-1][:11] for s in clean.summary.skipped) == sorted(EXCLUDED)
    per_class = np.array(ALL_PER_CLASS) - np.bincount(
        [int(e[1:3]) - 1 for e in EXCLUDED], minlength=20
    )
    np.testing.assert_array_equal(clean.class_counts(), per_class)
    excluded_per_subject = Counter(f"s{e[5:7]}" for e in EXCLUDED)
    for k, total in enumerate(ALL_PER_SUBJECT, start=1):
        subject = f"s{k:02d}"
        assert (clean.subjects == subject).sum() == total - excluded_per_subject[subject]
    assert clean.lengths.min() == 13 and clean.lengths.max() == 76


def test_cross_subject_protocol_sizes(clean):
    train, test = msr_cross_subject_split(clean)
    assert len(train) == 284 and len(test) == 273  # from the per-subject counts above
    assert set(train.subjects) == {"s01", "s03", "s05", "s07", "s09"}


def test_preprocessing_centres_on_hip_and_scales_by_trunk(clean):
    hip, neck, head = (clean.layout.index(j) for j in ("hip_center", "neck", "head"))
    for seq in clean.sequences[::25]:
        observed = np.isfinite(seq).all(axis=(0, 2))
        np.testing.assert_allclose(seq[:, observed, hip], 0.0, atol=1e-6)
        trunk = np.linalg.norm(seq[:, observed, neck], axis=0)
        assert np.median(trunk) == pytest.approx(0.25, rel=1e-4)
        assert np.median(seq[1, observed, head]) > 0  # y up: the head above the hip centre


def test_lost_skeleton_stretches_are_reported(clean):
    long_gaps = [i for i in clean.summary.issues if "all joints" in i]
    assert {line.split(":")[0][:3] for line in long_gaps} <= {"a13", "a20"}  # bend, pick up
    assert len(long_gaps) >= 10


def test_joint_order_right_limbs_move_most_in_one_limb_actions(clean):
    """README check: subjects used the right arm or leg, so its end joint moves most."""

    def most_moving(action: int) -> Counter:
        seqs = clean.subset(np.flatnonzero(clean.labels == action - 1)).sequences
        return Counter(
            clean.layout.joints[int(np.argmax(np.nanstd(s, axis=1).sum(0)))] for s in seqs
        )

    for action in (1, 2, 5):  # high arm wave, horizontal arm wave, forward punch
        counts = most_moving(action)
        assert counts["right_hand"] >= 0.9 * sum(counts.values())
    for action in (14, 15):  # forward kick, side kick
        counts = most_moving(action)
        assert counts["right_foot"] + counts["right_ankle"] == sum(counts.values())


def test_every_file_including_bad_ones(clean):
    with pytest.warns(DataWarning):
        everything = load_dataset(MSR, clean_only=False, actions=[13])
    skipped = {s.source.split("/")[-1][:11]: s.reason for s in everything.summary.skipped}
    assert "all coordinates are zero" in skipped["a13_s09_e02"]
    assert len(everything) == 29  # 30 bend files minus the all-zero one
    assert everything.lengths.max() == 936  # the corrupt outlier is read and can be inspected


def test_windows_from_real_data_are_finite(clean):
    cfg = default_window_config(clean)
    assert cfg.length == 32 and cfg.short == "resample"
    sample = clean.subset(np.arange(0, len(clean), 10))
    x, y, groups = make_eval_windows(sample, cfg)
    assert x.shape[1:] == (9, 32, 20) and np.isfinite(x).all()
    assert set(groups.tolist()) == set(range(len(sample)))
    xt, yt = TrainWindowSampler(sample, cfg, seed=0).epoch(0)
    assert np.isfinite(xt).all() and len(set(np.bincount(yt).tolist())) <= 3  # balanced


def test_cli_check_on_the_real_data(clean, capsys):
    from tuning.cli import main as zcnas

    assert zcnas(["data", "check", str(MSR), "-o", "actions=[1,14]"]) == 0
    out = capsys.readouterr().out
    # 27 + 30 files of actions 1 and 14, minus a14_s03_e01 left out by the clean list.
    assert "recordings read: 56, skipped: 511 (511 by selection, 0 errors)" in out
    assert "0 (high_arm_wave): 27 recordings" in out
    assert "1 (forward_kick): 29 recordings" in out
