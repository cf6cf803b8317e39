"""The synthetic infant-like generator: determinism, class balance, plausibility, difficulty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gcn_models.dataset import DataWarning
from gcn_models.layouts import get_layout
from gcn_models.synthetic import SyntheticConfig, make_synthetic_dataset, synthetic_demo_config

INFANT = get_layout("infant19")
WRISTS_ANKLES = [
    INFANT.index(j) for j in ("right_wrist", "left_wrist", "right_ankle", "left_ankle")
]


@pytest.fixture(scope="module")
def cohort():
    """100 preprocessed subjects (about 6 s each), shared by the slower checks."""
    return make_synthetic_dataset(subjects=100, seed=11, duration_s=6.0)


def test_same_seed_same_data_other_seed_other_data():
    a = make_synthetic_dataset(subjects=5, seed=4, duration_s=2.0, raw=True)
    b = make_synthetic_dataset(subjects=5, seed=4, duration_s=2.0, raw=True)
    c = make_synthetic_dataset(subjects=5, seed=5, duration_s=2.0, raw=True)
    assert a.ids == b.ids and a.labels.tolist() == b.labels.tolist()
    for x, y in zip(a.sequences, b.sequences, strict=True):
        np.testing.assert_array_equal(x, y)  # NaN positions included
    assert any(
        x.shape != z.shape or not np.allclose(x, z, equal_nan=True)
        for x, z in zip(a.sequences, c.sequences, strict=True)
    )


@pytest.mark.parametrize(
    ("subjects", "fraction", "positives"), [(40, 0.2, 8), (25, 0.3, 8), (10, 0.0, 0), (12, 0.5, 6)]
)
def test_class_balance(subjects, fraction, positives):
    ds = make_synthetic_dataset(
        subjects=subjects, seed=1, positive_fraction=fraction, duration_s=1.5
    )
    assert len(ds) == subjects and int(ds.labels.sum()) == positives
    assert ds.class_names == ["0", "1"]


def test_shape_rate_layout_and_lengths():
    ds = make_synthetic_dataset(subjects=6, seed=2, duration_s=4.0, recordings_per_subject=2)
    assert ds.layout.name == "infant19" and ds.fps == 30.0 and ds.num_coords == 2
    assert len(ds) == 12 and len(set(ds.ids)) == 12 and len(set(ds.subjects)) == 6
    for s in set(ds.subjects):
        assert len(set(ds.labels[ds.subjects == s])) == 1
    assert ((ds.lengths >= 0.9 * 120 - 1) & (ds.lengths <= 1.1 * 120 + 1)).all()


def test_raw_output_looks_like_tracker_data():
    raw = make_synthetic_dataset(subjects=8, seed=3, duration_s=4.0, raw=True)
    values = np.concatenate([s.ravel() for s in raw.sequences])
    finite = values[np.isfinite(values)]
    assert 0.0 < finite.min() and finite.max() < 1.0  # normalised image coordinates
    assert np.isnan(values).any()  # occasional missing joints
    for seq in raw.sequences:
        missing = np.isnan(seq).any(axis=0)  # (T, V)
        assert not missing[0].any() and not missing[-1].any()  # gaps lie inside
        for v in range(19):
            runs = np.diff(np.flatnonzero(np.diff(np.r_[0, missing[:, v].astype(int), 0])))[::2]
            assert (runs <= 8).all()
    # y points down in image coordinates: the head is above (smaller y) the pelvis.
    head_y = np.nanmedian([np.nanmedian(s[1, :, INFANT.index("head_top")]) for s in raw.sequences])
    pelvis_y = np.nanmedian([np.nanmedian(s[1, :, INFANT.index("pelvis")]) for s in raw.sequences])
    assert head_y < pelvis_y


def test_preprocessed_bones_are_stable_and_movement_small(cohort):
    for seq in cohort.sequences[:20]:
        assert np.isfinite(seq).all()
        bones = seq - seq[:, :, list(INFANT.parents)]
        forearm = np.linalg.norm(bones[:, :, INFANT.index("left_wrist")], axis=0)
        assert forearm.std() / forearm.mean() < 0.15  # rigid segment plus tracking noise
        wrist = seq[:, :, INFANT.index("left_wrist")]
        assert 0.005 < wrist.std(axis=1).max() < 0.15  # small movement around a resting pose


def _band_power(seq: np.ndarray, low: float, high: float) -> float:
    freqs, power = signal.welch(seq[:, :, WRISTS_ANKLES], fs=30.0, axis=1, nperseg=64)
    band = (freqs >= low) & (freqs <= high)
    return float(power[:, band].sum())


def _limb_synchrony(seq: np.ndarray) -> float:
    speed = np.linalg.norm(np.diff(seq[:, :, WRISTS_ANKLES], axis=1), axis=0)  # (T-1, 4)
    corr = np.corrcoef(speed.T)
    return float(corr[np.triu_indices(4, 1)].mean())


def test_positives_have_less_fidgety_and_more_synchronised_movement(cohort):
    labels = cohort.labels
    fidgety = np.array(
        [_band_power(s, 1.0, 4.0) / _band_power(s, 0.1, 7.5) for s in cohort.sequences]
    )
    sync = np.array([_limb_synchrony(s) for s in cohort.sequences])
    assert fidgety[labels == 0].mean() > fidgety[labels == 1].mean()
    assert sync[labels == 1].mean() > sync[labels == 0].mean()
    # ... but the classes overlap: neither feature alone separates them perfectly.
    assert 0.5 < roc_auc_score(labels, -fidgety) < 1.0
    assert 0.5 < roc_auc_score(labels, sync) < 1.0


def _window_features(seq: np.ndarray, length: int = 64) -> np.ndarray:
    rows = []
    for start in range(0, seq.shape[1] - length + 1, length // 2):
        w = seq[:, start : start + length]
        speed = np.linalg.norm(np.diff(w, axis=1), axis=0)
        rows.append(
            np.concatenate([np.log(speed.mean(0) + 1e-6), np.log(w.std(1).mean(0) + 1e-6)])
        )
    return np.asarray(rows)


def test_task_is_learnable_but_not_trivial(cohort):
    """Logistic regression on per-window summary features, subject-level 5-fold CV AUC."""
    feats = [_window_features(s) for s in cohort.sequences]
    y = cohort.labels
    scores = np.zeros(len(y))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(feats, y):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, class_weight="balanced"))
        clf.fit(
            np.concatenate([feats[i] for i in train]),
            np.repeat(y[train], [len(feats[i]) for i in train]),
        )
        for i in test:
            scores[i] = np.median(clf.predict_proba(feats[i])[:, 1])
    auc = roc_auc_score(y, scores)
    assert 0.6 < auc < 0.99


def test_long_gaps_are_reported_by_the_default_preprocessing():
    config = SyntheticConfig(gaps_per_recording=6.0, long_gap_probability=1.0)
    with pytest.warns(DataWarning, match="longer than 0.5 s"):
        ds = make_synthetic_dataset(subjects=3, seed=0, duration_s=4.0, config=config)
    assert any("longer than 0.5 s: left missing" in i for i in ds.summary.issues)


def test_demo_window_preset_cuts_the_default_recordings():
    from gcn_models.windows import make_eval_windows

    cfg = synthetic_demo_config()
    assert (cfg.length, cfg.eval_stride, cfg.fps) == (64, 32, 30.0)
    ds = make_synthetic_dataset(subjects=3, seed=0)
    x, _, groups = make_eval_windows(ds, cfg)
    assert x.shape[1:] == (6, 64, 19)
    assert all(8 <= n <= 10 for n in np.bincount(groups))  # 270-330 frames each


def test_invalid_settings():
    with pytest.raises(ValueError, match="`positive_fraction` must lie in"):
        make_synthetic_dataset(subjects=4, positive_fraction=1.5)
    with pytest.raises(ValueError, match="`subjects`"):
        make_synthetic_dataset(subjects=0)
    with pytest.raises(ValueError, match="`duration_s`"):
        make_synthetic_dataset(subjects=2, duration_s=0.5)
