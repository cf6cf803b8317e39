"""vote: Abdelfattah et al.'s majority vote of synflow, jacob_cov and snip.

Abdelfattah, Mehrotra, Dudziak & Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, §5
("vote"), as evaluated in zero-cost-nas ``notebooks/nasbench201_correlations.ipynb``
(zero_cost_proxies.md §3.1). Vote is **population-level**: it compares architectures, so it is
not a per-network proxy and is not in the proxy registry.

* For an ordered pair (i, j) of architectures, member m votes "i better" when
  m(i) > m(j) (an exact tie is a "no" vote); i beats j when at least half of the members vote
  so (2 of 3). Members are all oriented higher = better; no sign is flipped.
* :func:`vote_pairwise_accuracy` is the published number: over ordered pairs whose target
  values differ, the fraction where "i beats j" equals "target(i) > target(j)". It is a pairwise
  ranking accuracy (about (1 + Kendall tau) / 2), **not** a Spearman rho: NB201 CIFAR-10 gives
  0.817 against 0.737 for synflow alone.
* :func:`vote_copeland` is a per-architecture score consistent with the pairwise vote: the
  number of other architectures it beats. It can be Spearman-correlated with a target.

The average of raw member scores is **not** vote: the magnitudes differ by 30+ orders
(synflow ~1e30-1e60, jacob_cov ~ -N to -1e5, snip ~1e0-1e3), so a raw average is synflow alone.

NaN handling (``nan_policy``; an infinite member score counts as NaN):

* ``"no_vote"`` (default): a member that is NaN for either architecture of a pair casts no vote
  in either direction (as a tie); the other members still decide. Architectures whose members
  are all NaN get a NaN Copeland count and take part in no pair.
* ``"omit"``: architectures with any NaN member get a NaN Copeland count and take part in no
  pair.

Rows with a NaN target are left out of the pairwise accuracy. Both functions are vectorised
with numpy in row chunks (memory O(chunk * n * members)).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from zero_cost.exceptions import ProxyWarning

logger = logging.getLogger(__name__)

VOTE_MEMBERS = ("synflow", "jacob_cov", "snip")
NAN_POLICIES = ("no_vote", "omit")
_CHUNK = 512


def _column(table: pd.DataFrame, name: str) -> str:
    """Resolve a bare proxy name or a ``zc_`` column to a column of ``table``."""
    for candidate in (name, f"zc_{name}"):
        if candidate in table.columns:
            return candidate
    available = [c for c in table.columns if str(c).startswith("zc_")] or list(table.columns)
    listing = ", ".join(map(str, available))
    raise ValueError(f"no column `{name}` or `zc_{name}` in the table; available: {listing}")


def _member_matrix(
    table: pd.DataFrame, members: Sequence[str], nan_policy: str
) -> tuple[np.ndarray, np.ndarray]:
    """Member scores (n, M) float64 and the mask of architectures that take part (n,)."""
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"unknown nan_policy `{nan_policy}`; valid: {', '.join(NAN_POLICIES)}")
    if len(members) == 0:
        raise ValueError("vote needs at least one member proxy")
    columns = [_column(table, m) for m in members]
    try:
        scores = table[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"vote members {columns} must be numeric columns: {exc}") from exc
    finite = np.isfinite(scores)
    scores = np.where(finite, scores, np.nan)
    active = finite.all(axis=1) if nan_policy == "omit" else finite.any(axis=1)
    return scores, active


def _beats(scores: np.ndarray, rows: slice) -> np.ndarray:
    """Boolean (rows, n): architecture i (in ``rows``) beats j by majority."""
    block = scores[rows]
    with np.errstate(invalid="ignore"):
        votes = (block[:, None, :] > scores[None, :, :]).sum(axis=2)
    return 2 * votes >= scores.shape[1]


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def vote_copeland(
    table: pd.DataFrame,
    members: Sequence[str] = VOTE_MEMBERS,
    *,
    nan_policy: str = "no_vote",
) -> pd.Series:
    """Per-architecture Copeland count of the majority vote.

    Args:
        table: One row per architecture; member columns as bare names (``synflow``) or
            ``zc_`` columns (``zc_synflow``).
        members: Member proxies (default: synflow, jacob_cov, snip).
        nan_policy: ``no_vote`` or ``omit`` (see the module docstring).

    Returns:
        Series named ``vote`` on ``table.index``: how many other (taking part) architectures
        each one beats by majority; NaN for architectures that take no part.

    Raises:
        ValueError: For a missing or non-numeric member column or an unknown policy.
    """
    scores, active = _member_matrix(table, members, nan_policy)
    scores = np.where(active[:, None], scores, np.nan)
    wins = np.zeros(len(table), dtype=np.float64)
    for rows in _chunks(len(table), _CHUNK):
        beats = _beats(scores, rows) & active[None, :]
        wins[rows] = beats.sum(axis=1)
    wins[~active] = np.nan
    return pd.Series(wins, index=table.index, name="vote")


def vote_pairwise_accuracy(
    table: pd.DataFrame,
    target: str | pd.Series,
    members: Sequence[str] = VOTE_MEMBERS,
    *,
    nan_policy: str = "no_vote",
) -> float:
    """Fraction of ordered architecture pairs whose majority vote matches the target's order.

    Over ordered pairs (i, j) of taking-part architectures with finite, different target values,
    the prediction "i beats j" is correct when target(i) > target(j), and "i does not beat j" is
    correct when target(i) < target(j).

    Args:
        table: One row per architecture (see :func:`vote_copeland`).
        target: A column of ``table`` (e.g. ``val_auc``) or a Series aligned on ``table.index``.
        members: Member proxies.
        nan_policy: ``no_vote`` or ``omit``.

    Returns:
        The accuracy in [0, 1]; NaN with a :class:`ProxyWarning` when no pair qualifies.

    Raises:
        ValueError: For missing columns, a target Series that does not cover the table's index,
            or an unknown policy.
    """
    scores, active = _member_matrix(table, members, nan_policy)
    truth = _target_values(table, target)
    keep = active & np.isfinite(truth)
    scores, truth = scores[keep], truth[keep]
    correct = 0
    pairs = 0
    for rows in _chunks(len(truth), _CHUNK):
        beats = _beats(scores, rows)
        better = truth[rows, None] > truth[None, :]
        differ = truth[rows, None] != truth[None, :]
        correct += int(((beats == better) & differ).sum())
        pairs += int(differ.sum())
    if pairs == 0:
        warnings.warn(
            "vote_pairwise_accuracy: no pair of architectures with different, finite targets "
            "and member scores",
            ProxyWarning,
            stacklevel=2,
        )
        return math.nan
    return correct / pairs


def _target_values(table: pd.DataFrame, target: str | pd.Series) -> np.ndarray:
    if isinstance(target, str):
        if target not in table.columns:
            raise ValueError(f"target column `{target}` is not in the table")
        series = table[target]
    else:
        missing = table.index.difference(target.index)
        if len(missing):
            raise ValueError(
                f"the target Series has no value for {len(missing)} row(s) of the table, "
                f"e.g. index {missing[0]!r}"
            )
        series = target.loc[table.index]
    try:
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the target must be numeric: {exc}") from exc
