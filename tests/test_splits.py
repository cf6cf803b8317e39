"""Subject splits: no subject leak, class ratio kept, seeded, explicit lists, MSR protocol."""

from __future__ import annotations

import numpy as np
import pytest

from gcn_models.dataset import DataWarning, SkeletonDataset
from gcn_models.layouts import SkeletonLayout
from gcn_models.splits import (
    msr_cross_subject_split,
    split_by_subject,
    split_by_subjects,
    subject_strata,
)

PAIR = SkeletonLayout("pair", ("a", "b"), ((0, 1),), 0)


def make(subject_labels: list[int], recordings: list[int] | None = None) -> SkeletonDataset:
    """One subject per entry of ``subject_labels``, with ``recordings[i]`` recordings each."""
    recordings = recordings or [1] * len(subject_labels)
    seqs, labels, subjects, ids = [], [], [], []
    for s, (label, count) in enumerate(zip(subject_labels, recordings, strict=True)):
        for r in range(count):
            seqs.append(np.zeros((2, 4, 2), np.float32))
            labels.append(label)
            subjects.append(f"subj{s:02d}")
            ids.append(f"subj{s:02d}_{r}")
    k = max(subject_labels) + 1
    return SkeletonDataset(seqs, labels, subjects, ids, PAIR, 30.0, [str(c) for c in range(k)])


def test_no_subject_in_both_and_every_recording_used_once():
    rng = np.random.default_rng(0)
    labels = [1] * 10 + [0] * 30
    ds = make(labels, recordings=rng.integers(1, 4, size=40).tolist())
    train, val = split_by_subject(ds, val_fraction=0.25, seed=3)
    assert not set(train.subjects) & set(val.subjects)
    assert sorted(train.ids + val.ids) == sorted(ds.ids)
    assert len(set(val.subjects)) == 10  # round(0.25 x 40) subjects


@pytest.mark.parametrize(
    ("n_pos", "n_neg", "fraction"), [(10, 30, 0.25), (8, 32, 0.25), (7, 23, 0.3)]
)
def test_class_ratio_is_kept_at_subject_level(n_pos, n_neg, fraction):
    ds = make([1] * n_pos + [0] * n_neg)
    for seed in range(5):
        train, val = split_by_subject(ds, val_fraction=fraction, seed=seed)
        n_val = round(fraction * (n_pos + n_neg))
        expected_pos = n_pos * n_val / (n_pos + n_neg)
        assert len(val) == n_val
        assert abs(int(val.labels.sum()) - expected_pos) < 1  # largest remainder: within one
        assert int(train.labels.sum()) + int(val.labels.sum()) == n_pos


def test_split_is_deterministic_by_seed():
    ds = make([1] * 8 + [0] * 32)
    a = split_by_subject(ds, seed=7)[1].ids
    assert split_by_subject(ds, seed=7)[1].ids == a
    assert any(split_by_subject(ds, seed=s)[1].ids != a for s in range(8, 12))


def test_mixed_label_subjects_are_stratified_by_their_majority_label():
    ds = SkeletonDataset(
        [np.zeros((2, 3, 2), np.float32)] * 5,
        [0, 1, 1, 2, 2],
        ["x", "x", "x", "y", "z"],
        list("abcde"),
        PAIR,
        15.0,
        ["0", "1", "2"],
    )
    subjects, strata = subject_strata(ds)
    assert subjects.tolist() == ["x", "y", "z"] and strata.tolist() == [1, 2, 2]


def test_missing_class_in_validation_warns():
    ds = make([1] + [0] * 9)  # one positive subject; 2 validation subjects are negatives
    with pytest.warns(
        DataWarning, match=r"validation split has no recording of class\(es\) \['1'\]"
    ):
        split_by_subject(ds, val_fraction=0.2, seed=0)


def test_bad_arguments():
    ds = make([0, 1, 0, 1])
    with pytest.raises(ValueError, match="`val_fraction` must lie in"):
        split_by_subject(ds, val_fraction=1.0)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        split_by_subject(make([0], [3]))
    with pytest.raises(ValueError, match=r"subject\(s\) \['nobody'\] are not in the dataset"):
        split_by_subjects(ds, val_subjects=["nobody"])
    with pytest.raises(ValueError, match="listed for both"):
        split_by_subjects(ds, val_subjects=["subj00"], train_subjects=["subj00", "subj01"])


def test_explicit_subject_lists_and_msr_protocol():
    subjects = [f"s{s:02d}" for s in range(1, 11) for _ in range(2)]
    ds = SkeletonDataset(
        [np.zeros((3, 5, 2), np.float32)] * 20, [0, 1] * 10, subjects,
        [f"{s}_{i % 2}" for i, s in enumerate(subjects)], PAIR, 15.0, ["0", "1"],
    )  # fmt: skip
    train, test = msr_cross_subject_split(ds)
    assert sorted(set(train.subjects)) == ["s01", "s03", "s05", "s07", "s09"]
    assert sorted(set(test.subjects)) == ["s02", "s04", "s06", "s08", "s10"]
    assert len(train) == len(test) == 10
    train, val = split_by_subjects(ds, val_subjects=["s02"], train_subjects=["s01"])
    assert len(train) == len(val) == 2  # unlisted subjects are in neither side
