"""The majority vote on hand-made tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis.voting as voting
from analysis.prepare import Predictor
from analysis.voting import COPELAND_PREDICTOR, evaluate_vote

MEMBERS = [Predictor(name, f"zc_{name}", "proxy") for name in ("synflow", "jacob_cov", "snip")]


def _table(scores: dict[str, tuple[float, float, float]], metric: dict[str, float]):
    rows = []
    for key, (a, b, c) in scores.items():
        rows.append(
            {
                "arch_key": key,
                "zc_synflow": a,
                "zc_jacob_cov": b,
                "zc_snip": c,
                "val_auc": metric[key],
            }
        )
    return pd.DataFrame(rows)


def test_pairwise_accuracy_and_copeland_by_hand():
    # Majority order A > B = D > C; true order A > C > D > B.
    # Unordered pairs: A-B, A-C, A-D right in both orders (6 of 6); B-C wrong both ways;
    # C-D wrong both ways; B-D tie on every member: "no" both ways, right for (B, D)
    # since B < D, wrong for (D, B). Correct: 7 of 12 ordered pairs.
    table = _table(
        {"A": (3, 3, 3), "B": (2, 2, 2), "C": (1, 1, 1), "D": (2, 2, 2)},
        {"A": 0.9, "B": 0.6, "C": 0.8, "D": 0.7},
    )
    result = evaluate_vote(table, "val_auc", MEMBERS)
    assert result.pairwise_accuracy == pytest.approx(7 / 12)
    copeland = dict(zip(table["arch_key"], result.architectures["vote_copeland"], strict=True))
    assert copeland == {"A": 3, "B": 1, "C": 0, "D": 1}
    # A single member's pairwise accuracy uses the same rule (majority of one).
    assert result.predictor_accuracy["synflow"] == pytest.approx(7 / 12)


def test_majority_not_average():
    # synflow's huge magnitude would dominate an average; the 2-of-3 majority ignores it.
    table = _table(
        {"A": (1e40, 1, 1), "B": (1e10, 2, 2), "C": (1e5, 3, 3)},
        {"A": 0.1, "B": 0.2, "C": 0.3},
    )
    result = evaluate_vote(table, "val_auc", MEMBERS)
    assert result.pairwise_accuracy == pytest.approx(1.0)
    assert result.architectures["vote_copeland"].tolist() == [0, 1, 2]


def test_nan_member_ranked_last_or_omitted():
    # A's snip is NaN. Ranked last, it loses snip to every finite score: B beats A on
    # jacob_cov and snip (2 of 3); A still beats C on synflow and jacob_cov. Ranked first
    # instead, A would beat B (synflow, snip), so the counts tell the policies apart.
    table = _table(
        {"A": (3, 1, np.nan), "B": (2, 2, 2), "C": (1, 0, 1)},
        {"A": 0.7, "B": 0.9, "C": 0.5},
    )
    last = evaluate_vote(table, "val_auc", MEMBERS, nan_policy="rank-last")
    assert last.architectures["vote_copeland"].tolist() == [1, 2, 0]
    assert last.pairwise_accuracy == pytest.approx(1.0)
    omit = evaluate_vote(table, "val_auc", MEMBERS, nan_policy="omit")
    copeland = omit.architectures["vote_copeland"].to_numpy()
    assert np.isnan(copeland[0]) and copeland[1:].tolist() == [1, 0]


def test_missing_member_makes_vote_undefined():
    table = _table({"A": (1, 2, 3), "B": (2, 3, 4), "C": (0, 1, 1)}, {"A": 1, "B": 2, "C": 0})
    result = evaluate_vote(table, "val_auc", MEMBERS[:2])
    assert np.isnan(result.pairwise_accuracy)
    assert result.missing == ("snip",)
    assert result.architectures[COPELAND_PREDICTOR.column].isna().all()
    assert "snip" in result.note


def test_large_sets_use_a_stated_subsample(monkeypatch):
    monkeypatch.setattr(voting, "MAX_VOTE_ARCHITECTURES", 50)
    rng = np.random.default_rng(0)
    n = 80
    table = pd.DataFrame(
        {
            "arch_key": [f"a{i}" for i in range(n)],
            "zc_synflow": rng.normal(size=n),
            "zc_jacob_cov": rng.normal(size=n),
            "zc_snip": rng.normal(size=n),
            "val_auc": rng.normal(size=n),
        }
    )
    result = evaluate_vote(table, "val_auc", MEMBERS, seed=1)
    assert len(result.architectures) == 50 and result.subsampled
    assert "subsample of 50 of 80" in result.note
    assert result.architectures["arch_key"].is_unique


def test_pairwise_accuracy_needs_three_architectures():
    # One pair decides everything at n=2 (accuracy 0 or 1): undefined, like rho.
    table = _table({"A": (1, 2, 3), "B": (2, 3, 4)}, {"A": 0.1, "B": 0.2})
    result = evaluate_vote(table, "val_auc", MEMBERS)
    assert np.isnan(result.pairwise_accuracy)
    assert all(np.isnan(value) for value in result.predictor_accuracy.values())
    assert result.accuracy_note == "fewer than 3 architectures (n=2)"
    assert "pairwise accuracy undefined: fewer than 3 architectures (n=2)" in result.note
    three = _table(
        {"A": (1, 2, 3), "B": (2, 3, 4), "C": (3, 4, 5)}, {"A": 0.1, "B": 0.2, "C": 0.3}
    )
    assert evaluate_vote(three, "val_auc", MEMBERS).pairwise_accuracy == pytest.approx(1.0)


def test_omitted_architectures_do_not_count_towards_the_minimum():
    table = _table(
        {"A": (1, 2, 3), "B": (2, 3, 4), "C": (np.nan, 1, 1)}, {"A": 0.1, "B": 0.2, "C": 0.3}
    )
    omit = evaluate_vote(table, "val_auc", MEMBERS, nan_policy="omit")
    assert np.isnan(omit.pairwise_accuracy) and np.isnan(omit.predictor_accuracy["synflow"])
    assert omit.accuracy_note == "fewer than 3 architectures (n=2)"
    assert omit.predictor_accuracy["snip"] == pytest.approx(2 / 6)
    last = evaluate_vote(table, "val_auc", MEMBERS, nan_policy="rank-last")
    assert np.isfinite(last.pairwise_accuracy) and np.isfinite(last.predictor_accuracy["synflow"])
