"""Correlations against scipy and hand-computed values; intervals, p-values, NaN, ties."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.correlation import (
    BCA_MAX_N,
    ResamplingSettings,
    correlate,
    partial_spearman,
)
from analysis.multiple_testing import holm
from analysis.prepare import Predictor
from analysis.resampled_spearman import COUNTING_MIN_N, BootstrapSpearman, PermutedSpearman

NO_RESAMPLING = ResamplingSettings(bootstrap=0, permutations=0)


def _table(y, **columns) -> tuple[pd.DataFrame, list[Predictor]]:
    frame = pd.DataFrame({"val_auc": np.asarray(y, dtype=float), **columns})
    return frame, [Predictor(name, name, "proxy") for name in columns]


def test_rho_and_tau_equal_scipy_with_ties():
    rng = np.random.default_rng(3)
    y = np.round(rng.normal(size=40), 1)  # ties in the metric
    x = np.round(y + rng.normal(size=40), 0)  # heavy ties in the scores
    frame, predictors = _table(y, x=x)
    row = correlate(frame, "val_auc", predictors, settings=NO_RESAMPLING).iloc[0]
    assert row["spearman_rho"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert row["kendall_tau"] == pytest.approx(
        stats.kendalltau(x, y, variant="b").statistic, abs=1e-12
    )
    assert row["n"] == 40 and row["n_nan"] == 0


def test_nan_policies():
    rng = np.random.default_rng(4)
    y = rng.normal(size=30)
    x = y + rng.normal(size=30)
    x[[2, 5, 11]] = np.nan
    x[7] = -np.inf  # non-finite counts as a failure too
    frame, predictors = _table(y, x=x)
    finite = np.isfinite(x)

    omit = correlate(frame, "val_auc", predictors, nan_policy="omit", settings=NO_RESAMPLING)
    assert omit["n"].iloc[0] == 26 and omit["n_nan"].iloc[0] == 4
    expected = stats.spearmanr(x[finite], y[finite]).statistic
    assert omit["spearman_rho"].iloc[0] == pytest.approx(expected, abs=1e-12)

    last = correlate(frame, "val_auc", predictors, nan_policy="rank-last", settings=NO_RESAMPLING)
    assert last["n"].iloc[0] == 30 and last["n_nan"].iloc[0] == 4
    # Independent encoding of "ranked last": a value below every finite score.
    worst = np.where(finite, x, np.nanmin(x[finite]) - 1.0)
    assert last["spearman_rho"].iloc[0] == pytest.approx(
        stats.spearmanr(worst, y).statistic, abs=1e-12
    )

    with pytest.raises(ValueError, match="unknown nan_policy `drop`"):
        correlate(frame, "val_auc", predictors, nan_policy="drop", settings=NO_RESAMPLING)


def test_undefined_statistics_are_nan_with_reason():
    y = np.arange(6, dtype=float)
    frame, predictors = _table(
        y,
        all_nan=np.full(6, np.nan),
        constant=np.ones(6),
        ok=np.array([1, 3, 2, 5, 4, 6], dtype=float),
    )
    table = correlate(frame, "val_auc", predictors).set_index("proxy")
    assert np.isnan(table.loc["all_nan", "spearman_rho"])
    assert table.loc["all_nan", "note"] == "all scores NaN"
    assert np.isnan(table.loc["constant", "spearman_rho"])
    assert "scores are constant" in table.loc["constant", "note"]
    assert np.isnan(table.loc["constant", "p_value"])
    assert np.isfinite(table.loc["ok", "spearman_rho"])

    flat, flat_predictors = _table(np.full(6, 0.5), ok=np.arange(6.0))
    row = correlate(flat, "val_auc", flat_predictors).iloc[0]
    assert np.isnan(row["spearman_rho"]) and row["note"] == "metric is constant"

    tiny, tiny_predictors = _table([0.1, 0.2], ok=[1.0, 2.0])
    row = correlate(tiny, "val_auc", tiny_predictors).iloc[0]
    assert np.isnan(row["spearman_rho"]) and "fewer than 3" in row["note"]


def test_resampled_statistic_equals_scipy_on_given_resamples():
    rng = np.random.default_rng(5)
    for n in (25, COUNTING_MIN_N + 50):  # sorting path and counting path
        y = np.round(rng.normal(size=n), 1)
        x = np.vstack([np.round(y + rng.normal(size=n), 1), rng.normal(size=n)])
        x[0, :3] = -np.inf  # NaN ranked last
        statistic = BootstrapSpearman(y, x)
        indices = rng.integers(0, n, size=(3, n))
        jackknife = np.delete(np.arange(n), 4)[np.newaxis]  # BCa calls with n - 1
        for resample in [*indices, jackknife[0]]:
            got = statistic(resample[np.newaxis])[:, 0]
            want = [stats.spearmanr(row[resample], y[resample]).statistic for row in x]
            np.testing.assert_allclose(got, want, atol=1e-9)
        assert statistic(np.arange(n)).shape == (2,)


def test_permuted_statistic_equals_scipy():
    rng = np.random.default_rng(6)
    y = stats.rankdata(np.round(rng.normal(size=30), 1))
    x = stats.rankdata(rng.normal(size=(2, 30)), axis=-1)
    statistic = PermutedSpearman(y, x)
    permutation = rng.permutation(30)
    got = statistic(y[permutation])
    want = [stats.spearmanr(row, y[permutation]).statistic for row in x]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_exact_permutation_p_value_by_enumeration():
    y = np.array([0.61, 0.72, 0.55, 0.80, 0.70, 0.66])
    x = np.array([3.0, 5.0, 1.0, 4.0, 6.0, 2.0])
    frame, predictors = _table(y, x=x)
    row = correlate(frame, "val_auc", predictors, settings=ResamplingSettings(bootstrap=0))
    observed = stats.spearmanr(x, y).statistic
    null = np.array(
        [stats.spearmanr(x, y[list(p)]).statistic for p in itertools.permutations(range(6))]
    )
    eps = 1e-12
    p_less = np.mean(null <= observed + eps)
    p_greater = np.mean(null >= observed - eps)
    assert row["p_value"].iloc[0] == pytest.approx(min(1.0, 2 * min(p_less, p_greater)))


def test_strong_correlation_gets_smallest_possible_p():
    rng = np.random.default_rng(7)
    y = rng.normal(size=200)
    frame, predictors = _table(y, x=y + 0.1 * rng.normal(size=200))
    settings = ResamplingSettings(bootstrap=0, permutations=499)
    row = correlate(frame, "val_auc", predictors, settings=settings).iloc[0]
    # Two-sided: twice the one-sided (count + 1) / (permutations + 1) with a count of zero.
    assert row["p_value"] == pytest.approx(2 / 500)


def test_bootstrap_interval_covers_true_rho_about_95_percent():
    # Bivariate normal with Pearson r: Spearman's population rho is (6 / pi) asin(r / 2).
    r = 0.5
    true_rho = 6 / np.pi * np.arcsin(r / 2)
    rng = np.random.default_rng(8)
    covered = []
    for repeat in range(80):
        z = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=50)
        frame, predictors = _table(z[:, 1], x=z[:, 0])
        settings = ResamplingSettings(bootstrap=500, permutations=0, seed=repeat)
        row = correlate(frame, "val_auc", predictors, settings=settings).iloc[0]
        assert row["ci_method"] == "BCa"
        assert row["spearman_lo"] <= row["spearman_rho"] <= row["spearman_hi"]
        covered.append(row["spearman_lo"] <= true_rho <= row["spearman_hi"])
    assert 0.86 <= np.mean(covered) <= 1.0


def test_percentile_above_bca_limit_and_seed_reproducibility():
    rng = np.random.default_rng(9)
    n = BCA_MAX_N + 1
    y = rng.normal(size=n)
    frame, predictors = _table(y, x=y + rng.normal(size=n))
    settings = ResamplingSettings(bootstrap=200, permutations=99, seed=3)
    first = correlate(frame, "val_auc", predictors, settings=settings).iloc[0]
    assert first["ci_method"] == "percentile"
    assert "BCa only up to" in first["note"]
    again = correlate(frame, "val_auc", predictors, settings=settings).iloc[0]
    assert again["spearman_lo"] == first["spearman_lo"]
    assert again["p_value"] == first["p_value"]


def test_holm_by_hand():
    adjusted = holm(np.array([0.01, 0.04, 0.03, 0.005, np.nan]))
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])
    assert holm(np.array([0.5, 0.9])).tolist() == [1.0, 1.0]


def test_partial_spearman_equals_first_order_partial_formula():
    rng = np.random.default_rng(10)
    z = rng.lognormal(size=60)
    x = np.log(z) + rng.normal(size=60)
    y = np.log(z) + 0.5 * x + rng.normal(size=60)
    r_xy = stats.spearmanr(x, y).statistic
    r_xz = stats.spearmanr(x, z).statistic
    r_yz = stats.spearmanr(y, z).statistic
    expected = (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2))
    assert partial_spearman(x, y, np.log(z)) == pytest.approx(expected, abs=1e-10)
    assert np.isnan(partial_spearman(z * 3, y, np.log(z)))


def test_partial_rho_in_table_and_conditioning_variable():
    rng = np.random.default_rng(11)
    params = rng.lognormal(10, 1, size=40)
    y = np.log(params) + rng.normal(size=40)
    frame = pd.DataFrame({"val_auc": y, "params": params, "x": params * 2})
    predictors = [Predictor("x", "x", "proxy"), Predictor("params", "params", "baseline")]
    table = correlate(frame, "val_auc", predictors, settings=NO_RESAMPLING).set_index("proxy")
    assert np.isnan(table.loc["x", "partial_rho"])  # x is params in disguise
    assert "explained by params" in table.loc["x", "note"]
    assert "conditioning variable" in table.loc["params", "note"]
