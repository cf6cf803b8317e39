"""Row selection, exclusion counts, per-architecture aggregation and the noise ceiling."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.correlation import ResamplingSettings
from analysis.diagnostics import AnalysisWarning
from analysis.noise_ceiling import noise_ceiling, repeat_pairs
from analysis.prepare import prepare


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study": "s",
            "trial_id": [f"t{i}" for i in range(8)],
            "arch_key": ["a", "a", "b", "c", "d", "e", "a", "f"],
            "status": ["ok", "ok", "ok", "failed", "pruned", "ok", "ok", "ok"],
            "val_auc": [0.6, 0.8, 0.5, np.nan, 0.55, np.nan, 0.7, 0.9],
            "seed": [0, 1, 0, 0, 0, 0, 0, 0],
            "repeat_of": [None, None, None, None, None, None, "t0", None],
            "zc_snip": [1.0, 3.0, 2.0, 9.0, 9.0, 9.0, 1.0, np.nan],
            "zc_snip_status": ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "nan"],
            "zc_aux": 1.0,  # no status partner: auxiliary, not a proxy
            "params": [10, 10, 20, 30, 40, 50, 10, 60],
        }
    )


def test_exclusions_aggregation_and_reuse():
    prepared = prepare(_rows(), "val_auc")
    reasons = dict(zip(prepared.exclusions["reason"], prepared.exclusions["rows"], strict=True))
    assert reasons == {
        "used": 4,
        "status failed": 1,
        "status pruned": 1,
        "status ok, val_auc not finite": 1,
        "reused result (repeat_of set)": 1,
    }
    assert prepared.proxies == ["snip"]
    assert [p.name for p in prepared.predictors] == ["snip", "params"]
    table = prepared.architectures.set_index("arch_key")
    assert list(table.index) == ["a", "b", "f"]
    # a: two independent seeds (0.6, 0.8) averaged; the reused copy of t0 is not counted.
    assert table.loc["a", "val_auc"] == pytest.approx(0.7)
    assert table.loc["a", "n_runs"] == 2
    assert table.loc["a", "zc_snip"] == pytest.approx(2.0)
    assert np.isnan(table.loc["f", "zc_snip"])
    assert len(prepared.runs) == 4  # a (2 seeds), b, f


def test_failed_proxy_status_masks_the_score():
    rows = _rows()
    rows.loc[2, "zc_snip_status"] = "failed"
    table = prepare(rows, "val_auc").architectures.set_index("arch_key")
    assert np.isnan(table.loc["b", "zc_snip"])


def test_architecture_known_only_from_a_reused_row_is_kept_once():
    rows = _rows()
    rows.loc[6, "arch_key"] = "z"
    table = prepare(rows, "val_auc").architectures.set_index("arch_key")
    assert table.loc["z", "n_runs"] == 1 and table.loc["z", "val_auc"] == pytest.approx(0.7)


def test_bad_metric_and_no_usable_rows():
    rows = _rows()
    with pytest.raises(ValueError, match="metric column `val_loss` is not in the results"):
        prepare(rows, "val_loss")
    rows["val_text"] = "high"
    with pytest.raises(ValueError, match="`val_text` holds .* expected numbers"):
        prepare(rows, "val_text")
    rows["status"] = "failed"
    with pytest.raises(ValueError, match="no usable rows"):
        prepare(rows, "val_auc")


def test_missing_arch_key_and_several_datasets_warn():
    rows = _rows()
    rows.loc[7, "arch_key"] = None
    rows["dataset"] = ["x"] * 4 + ["y"] * 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = prepare(rows, "val_auc")
    messages = [str(w.message) for w in caught if w.category is AnalysisWarning]
    assert any("no `arch_key`" in m for m in messages)
    assert any("several datasets (x, y)" in m for m in messages)
    assert len(prepared.architectures) == 3


def test_noise_ceiling_pairs_two_lowest_seeds():
    rng = np.random.default_rng(0)
    n = 30
    quality = rng.normal(size=n)
    runs = pd.DataFrame(
        {
            "arch_key": np.repeat([f"k{i}" for i in range(n)], 3),
            "seed": np.tile([2, 0, 1], n),
            "val_auc": np.repeat(quality, 3) + 0.5 * rng.normal(size=3 * n),
        }
    )
    pairs = repeat_pairs(runs, "val_auc")
    assert len(pairs) == n
    assert (pairs["seed_a"] == 0).all() and (pairs["seed_b"] == 1).all()
    a = runs[runs["seed"] == 0]["val_auc"].to_numpy()
    b = runs[runs["seed"] == 1]["val_auc"].to_numpy()
    ceiling = noise_ceiling(runs, "val_auc", ResamplingSettings(bootstrap=300))
    assert ceiling.rho == pytest.approx(stats.spearmanr(a, b).statistic)
    assert ceiling.lo < ceiling.rho < ceiling.hi and ceiling.n == n


def test_noise_ceiling_undefined_without_repeats():
    runs = pd.DataFrame({"arch_key": ["a", "b"], "seed": [0, 0], "val_auc": [0.1, 0.2]})
    ceiling = noise_ceiling(runs, "val_auc")
    assert np.isnan(ceiling.rho) and "no replicated architectures" in ceiling.note
    runs["seed"] = np.nan
    assert "no `seed`" in noise_ceiling(runs, "val_auc").note


def test_noise_ceiling_reasons_in_words():
    runs = pd.DataFrame(
        {
            "arch_key": ["a", "b", "c", "a", "b"],
            "seed": [0, 0, 0, 1, 1],
            "val_auc": [0.1, 0.2, 0.3, 0.15, 0.25],
        }
    )
    too_few = noise_ceiling(runs, "val_auc")
    assert np.isnan(too_few.rho) and too_few.n == 2
    assert too_few.note == (
        "too few replicated architectures (2) to estimate the noise ceiling; "
        "run with --replicate K, K >= 3"
    )
    none = noise_ceiling(runs[runs["seed"] == 0], "val_auc")
    assert (
        none.n == 0
        and none.note == "no replicated architectures (run the study with --replicate K)"
    )
    three = pd.concat([runs, pd.DataFrame({"arch_key": ["c"], "seed": [1], "val_auc": [0.2]})])
    ceiling = noise_ceiling(three, "val_auc", ResamplingSettings(bootstrap=200))
    assert np.isfinite(ceiling.rho) and np.isnan(ceiling.lo) and np.isnan(ceiling.hi)
    assert ceiling.interval_note == (
        "no interval: too few replicated architectures for the bootstrap"
    )
    assert "interval" not in ceiling.note  # the reason is in interval_note, once
    off = noise_ceiling(three, "val_auc", ResamplingSettings(bootstrap=0))
    assert off.interval_note == "no interval: bootstrap disabled by --bootstrap 0"
