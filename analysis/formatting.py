"""Number formatting shared by the terminal tables and the Markdown report."""

from __future__ import annotations

import math

MISSING = "—"


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value: float | None, digits: int = 3) -> str:
    """Format a number with fixed decimals; NaN as an em dash."""
    if _is_missing(value):
        return MISSING
    return f"{value:.{digits}f}"


def fmt_interval(lo: float | None, hi: float | None, digits: int = 2) -> str:
    """Format an interval as ``[lo, hi]``; an em dash when either end is NaN."""
    if _is_missing(lo) or _is_missing(hi):
        return MISSING
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def fmt_p(value: float | None) -> str:
    """Format a p-value: three significant digits, scientific below 0.001."""
    if _is_missing(value):
        return MISSING
    if value < 0.001:
        return f"{value:.1e}"
    return f"{value:.3f}"


def fmt_seconds(value: float | None) -> str:
    """Format seconds with a unit that keeps 2-3 significant digits (ms, s, min, h)."""
    if _is_missing(value):
        return MISSING
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def fmt_share(value: float | None) -> str:
    """Format a fraction as a percentage."""
    if _is_missing(value):
        return MISSING
    return f"{100 * value:.1f}%"


def fmt_ratio(value: float | None) -> str:
    """Format a speed-up factor such as ``x1200``."""
    if _is_missing(value) or math.isinf(value):
        return MISSING
    return f"x{value:,.0f}" if value >= 10 else f"x{value:.1f}"
