"""The learned combination: it helps when proxies carry complementary signal, not otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.combination import RankScaler, cross_validated_combination


def test_combination_beats_each_complementary_proxy():
    rng = np.random.default_rng(0)
    n = 80
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"val_auc": a + b, "zc_a": np.exp(a), "zc_b": b**3})
    result = cross_validated_combination(frame, "val_auc", ["zc_a", "zc_b"], repeats=3)
    singles = [
        abs(stats.spearmanr(frame[c], frame["val_auc"]).statistic) for c in ("zc_a", "zc_b")
    ]
    assert result.rho > max(singles) + 0.15
    assert result.rho_min <= result.rho <= result.rho_max
    assert len(result.per_repeat) == 3 and result.n == n


def test_noise_features_do_not_look_predictive():
    # Twelve pure-noise features on 40 architectures: an in-sample fit would correlate well,
    # an honest cross-validation does not.
    rng = np.random.default_rng(1)
    n, k = 40, 12
    frame = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"zc_{i}" for i in range(k)])
    frame["val_auc"] = rng.normal(size=n)
    result = cross_validated_combination(frame, "val_auc", list(frame.columns[:k]), repeats=4)
    assert result.rho < 0.3


def test_nan_handling_and_undefined_cases():
    rng = np.random.default_rng(2)
    n = 30
    a = rng.normal(size=n)
    x = a.copy()
    x[:5] = np.nan
    frame = pd.DataFrame({"val_auc": a, "zc_x": x, "zc_dead": np.nan, "flat": 1.0})
    last = cross_validated_combination(frame, "val_auc", ["zc_x", "zc_dead", "flat"], repeats=2)
    assert last.features == ["zc_x"] and last.n == 30 and np.isfinite(last.rho)
    omit = cross_validated_combination(frame, "val_auc", ["zc_x"], nan_policy="omit", repeats=2)
    assert omit.n == 25
    small = cross_validated_combination(frame.iloc[:8], "val_auc", ["zc_x"], repeats=2)
    assert np.isnan(small.rho) and "at least 10" in small.note
    none = cross_validated_combination(frame, "val_auc", ["zc_dead"], repeats=2)
    assert np.isnan(none.rho) and "no non-constant feature" in none.note


def test_rank_scaler_uses_training_ranks_only():
    scaler = RankScaler().fit(np.array([[1.0], [2.0], [3.0], [3.0], [np.nan]]))
    out = scaler.transform(np.array([[0.0], [2.0], [3.0], [10.0], [np.nan]]))[:, 0]
    # Mid-rank among the 4 finite training values / 4: below + at-or-below, over 2 * 4.
    np.testing.assert_allclose(out[:4], [0.0, 3 / 8, 6 / 8, 1.0])
    assert np.isnan(out[4])
    train = np.array([[3.0, 1.0], [1.0, np.nan], [3.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(
        RankScaler().fit_transform(train), RankScaler().fit(train).transform(train)
    )
