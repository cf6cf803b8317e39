"""vote: Copeland counts and pairwise accuracy against a brute-force double loop."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from zero_cost import ProxyWarning, vote_copeland, vote_pairwise_accuracy

MEMBERS = ("synflow", "jacob_cov", "snip")


def brute_beats(row_i: np.ndarray, row_j: np.ndarray, policy: str) -> bool:
    if policy == "omit" and (np.isnan(row_i).any() or np.isnan(row_j).any()):
        return False
    votes = sum(1 for a, b in zip(row_i, row_j, strict=True) if a > b)  # NaN compares False
    return 2 * votes >= len(row_i)


def brute_force(table: pd.DataFrame, target: np.ndarray, policy: str) -> tuple[list, float]:
    scores = table[list(MEMBERS)].to_numpy(float).copy()
    scores[~np.isfinite(scores)] = np.nan  # +-inf counts as missing, like NaN
    taking_part = [
        (not np.isnan(r).any()) if policy == "omit" else (not np.isnan(r).all()) for r in scores
    ]
    n = len(scores)
    copeland = []
    for i in range(n):
        if not taking_part[i]:
            copeland.append(math.nan)
            continue
        wins = sum(
            1
            for j in range(n)
            if j != i and taking_part[j] and brute_beats(scores[i], scores[j], policy)
        )
        copeland.append(wins)
    correct = pairs = 0
    for i in range(n):
        for j in range(n):
            if i == j or not (taking_part[i] and taking_part[j]):
                continue
            if np.isnan(target[i]) or np.isnan(target[j]) or target[i] == target[j]:
                continue
            pairs += 1
            correct += brute_beats(scores[i], scores[j], policy) == (target[i] > target[j])
    return copeland, correct / pairs


def random_table(n: int, seed: int, with_nan: bool) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "synflow": 10.0 ** rng.uniform(20, 60, n),
            "jacob_cov": -rng.uniform(30, 1e5, n),
            "snip": rng.integers(0, 5, n).astype(float),  # many ties
        },
        index=[f"arch{i}" for i in range(n)],
    )
    target = rng.integers(0, 6, n).astype(float)  # ties in the target too
    if with_nan:
        table.iloc[2, 0] = np.nan
        table.iloc[5, 1] = np.inf
        table.iloc[7, :] = np.nan
        target[3] = np.nan
    return table, target


@pytest.mark.parametrize("policy", ["no_vote", "omit"])
@pytest.mark.parametrize("with_nan", [False, True])
def test_matches_brute_force(policy: str, with_nan: bool) -> None:
    table, target = random_table(40, seed=3, with_nan=with_nan)
    expected_copeland, expected_accuracy = brute_force(table, target, policy)
    copeland = vote_copeland(table, nan_policy=policy)
    assert copeland.name == "vote"
    assert list(copeland.index) == list(table.index)
    np.testing.assert_array_equal(copeland.to_numpy(), np.array(expected_copeland, float))
    table["val_auc"] = target
    accuracy = vote_pairwise_accuracy(table, "val_auc", nan_policy=policy)
    assert accuracy == pytest.approx(expected_accuracy, abs=1e-12)


def test_small_example_by_hand() -> None:
    table = pd.DataFrame(
        {
            "zc_synflow": [3.0, 2.0, 1.0],
            "zc_jacob_cov": [1.0, 2.0, 3.0],
            "zc_snip": [2.0, 3.0, 1.0],
        }
    )
    # a vs b: synflow a, jacob b, snip b -> b beats a; a vs c: a, c, a -> a; b vs c: b, c, b -> b
    assert vote_copeland(table).tolist() == [1.0, 2.0, 0.0]
    assert vote_copeland(table, members=["synflow"]).tolist() == [2.0, 1.0, 0.0]
    target = pd.Series([0.5, 0.9, 0.1])
    assert vote_pairwise_accuracy(table, target) == 1.0
    assert vote_pairwise_accuracy(table, pd.Series([0.9, 0.5, 0.1])) == pytest.approx(4 / 6)


def test_bare_and_prefixed_columns_agree() -> None:
    table, target = random_table(25, seed=1, with_nan=False)
    prefixed = table.add_prefix("zc_")
    pd.testing.assert_series_equal(vote_copeland(table), vote_copeland(prefixed))
    assert vote_pairwise_accuracy(table, pd.Series(target, index=table.index)) == (
        vote_pairwise_accuracy(prefixed, pd.Series(target, index=table.index))
    )


def test_pairwise_accuracy_is_kendall_like_without_ties() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=60)
    table = pd.DataFrame({m: target + rng.normal(scale=0.1, size=60) for m in MEMBERS})
    table["synflow"] = target  # one member is the target itself
    accuracy = vote_pairwise_accuracy(table, pd.Series(target))
    copeland = vote_copeland(table)
    tau = kendalltau(copeland, target).statistic
    assert accuracy > 0.9
    assert tau > 0.8


def test_average_of_raw_scores_is_not_vote() -> None:
    # synflow dwarfs the others: a raw average ranks by synflow alone, vote does not.
    table = pd.DataFrame(
        {
            "synflow": [1e40, 2e40, 3e40, 4e40],
            "jacob_cov": [-30.0, -40.0, -50.0, -60.0],
            "snip": [40.0, 30.0, 20.0, 10.0],
        }
    )
    raw_mean_order = table.mean(axis=1).rank().tolist()
    assert raw_mean_order == table["synflow"].rank().tolist()
    assert vote_copeland(table).tolist() == [3.0, 2.0, 1.0, 0.0]


def test_thousands_of_architectures_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import zero_cost.vote as vote_module

    table, target = random_table(3000, seed=5, with_nan=False)
    copeland = vote_copeland(table)
    accuracy = vote_pairwise_accuracy(table, pd.Series(target, index=table.index))
    scores = table[list(MEMBERS)].to_numpy()
    for i in (0, 1234, 2999):  # one row at a time, without chunks
        votes = (scores[i] > scores).sum(axis=1)
        assert copeland.iloc[i] == (2 * votes >= 3).sum()
    monkeypatch.setattr(vote_module, "_CHUNK", 97)  # chunk edges must not matter
    pd.testing.assert_series_equal(vote_copeland(table), copeland)
    assert vote_pairwise_accuracy(table, pd.Series(target, index=table.index)) == accuracy


def test_errors_and_undefined_accuracy() -> None:
    table = pd.DataFrame({"synflow": [1.0, 2.0], "snip": [1.0, 2.0], "val_auc": [0.5, 0.5]})
    with pytest.raises(ValueError, match="no column `jacob_cov` or `zc_jacob_cov`"):
        vote_copeland(table)
    with pytest.raises(ValueError, match="nan_policy"):
        vote_copeland(table, members=["synflow"], nan_policy="drop")
    with pytest.raises(ValueError, match="target column `auc`"):
        vote_pairwise_accuracy(table, "auc", members=["synflow", "snip"])
    with pytest.raises(ValueError, match="no value for 1 row"):
        vote_pairwise_accuracy(table, pd.Series([0.1], index=[0]), members=["synflow"])
    with pytest.warns(ProxyWarning, match="no pair"):
        value = vote_pairwise_accuracy(table, "val_auc", members=["synflow", "snip"])
    assert math.isnan(value)
