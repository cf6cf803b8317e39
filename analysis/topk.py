"""Top-k overlap: how many of the truly best k% a predictor puts in its own top k%.

For a fraction f, the top set holds ``size = max(1, round(f * n))`` architectures (n after the
NaN policy). The overlap is the number of architectures in both the metric's and the
predictor's top set, reported as a count and as ``overlap / size`` (the share of the truly
best that the predictor recovers; a random ranking recovers ``size / n`` on average).

Ties at the cut make "the top set" ambiguous. Architectures tied at the boundary share the
remaining places equally (membership weight ``places left / tied``), so the overlap is the
expected overlap when ties are broken at random, independently for the metric and the
predictor. NaN scores ranked last (policy ``rank-last``) are never in the predictor's top
set unless there are not enough finite scores to fill it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.correlation import MIN_ARCHITECTURES
from analysis.prepare import Predictor
from analysis.ranking import apply_nan_policy

#: Fractions of architectures reported (5%, 10%, 25%).
TOP_FRACTIONS: tuple[float, ...] = (0.05, 0.10, 0.25)


def top_set_size(n: int, fraction: float) -> int:
    """Return the size of the top ``fraction`` of ``n`` architectures (at least 1).

    Halves round up, so 10% of 25 architectures is 3 (2.5 rounded up).
    """
    return max(1, int(np.floor(fraction * n + 0.5)))


def top_membership(values: np.ndarray, size: int) -> np.ndarray:
    """Return each item's membership weight in the top ``size`` by value (highest first).

    Args:
        values: Shape (n,), no NaN (-inf allowed, ranks lowest).
        size: Number of places, 1 <= size <= n.

    Returns:
        Weights in [0, 1], shape (n,), summing to ``size``: 1 for items strictly inside the
        top set, ``places left / tied`` for items tied at the cut, 0 otherwise.
    """
    values = np.asarray(values, dtype=float)
    cut = np.sort(values)[::-1][size - 1]
    above = values > cut
    at_cut = values == cut
    weights = above.astype(float)
    weights[at_cut] = (size - above.sum()) / at_cut.sum()
    return weights


def topk_overlap(scores: np.ndarray, target: np.ndarray, fraction: float) -> tuple[int, float]:
    """Return the top-set size and the (expected) number of shared architectures.

    Args:
        scores: Predictor values, shape (n,), no NaN.
        target: Metric values, shape (n,).
        fraction: Top fraction, e.g. 0.1.

    Returns:
        ``(size, overlap)`` where ``overlap`` is in [0, size].
    """
    size = top_set_size(len(target), fraction)
    return size, float(np.dot(top_membership(scores, size), top_membership(target, size)))


def topk_table(
    architectures: pd.DataFrame,
    metric: str,
    predictors: Sequence[Predictor],
    *,
    nan_policy: str = "rank-last",
    fractions: Sequence[float] = TOP_FRACTIONS,
) -> pd.DataFrame:
    """Top-k overlap of every predictor for every fraction.

    Args:
        architectures: One row per architecture with ``metric`` and predictor columns.
        metric: Target column, higher is better.
        predictors: Predictors to evaluate.
        nan_policy: ``"rank-last"`` or ``"omit"``.
        fractions: Top fractions.

    Returns:
        Long table with ``proxy``, ``fraction``, ``n``, ``size``, ``overlap`` (expected count),
        ``recovered`` (overlap / size) and ``chance`` (size / n); ``overlap`` and
        ``recovered`` are NaN below ``MIN_ARCHITECTURES`` (the rule of rho and the pairwise
        accuracy: with one or two architectures the overlap can only be all or nothing).
    """
    target = architectures[metric].to_numpy(dtype=float)
    rows = []
    for predictor in predictors:
        raw = architectures[predictor.column].to_numpy(dtype=float)
        effective, kept = apply_nan_policy(raw, nan_policy)
        n = int(kept.sum())
        undefined = n < MIN_ARCHITECTURES or np.isneginf(effective[kept]).all()
        for fraction in fractions:
            if undefined:
                size, overlap = (top_set_size(n, fraction) if n else 0), np.nan
            else:
                size, overlap = topk_overlap(effective[kept], target[kept], fraction)
            rows.append(
                {
                    "proxy": predictor.name,
                    "fraction": fraction,
                    "n": n,
                    "size": size,
                    "overlap": overlap,
                    "recovered": overlap / size if size else np.nan,
                    "chance": size / n if n else np.nan,
                }
            )
    return pd.DataFrame(rows)
