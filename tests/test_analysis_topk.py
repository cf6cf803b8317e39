"""Top-k overlap with hand-computed answers, ties and NaN scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.prepare import Predictor
from analysis.topk import top_membership, top_set_size, topk_overlap, topk_table


def test_top_set_size_rounds_half_up_with_minimum_one():
    assert top_set_size(29, 0.05) == 1
    assert top_set_size(29, 0.10) == 3
    assert top_set_size(25, 0.10) == 3
    assert top_set_size(29, 0.25) == 7
    assert top_set_size(5, 0.05) == 1


def test_ties_at_the_cut_share_places():
    weights = top_membership(np.array([5.0, 4.0, 4.0, 4.0, 1.0]), 2)
    np.testing.assert_allclose(weights, [1, 1 / 3, 1 / 3, 1 / 3, 0])
    assert weights.sum() == pytest.approx(2)


def test_overlap_perfect_reversed_and_partial():
    target = np.arange(20, dtype=float)
    assert topk_overlap(target * 2, target, 0.25) == (5, 5.0)
    assert topk_overlap(-target, target, 0.25) == (5, 0.0)
    scores = target.copy()
    scores[19] = -1.0  # the best architecture is scored worst
    assert topk_overlap(scores, target, 0.25) == (5, 4.0)
    # A constant score ties everything: expected overlap = size * size / n.
    assert topk_overlap(np.ones(20), target, 0.25)[1] == pytest.approx(5 * 5 / 20)


def test_table_with_nan_scores():
    target = np.arange(10, dtype=float)
    scores = target.copy()
    scores[9] = np.nan  # the best is not scored
    frame = pd.DataFrame({"val_auc": target, "x": scores, "none": np.nan})
    predictors = [Predictor("x", "x", "proxy"), Predictor("none", "none", "proxy")]
    last = topk_table(frame, "val_auc", predictors, fractions=[0.2])
    row = last.set_index("proxy").loc["x"]
    assert (row["n"], row["size"], row["overlap"]) == (10, 2, 1.0)
    assert row["recovered"] == pytest.approx(0.5) and row["chance"] == pytest.approx(0.2)
    assert np.isnan(last.set_index("proxy").loc["none", "overlap"])
    omit = topk_table(frame, "val_auc", predictors, nan_policy="omit", fractions=[0.2])
    row = omit.set_index("proxy").loc["x"]
    assert (row["n"], row["size"], row["overlap"]) == (9, 2, 2.0)


def test_two_architectures_have_no_overlap_only_a_chance_level():
    frame = pd.DataFrame({"val_auc": [0.6, 0.9], "x": [1.0, 2.0]})
    table = topk_table(frame, "val_auc", [Predictor("x", "x", "proxy")], fractions=[0.1])
    row = table.iloc[0]
    assert (row["n"], row["size"]) == (2, 1)
    assert np.isnan(row["overlap"]) and np.isnan(row["recovered"])
    assert row["chance"] == pytest.approx(0.5)
    three = pd.DataFrame({"val_auc": [0.6, 0.9, 0.7], "x": [1.0, 2.0, 0.5]})
    row = topk_table(three, "val_auc", [Predictor("x", "x", "proxy")], fractions=[0.1]).iloc[0]
    assert row["recovered"] == pytest.approx(1.0)
