"""Timing summaries and time shares against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.timing import time_shares, timing_table


def _rows() -> pd.DataFrame:
    start = pd.Timestamp("2025-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "study": "s",
            "status": ["ok", "ok", "ok", "ok", "failed", "ok"],
            "repeat_of": [None, None, None, None, None, "t0"],
            "train_s": [100.0, 200.0, 300.0, 400.0, 50.0, 100.0],
            "zc_a_s": [1.0, 2.0, 3.0, 4.0, 5.0, 1.0],
            "zc_a_status": "ok",
            "zc_a": 0.0,
            "started_at": [start + pd.Timedelta(seconds=1000 * i) for i in range(6)],
            "finished_at": [start + pd.Timedelta(seconds=1000 * i + 500) for i in range(6)],
        }
    )


def test_timing_table_by_hand():
    table = timing_table(_rows(), ["a"]).set_index("name")
    proxy = table.loc["a"]
    # The reused row (repeat_of set) is excluded; the failed trial's proxy time counts.
    assert proxy["n"] == 5
    assert proxy["median_s"] == pytest.approx(3.0)
    assert proxy["mean_s"] == pytest.approx(3.0)
    assert proxy["p95_s"] == pytest.approx(4.8)  # linear interpolation at 0.95 * 4 = 3.8
    assert proxy["total_s"] == pytest.approx(15.0)
    training = table.loc["training"]
    # Statistics over finished trials; the total includes the failed one.
    assert training["n"] == 4 and training["median_s"] == pytest.approx(250.0)
    assert training["total_s"] == pytest.approx(1050.0)
    assert proxy["speedup"] == pytest.approx(250.0 / 3.0)
    assert np.isnan(training["speedup"])
    assert "vote" not in table.index  # its members are absent


def test_vote_cost_is_the_sum_of_its_members():
    rows = _rows()
    for name, seconds in [("synflow", 0.5), ("jacob_cov", 1.0), ("snip", 2.0)]:
        rows[f"zc_{name}_s"] = seconds
    table = timing_table(rows, ["a", "jacob_cov", "snip", "synflow"]).set_index("name")
    assert table.loc["vote", "median_s"] == pytest.approx(3.5)


def test_time_shares_by_hand():
    shares = time_shares(_rows(), ["a"]).iloc[0]
    assert shares["trials"] == 5
    assert shares["proxy_s"] == pytest.approx(15.0)
    assert shares["train_s"] == pytest.approx(1050.0)
    assert shares["trial_s"] == pytest.approx(2500.0)
    assert shares["proxy_share"] == pytest.approx(15 / 2500)
    assert shares["train_share"] == pytest.approx(1050 / 2500)
    assert shares["other_share"] == pytest.approx(1 - 1065 / 2500)
    assert shares["wall_s"] == pytest.approx(4500.0)


def test_time_shares_without_timestamps_are_nan():
    rows = _rows().drop(columns=["started_at", "finished_at"])
    shares = time_shares(rows, ["a"]).iloc[0]
    assert np.isnan(shares["proxy_share"]) and np.isnan(shares["wall_s"])
