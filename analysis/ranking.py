"""Ranks and the NaN policies that decide where missing scores go.

A proxy that fails on an architecture yields NaN (or +-inf, treated the same). Two policies,
chosen by name, say what happens to such architectures; both are stated in every output:

``rank-last``
    The architecture is kept and its score ranks below every finite score (all failures tie
    for the lowest rank). This is the default: a proxy that cannot score an architecture is
    judged as if it had called it the worst, which is what a search using the proxy would do.
``omit``
    The architecture is left out of that proxy's statistics, so ``n`` differs between proxies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

NanPolicy = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _rank_last(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep every row; missing scores become -inf (the lowest rank, tied)."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values), values, -np.inf), np.ones(values.shape, dtype=bool)


def _omit(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only rows with a finite score."""
    values = np.asarray(values, dtype=float)
    return values, np.isfinite(values)


#: NaN policy name -> function ``values -> (effective values, rows kept)``.
NAN_POLICIES: dict[str, NanPolicy] = {"rank-last": _rank_last, "omit": _omit}

NAN_POLICY_TEXT: dict[str, str] = {
    "rank-last": "NaN scores are ranked last, tied below every finite score",
    "omit": "architectures with a NaN score are left out of that proxy's statistics",
}


def get_nan_policy(name: str) -> NanPolicy:
    """Return the NaN policy called ``name``.

    Raises:
        ValueError: For an unknown name; the message lists the valid ones.
    """
    try:
        return NAN_POLICIES[name]
    except KeyError:
        raise ValueError(
            f"unknown nan_policy `{name}`; choose one of {', '.join(sorted(NAN_POLICIES))}"
        ) from None


def apply_nan_policy(values: np.ndarray, policy: str) -> tuple[np.ndarray, np.ndarray]:
    """Apply the NaN policy ``policy`` to one column of scores.

    Args:
        values: Scores, shape (n,); NaN and +-inf mark failures.
        policy: A key of :data:`NAN_POLICIES`.

    Returns:
        ``(effective, kept)``: effective scores, shape (n,), to be used where ``kept`` (bool,
        shape (n,)) is true.
    """
    return get_nan_policy(policy)(values)


def midranks(values: np.ndarray) -> np.ndarray:
    """Return tie-averaged ranks (1-based) along the last axis; -inf ranks lowest.

    Args:
        values: Array of shape (..., n) without NaN.

    Returns:
        Float array of the same shape.
    """
    return stats.rankdata(values, method="average", axis=-1)


def is_constant(values: np.ndarray) -> bool:
    """Return True when all values are equal (or there are fewer than two)."""
    values = np.asarray(values)
    return values.size < 2 or bool(np.all(values == values.flat[0]))
