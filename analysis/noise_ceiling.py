"""The noise ceiling: how well the metric agrees with itself across training seeds.

When architectures were trained more than once (same ``arch_key``, different ``seed``, not
reused results), the Spearman rho between two repeats over those architectures says how
reproducible the ranking by the metric is. A proxy is compared against one noisy measurement
of the metric, so a rho near this ceiling is as good as a proxy can be shown to be.

For each architecture with two or more distinct seeds the runs of its two lowest seeds are
paired (run A = lowest seed, run B = second lowest); the ceiling is rho(A, B) over those
architectures, with the same bootstrap interval as the proxies. The correlations themselves
use the mean over seeds, which is somewhat less noisy than a single run, so the ceiling is a
conservative bound for them.

The ceiling follows the proxies' rule: it needs :data:`~analysis.correlation.MIN_ARCHITECTURES`
replicated architectures; below that it is NaN and ``note`` says so in words, with the
``--replicate`` the study needs. Its interval can still be undefined at a few architectures
(a bootstrap resample that draws one architecture only has no rho); ``interval_note`` then
says why, and the report draws no conclusion from the ceiling.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.correlation import (
    BCA_MAX_N,
    CI_METHODS,
    MIN_ARCHITECTURES,
    ResamplingSettings,
)
from analysis.ranking import is_constant
from analysis.resampled_spearman import BootstrapSpearman, suggested_batch


@dataclass
class NoiseCeiling:
    """Rank agreement of the metric between two training seeds.

    Attributes:
        rho: Spearman rho between repeat A and repeat B (NaN when undefined).
        lo: Lower end of the bootstrap interval.
        hi: Upper end of the bootstrap interval.
        n: Architectures with at least two seeds.
        note: How it was computed, or why it is undefined (a phrase that can stand alone).
        interval_note: Why the interval is missing although ``rho`` is finite, starting
            with ``"no interval: "``; empty when the interval is there or ``rho`` is NaN.
    """

    rho: float
    lo: float
    hi: float
    n: int
    note: str
    interval_note: str = ""

    @property
    def estimated(self) -> bool:
        """Whether ``rho`` could be computed."""
        return bool(np.isfinite(self.rho))

    @property
    def has_interval(self) -> bool:
        """Whether both ends of the interval are finite."""
        return bool(np.isfinite(self.lo) and np.isfinite(self.hi))


def repeat_pairs(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Pair the two lowest-seed runs of every architecture trained with distinct seeds.

    Args:
        runs: Independent usable runs with ``arch_key``, ``seed`` and ``metric``.
        metric: Target column.

    Returns:
        One row per architecture: ``arch_key``, ``seed_a``, ``seed_b``, ``a``, ``b``.
    """
    runs = runs.dropna(subset=["seed"]).sort_values(["arch_key", "seed"], kind="stable")
    runs = runs.drop_duplicates(["arch_key", "seed"])
    position = runs.groupby("arch_key").cumcount()
    first = runs[position == 0].set_index("arch_key")
    second = runs[position == 1].set_index("arch_key")
    paired = first.merge(
        second, how="inner", left_index=True, right_index=True, suffixes=("_a", "_b")
    )
    return pd.DataFrame(
        {
            "arch_key": paired.index,
            "seed_a": paired["seed_a"].to_numpy(),
            "seed_b": paired["seed_b"].to_numpy(),
            "a": paired[f"{metric}_a"].to_numpy(),
            "b": paired[f"{metric}_b"].to_numpy(),
        }
    )


def noise_ceiling(
    runs: pd.DataFrame, metric: str, settings: ResamplingSettings | None = None
) -> NoiseCeiling:
    """Compute the noise ceiling of ``metric`` from repeated trainings.

    Args:
        runs: Independent usable runs (see :class:`analysis.prepare.PreparedResults`).
        metric: Target column.
        settings: Bootstrap settings (the permutation settings are not used).

    Returns:
        The ceiling, or NaN with the reason in ``note``.
    """
    settings = settings or ResamplingSettings()
    if runs["seed"].isna().all():
        return _undefined(0, "no `seed` values, so replicated architectures cannot be found")
    pairs = repeat_pairs(runs, metric)
    n = len(pairs)
    if n == 0:
        return _undefined(0, "no replicated architectures (run the study with --replicate K)")
    if n < MIN_ARCHITECTURES:
        return _undefined(
            n,
            f"too few replicated architectures ({n}) to estimate the noise ceiling; "
            f"run with --replicate K, K >= {MIN_ARCHITECTURES}",
        )
    a, b = pairs["a"].to_numpy(dtype=float), pairs["b"].to_numpy(dtype=float)
    if is_constant(a) or is_constant(b):
        return _undefined(
            n,
            f"not estimated: `{metric}` is constant within one seed over {n} replicated "
            "architectures",
        )
    rho = float(stats.spearmanr(a, b).statistic)
    lo = hi = np.nan
    distribution = np.empty(0)
    method = settings.ci_method if n <= BCA_MAX_N else "percentile"
    if settings.bootstrap > 0:
        with warnings.catch_warnings():
            # A degenerate bootstrap distribution gives a NaN interval; the note says so.
            warnings.simplefilter("ignore")
            result = stats.bootstrap(
                (np.arange(n),),
                BootstrapSpearman(a, b[np.newaxis]),
                n_resamples=settings.bootstrap,
                batch=suggested_batch(1, n, settings.bootstrap),
                vectorized=True,
                method=CI_METHODS[method],
                confidence_level=settings.confidence,
                rng=np.random.default_rng(settings.seed),
            )
        lo = float(np.atleast_1d(result.confidence_interval.low)[0])
        hi = float(np.atleast_1d(result.confidence_interval.high)[0])
        distribution = np.asarray(result.bootstrap_distribution, dtype=float).ravel()
    note = f"rho between the runs of the two lowest seeds of {n} architectures"
    interval_note = ""
    if settings.bootstrap == 0:
        interval_note = "no interval: bootstrap disabled by --bootstrap 0"
    elif np.isfinite(lo) and np.isfinite(hi):
        note += f"; {CI_METHODS[method]} {settings.confidence:.0%} interval"
    else:
        interval_note = _why_no_interval(distribution)
    return NoiseCeiling(rho, lo, hi, n, note, interval_note)


def _why_no_interval(distribution: np.ndarray) -> str:
    """Say why a bootstrap interval came out NaN, from the bootstrap distribution."""
    if np.isnan(distribution).any():
        # As for the proxies: a resample that draws one architecture only (or only tied
        # values) has no rho, which makes the interval undefined; near-certain at small n.
        return "no interval: too few replicated architectures for the bootstrap"
    if len(distribution) and np.ptp(distribution) == 0:
        return f"no interval: every bootstrap resample gives rho = {distribution[0]:.3f}"
    return "no interval: degenerate bootstrap distribution"


def _undefined(n: int, reason: str) -> NoiseCeiling:
    """A ceiling that could not be estimated, with the reason as its note."""
    return NoiseCeiling(np.nan, np.nan, np.nan, n, reason)
