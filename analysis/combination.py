"""A learned combination of proxies, judged by cross-validated rank correlation.

A ridge regression predicts the metric from the rank-transformed proxies plus params and
flops. With few architectures a fitted model flatters itself, so everything it learns is
learned inside the training folds only:

* outer loop: ``RepeatedKFold`` (5 folds, ``repeats`` shuffles). Each architecture is
  predicted once per repeat by a model that never saw it; the Spearman rho of these
  out-of-fold predictions with the metric is computed per repeat;
* inside each training fold: :class:`RankScaler` maps every feature to its rank scale
  [0, 1] (fitted on the training fold, applied to the test fold); missing scores are set to 0,
  the bottom of that scale (with a missing-indicator feature) under ``rank-last``, or the
  architectures are dropped under ``omit``; ``RidgeCV`` picks the penalty by efficient
  leave-one-out on the training fold (nested: the test fold plays no part in the choice).

The reported rho is the mean over repeats; the range (min-max over repeats) shows how much it
depends on the fold split. It is not a sampling interval.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import RepeatedKFold
from sklearn.pipeline import Pipeline, make_pipeline

from analysis.ranking import is_constant

logger = logging.getLogger(__name__)

#: Outer folds of the cross-validation.
N_FOLDS = 5
#: Fewest architectures for which the combination is fitted (two per test fold).
MIN_ARCHITECTURES = 2 * N_FOLDS
#: Ridge penalties tried inside each training fold.
RIDGE_ALPHAS = np.logspace(-3, 3, 13)
#: Predictor name of the combination in the correlation table.
COMBINATION_NAME = "ridge (cv)"


@dataclass
class CombinationResult:
    """Cross-validated quality of the learned combination.

    Attributes:
        rho: Mean over repeats of the Spearman rho of out-of-fold predictions.
        rho_min: Smallest per-repeat rho.
        rho_max: Largest per-repeat rho.
        n: Architectures used.
        features: Feature columns used.
        repeats: Outer repeats run.
        note: How it was computed, or why it is undefined.
        per_repeat: Rho of each repeat.
    """

    rho: float
    rho_min: float
    rho_max: float
    n: int
    features: list[str]
    repeats: int
    note: str
    per_repeat: list[float] = field(default_factory=list)


def cross_validated_combination(
    architectures: pd.DataFrame,
    metric: str,
    feature_columns: Sequence[str],
    *,
    nan_policy: str = "rank-last",
    repeats: int = 10,
    seed: int = 0,
) -> CombinationResult:
    """Fit and evaluate the ridge combination with repeated k-fold cross-validation.

    Args:
        architectures: One row per architecture with ``metric`` and the feature columns.
        metric: Target column.
        feature_columns: Proxy score columns plus ``params`` / ``flops`` where present.
        nan_policy: ``"rank-last"`` (missing -> bottom of the rank scale, plus indicator) or
            ``"omit"`` (architectures with any missing feature are dropped).
        repeats: Outer repeats of the 5-fold split.
        seed: Seed of the fold shuffles.

    Returns:
        The cross-validated rho with its spread over repeats, or NaN with the reason.
    """
    features = [
        column
        for column in feature_columns
        if np.isfinite(architectures[column].to_numpy(dtype=float)).any()
        and not is_constant(_finite(architectures[column]))
    ]
    x = architectures[features].to_numpy(dtype=float, copy=True)
    x[~np.isfinite(x)] = np.nan
    y = architectures[metric].to_numpy(dtype=float)
    if nan_policy == "omit" and features:
        complete = ~np.isnan(x).any(axis=1)
        x, y = x[complete], y[complete]
    n = len(y)

    def undefined(reason: str) -> CombinationResult:
        return CombinationResult(np.nan, np.nan, np.nan, n, features, 0, reason)

    if not features:
        return undefined("no non-constant feature")
    if n < MIN_ARCHITECTURES:
        return undefined(f"needs at least {MIN_ARCHITECTURES} architectures (n={n})")
    if is_constant(y):
        return undefined("metric is constant")
    if repeats < 1:
        return undefined("cross-validation disabled (repeats=0)")

    splitter = RepeatedKFold(n_splits=N_FOLDS, n_repeats=repeats, random_state=seed)
    predictions = np.full((repeats, n), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning, RuntimeWarning))
        for fold, (train, test) in enumerate(splitter.split(x)):
            model = _model()
            model.fit(x[train], y[train])
            predictions[fold // N_FOLDS, test] = model.predict(x[test])

    per_repeat = []
    for row in predictions:
        per_repeat.append(np.nan if is_constant(row) else float(stats.spearmanr(row, y).statistic))
    finite = [value for value in per_repeat if np.isfinite(value)]
    rho = float(np.mean(finite)) if finite else np.nan
    note = (
        f"ridge on rank-transformed {len(features)} features, {N_FOLDS}-fold CV x {repeats} "
        "repeats, penalty chosen inside each training fold; rho = mean of out-of-fold rho "
        "over repeats, range = min-max over repeats"
    )
    return CombinationResult(
        rho=rho,
        rho_min=float(np.min(finite)) if finite else np.nan,
        rho_max=float(np.max(finite)) if finite else np.nan,
        n=n,
        features=features,
        repeats=repeats,
        note=note,
        per_repeat=per_repeat,
    )


class RankScaler(TransformerMixin, BaseEstimator):
    """Map each feature to its rank scale [0, 1] learned from the training rows.

    ``fit`` keeps the sorted finite training values of every column; ``transform`` replaces a
    value by its mid-rank among them divided by their number (the empirical distribution
    function, ties averaged), so training values map to (0, 1] and unseen values fall between
    their neighbours. NaN stays NaN. This is the rank transform of the training fold applied
    unchanged to the test fold (``QuantileTransformer`` does the same with interpolation,
    an order of magnitude slower on large folds).
    """

    def fit(self, x: np.ndarray, y: np.ndarray | None = None) -> RankScaler:
        """Store the sorted finite values of each column of ``x`` (shape (n, features))."""
        self.fit_transform(x)
        return self

    def fit_transform(self, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Fit on ``x`` and return its rank scale; same result as ``fit(x).transform(x)``.

        One sort per column gives both the stored reference and the training rows' mid-ranks
        (``(rank - 0.5) / n`` equals the searchsorted form of :meth:`transform`).
        """
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, np.nan)
        self.sorted_ = []
        for j in range(x.shape[1]):
            finite = np.flatnonzero(np.isfinite(x[:, j]))
            values = x[finite, j]
            order = np.argsort(values)
            ordered = values[order]
            self.sorted_.append(ordered)
            if len(ordered) == 0:
                continue
            new_group = np.r_[True, ordered[1:] != ordered[:-1]]
            group = np.cumsum(new_group) - 1
            starts = np.flatnonzero(new_group)
            ends = np.r_[starts[1:], len(ordered)]
            # Mid-rank of a tie group spanning sorted positions [start, end): (start+end+1)/2.
            mid = (starts[group] + ends[group] + 1) / 2.0
            out[finite[order], j] = (mid - 0.5) / len(ordered)
        self.n_features_in_ = x.shape[1]
        return out

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Return the rank scale of ``x``, shape (n, features), NaN where ``x`` is NaN."""
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, np.nan)
        for j, reference in enumerate(self.sorted_):
            column = x[:, j]
            finite = np.isfinite(column)
            if len(reference) == 0:
                continue
            below = np.searchsorted(reference, column[finite], side="left")
            at_or_below = np.searchsorted(reference, column[finite], side="right")
            out[finite, j] = (below + at_or_below) / (2.0 * len(reference))
        return out


def _model() -> Pipeline:
    """Return the pipeline fitted inside one training fold."""
    return make_pipeline(
        RankScaler(),
        SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True),
        RidgeCV(alphas=RIDGE_ALPHAS, gcv_mode="svd"),
    )


def _finite(values: pd.Series) -> np.ndarray:
    """Return the finite values of a column."""
    array = values.to_numpy(dtype=float)
    return array[np.isfinite(array)]
