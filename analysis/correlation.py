"""Rank correlation of each predictor with the target metric, with uncertainty.

For every predictor (proxy, size baseline, vote) this module reports, on one row:

* ``spearman_rho``: signed, tie-aware Spearman rho (``scipy.stats.spearmanr``);
* ``kendall_tau``: Kendall tau-b (``scipy.stats.kendalltau``, ``variant="b"``);
* ``spearman_lo`` / ``spearman_hi``: a paired bootstrap interval over architectures
  (``scipy.stats.bootstrap``, BCa by default, percentile on request or above
  :data:`BCA_MAX_N` architectures, where BCa's jackknife costs O(n^2) and its corrections
  vanish); the method is stated per row in ``ci_method``;
* ``p_value``: two-sided permutation p-value of rho (``scipy.stats.permutation_test``,
  permuting the target against the predictor; exact when n! <= the permutation count);
* ``p_holm``: Holm's step-down adjustment over every predictor with a p-value;
* ``partial_rho``: partial Spearman rho given log(params) (:func:`partial_spearman`).

An undefined statistic is NaN and the reason is written to ``note``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.multiple_testing import holm
from analysis.prepare import Predictor
from analysis.ranking import apply_nan_policy, is_constant, midranks
from analysis.resampled_spearman import BootstrapSpearman, PermutedSpearman, suggested_batch

logger = logging.getLogger(__name__)

#: Largest number of architectures for which BCa intervals are computed.
BCA_MAX_N = 1000
#: Interval methods accepted by :class:`ResamplingSettings` -> scipy's ``method`` name.
CI_METHODS: dict[str, str] = {"bca": "BCa", "percentile": "percentile"}
#: Column holding the size used by the partial correlation.
CONDITIONING_COLUMN = "params"
#: Fewest architectures for which a correlation is reported.
MIN_ARCHITECTURES = 3

CORRELATION_COLUMNS: list[str] = [
    "proxy",
    "n",
    "n_nan",
    "spearman_rho",
    "spearman_lo",
    "spearman_hi",
    "kendall_tau",
    "p_value",
    "p_holm",
    "partial_rho",
]


@dataclass(frozen=True)
class ResamplingSettings:
    """How intervals and p-values are computed.

    Attributes:
        bootstrap: Bootstrap resamples for the interval (0 disables intervals).
        permutations: Random permutations for the p-value (0 disables p-values).
        ci_method: ``"bca"`` or ``"percentile"``.
        confidence: Confidence level of the interval.
        seed: Seed of the random generator behind resamples and permutations.
    """

    bootstrap: int = 10_000
    permutations: int = 9_999
    ci_method: str = "bca"
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ci_method not in CI_METHODS:
            raise ValueError(
                f"unknown ci_method `{self.ci_method}`; choose one of {', '.join(CI_METHODS)}"
            )
        if self.bootstrap < 0 or self.permutations < 0:
            raise ValueError("`bootstrap` and `permutations` must be >= 0")
        if not 0 < self.confidence < 1:
            raise ValueError(f"`confidence` must lie in (0, 1), got {self.confidence}")


@dataclass
class _Row:
    """Working values for one predictor."""

    predictor: Predictor
    effective: np.ndarray
    kept: np.ndarray
    n_nan: int
    notes: list[str]
    rho: float = np.nan
    tau: float = np.nan
    lo: float = np.nan
    hi: float = np.nan
    ci_method: str = ""
    p_value: float = np.nan
    partial: float = np.nan

    @property
    def valid(self) -> bool:
        return not np.isnan(self.rho)


def correlate(
    architectures: pd.DataFrame,
    metric: str,
    predictors: Sequence[Predictor],
    *,
    nan_policy: str = "rank-last",
    settings: ResamplingSettings | None = None,
) -> pd.DataFrame:
    """Correlate every predictor with ``metric`` over architectures.

    Args:
        architectures: One row per architecture with a finite ``metric`` and one column per
            predictor (NaN = failed score).
        metric: Target column, higher is better.
        predictors: Columns to correlate, in output order.
        nan_policy: ``"rank-last"`` or ``"omit"`` (see :mod:`analysis.ranking`).
        settings: Resampling settings; defaults to :class:`ResamplingSettings()`.

    Returns:
        One row per predictor with :data:`CORRELATION_COLUMNS` plus ``kind``, ``ci_method``
        and ``note``.
    """
    settings = settings or ResamplingSettings()
    target = architectures[metric].to_numpy(dtype=float)
    rows = [_point_estimates(architectures, target, p, nan_policy) for p in predictors]
    rng = np.random.default_rng(settings.seed)
    for group in _groups_by_rows(rows):
        kept = group[0].kept
        _resample(target[kept], [row.effective[kept] for row in group], group, settings, rng)
    conditioning = (
        architectures[CONDITIONING_COLUMN].to_numpy(dtype=float)
        if CONDITIONING_COLUMN in architectures.columns
        else None
    )
    for row in rows:
        if row.valid:
            row.partial = _partial_for(row, target, conditioning)

    p_values = np.array([row.p_value for row in rows], dtype=float)
    return pd.DataFrame(
        {
            "proxy": [row.predictor.name for row in rows],
            "n": [int(row.kept.sum()) for row in rows],
            "n_nan": [row.n_nan for row in rows],
            "spearman_rho": [row.rho for row in rows],
            "spearman_lo": [row.lo for row in rows],
            "spearman_hi": [row.hi for row in rows],
            "kendall_tau": [row.tau for row in rows],
            "p_value": p_values,
            "p_holm": holm(p_values),
            "partial_rho": [row.partial for row in rows],
            "kind": [row.predictor.kind for row in rows],
            "ci_method": [row.ci_method for row in rows],
            "note": ["; ".join(row.notes) for row in rows],
        }
    )


def _point_estimates(
    architectures: pd.DataFrame, target: np.ndarray, predictor: Predictor, nan_policy: str
) -> _Row:
    """Apply the NaN policy and compute rho and tau, or the reason they are undefined."""
    raw = architectures[predictor.column].to_numpy(dtype=float)
    effective, kept = apply_nan_policy(raw, nan_policy)
    n_nan = int((~np.isfinite(raw)).sum())
    row = _Row(predictor, effective, kept, n_nan, notes=[])
    n = int(kept.sum())
    if n_nan == len(raw) and len(raw) > 0:
        row.notes.append("all scores NaN")
    elif n < MIN_ARCHITECTURES:
        row.notes.append(f"fewer than {MIN_ARCHITECTURES} architectures (n={n})")
    elif is_constant(target[kept]):
        row.notes.append("metric is constant")
    elif is_constant(effective[kept]):
        row.notes.append("scores are constant")
    else:
        x, y = effective[kept], target[kept]
        row.rho = float(stats.spearmanr(x, y).statistic)
        row.tau = float(stats.kendalltau(x, y, variant="b").statistic)
    return row


def _groups_by_rows(rows: list[_Row]) -> list[list[_Row]]:
    """Group valid predictors that use the same architectures (resampled together)."""
    groups: dict[bytes, list[_Row]] = {}
    for row in rows:
        if row.valid:
            groups.setdefault(np.packbits(row.kept).tobytes(), []).append(row)
    return list(groups.values())


def _resample(
    target: np.ndarray,
    columns: list[np.ndarray],
    group: list[_Row],
    settings: ResamplingSettings,
    rng: np.random.Generator,
) -> None:
    """Fill the bootstrap interval and permutation p-value of every row in ``group``."""
    n = len(target)
    predictors = np.vstack(columns)
    boot_rng, perm_rng = rng.spawn(2)
    if settings.bootstrap > 0:
        method = settings.ci_method
        if method == "bca" and n > BCA_MAX_N:
            method = "percentile"
        for row in group:
            row.ci_method = CI_METHODS[method]
            if method != settings.ci_method:
                row.notes.append(f"percentile interval (BCa only up to n={BCA_MAX_N})")
        statistic = BootstrapSpearman(target, predictors)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = stats.bootstrap(
                (np.arange(n),),
                statistic,
                n_resamples=settings.bootstrap,
                batch=suggested_batch(len(group), n, settings.bootstrap),
                vectorized=True,
                method=CI_METHODS[method],
                confidence_level=settings.confidence,
                rng=boot_rng,
            )
        low = np.atleast_1d(result.confidence_interval.low)
        high = np.atleast_1d(result.confidence_interval.high)
        for row, lo, hi in zip(group, low, high, strict=True):
            row.lo, row.hi = float(lo), float(hi)
            if np.isnan(lo) or np.isnan(hi):
                row.notes.append(f"interval undefined (constant bootstrap resamples at n={n})")
        for warning in caught:
            logger.debug("bootstrap: %s", warning.message)
    if settings.permutations > 0:
        target_ranks = midranks(target)
        statistic = PermutedSpearman(target_ranks, midranks(predictors))
        result = stats.permutation_test(
            (target_ranks,),
            statistic,
            permutation_type="pairings",
            vectorized=True,
            n_resamples=settings.permutations,
            batch=suggested_batch(len(group), n, settings.permutations),
            rng=perm_rng,
        )
        for row, p in zip(group, np.atleast_1d(result.pvalue), strict=True):
            row.p_value = float(p)


def _partial_for(row: _Row, target: np.ndarray, conditioning: np.ndarray | None) -> float:
    """Partial Spearman of one predictor given log(params), or NaN with a note."""
    if conditioning is None:
        row.notes.append(f"no `{CONDITIONING_COLUMN}` column for the partial rho")
        return np.nan
    if row.predictor.column == CONDITIONING_COLUMN:
        row.notes.append("partial rho not defined for the conditioning variable itself")
        return np.nan
    usable = row.kept & np.isfinite(conditioning) & (conditioning > 0)
    if usable.sum() < MIN_ARCHITECTURES + 1:
        row.notes.append("partial rho needs at least 4 architectures with params")
        return np.nan
    value = partial_spearman(row.effective[usable], target[usable], np.log(conditioning[usable]))
    if np.isnan(value):
        row.notes.append("partial rho undefined (scores explained by params)")
    return value


def partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Partial Spearman correlation of ``x`` and ``y`` given ``z``.

    Each variable is replaced by its tie-averaged ranks; the ranks of ``x`` and of ``y`` are
    each regressed (least squares, with intercept) on the ranks of ``z``, and the Pearson
    correlation of the two residual vectors is returned. For ``z = log(params)`` the ranks are
    those of params, since the logarithm keeps the order.

    Args:
        x: Scores, shape (n,), no NaN (-inf allowed).
        y: Target, shape (n,).
        z: Conditioning variable, shape (n,).

    Returns:
        The partial rank correlation, or NaN when a residual is constant.
    """
    design = np.column_stack([np.ones(len(z)), midranks(z)])

    def residual(values: np.ndarray) -> np.ndarray:
        ranks = midranks(values)
        coefficients, *_ = np.linalg.lstsq(design, ranks, rcond=None)
        return ranks - design @ coefficients

    rx, ry = residual(x), residual(y)
    scale = np.sqrt(np.dot(rx, rx) * np.dot(ry, ry))
    tolerance = 1e-9 * len(x) ** 3
    if scale <= tolerance:
        return np.nan
    return float(np.dot(rx, ry) / scale)
