"""Holm's step-down adjustment of p-values for testing many proxies at once.

scipy has no Holm procedure (``scipy.stats.false_discovery_control`` controls the false
discovery rate, not the family-wise error rate) and statsmodels is not a dependency, so it is
written out here; it is a few lines (Holm 1979, Scand. J. Statist. 6:65-70).
"""

from __future__ import annotations

import numpy as np


def holm(p_values: np.ndarray) -> np.ndarray:
    """Return Holm-adjusted p-values; NaN entries stay NaN and are not counted.

    With the m finite p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of
    the i-th (1-based) is ``max_{j <= i} min(1, (m - j + 1) * p_(j))``. Rejecting where the
    adjusted value is below alpha controls the family-wise error rate at alpha.

    Args:
        p_values: Shape (k,).

    Returns:
        Adjusted p-values, shape (k,), in the input order.
    """
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full(p_values.shape, np.nan)
    finite = np.flatnonzero(~np.isnan(p_values))
    m = len(finite)
    if m == 0:
        return adjusted
    order = finite[np.argsort(p_values[finite], kind="stable")]
    scaled = (m - np.arange(m)) * p_values[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted
