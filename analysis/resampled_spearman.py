"""Vectorised Spearman statistics for ``scipy.stats.bootstrap`` and ``permutation_test``.

Both scipy functions call a statistic on many resamples at once. Ranking every resample with a
sort is the slow part, so the statistics here are built once per set of architectures and
shared by every predictor:

* :class:`BootstrapSpearman` takes **index** resamples (a paired bootstrap over
  architectures: each resample draws architectures with replacement, keeping each
  architecture's target and scores together) and returns Spearman's rho of every predictor
  with the target on each resample. Ranks are recomputed inside every resample (tie-averaged,
  as ``scipy.stats.spearmanr`` does). For small ``n`` the resampled values are ranked with
  ``scipy.stats.rankdata``; for large ``n`` the ranks are counted instead of sorted: with
  ``w_j`` copies of architecture ``j`` in the resample, the mid-rank of a value is the number
  of drawn copies below it plus half of (copies tied with it + 1), which needs one cumulative
  sum along a precomputed sort order (O(n) per resample and predictor).
* :class:`PermutedSpearman` takes permutations of the target's ranks. Ranks do not change
  under permutation, so rho of each permutation is one matrix product with the centred,
  normalised ranks of the predictors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.ranking import midranks

#: Above this many architectures the counting algorithm replaces per-resample sorting.
COUNTING_MIN_N = 600
#: Elements of a (predictors, resamples, n) block the sorting path may allocate at once.
_BLOCK_ELEMENTS = 4_000_000


def suggested_batch(n_predictors: int, n: int, n_resamples: int) -> int:
    """Return a resample batch size keeping one block near 4 million values.

    Args:
        n_predictors: Number of predictors evaluated together.
        n: Architectures per resample.
        n_resamples: Total resamples requested.

    Returns:
        Batch size for the ``batch`` argument of the scipy resampling functions.
    """
    per_resample = max(1, (n_predictors + 1) * n)
    return int(max(1, min(max(n_resamples, 1), _BLOCK_ELEMENTS // per_resample)))


def _pearson_last_axis(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis; NaN where either side is constant."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    num = np.sum(xc * yc, axis=-1)
    den = np.sqrt(np.sum(xc * xc, axis=-1) * np.sum(yc * yc, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


@dataclass(frozen=True)
class _SortedColumn:
    """Sort structure of one column for counting ranks.

    Attributes:
        order: Indices that sort the column ascending, shape (n,).
        group_start: For each sorted position, first position of its tie group, shape (n,).
        group_end: For each sorted position, one past the last position of its tie group.
        has_ties: Whether any tie group has more than one member.
    """

    order: np.ndarray
    group_start: np.ndarray
    group_end: np.ndarray
    has_ties: bool

    @classmethod
    def of(cls, values: np.ndarray) -> _SortedColumn:
        """Build the structure for ``values`` (shape (n,), no NaN; -inf allowed)."""
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        new_group = np.r_[True, ordered[1:] != ordered[:-1]]
        group_id = np.cumsum(new_group) - 1
        starts = np.flatnonzero(new_group)
        ends = np.r_[starts[1:], len(values)]
        return cls(order, starts[group_id], ends[group_id], not bool(new_group.all()))

    def doubled_centred_ranks(
        self, copies: np.ndarray, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return copies and 2 * (mid-rank - (size + 1) / 2) at each sorted position.

        Args:
            copies: Number of times each architecture was drawn, shape (n,), int32.
            size: Resample size (sum of ``copies``).

        Returns:
            ``(copies in sorted order, doubled centred mid-ranks in sorted order)``, both
            int32 of shape (n,). Positions with zero copies carry a rank that is never used.
        """
        sorted_copies = np.take(copies, self.order)
        cumulative = np.empty(len(sorted_copies) + 1, dtype=np.int32)
        cumulative[0] = 0
        # dtype=int32 keeps the cumulative sum in one fast pass (the default widens to int64).
        np.cumsum(sorted_copies, dtype=np.int32, out=cumulative[1:])
        if self.has_ties:
            ranks = np.take(cumulative, self.group_start) + np.take(cumulative, self.group_end)
        else:
            ranks = cumulative[:-1] + cumulative[1:]
        ranks -= size
        return sorted_copies, ranks


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two 1-D float arrays without BLAS.

    Many short BLAS calls in a row are slow when the BLAS thread pool competes with other
    processes for the cores (each call wakes its threads); numpy's own loop avoids that.
    """
    return float(np.einsum("i,i->", a, b))


class BootstrapSpearman:
    """Spearman rho of k predictors with a target on index resamples of n architectures.

    Args:
        target: Target values, shape (n,), finite.
        predictors: Predictor values, shape (k, n), without NaN (-inf allowed).

    The instance is the ``statistic`` for ``scipy.stats.bootstrap((np.arange(n),), ...,
    vectorized=True)``: called with indices of shape (..., m) it returns rho of shape
    (k, ...) (m = n for bootstrap resamples, n - 1 for BCa's jackknife).
    """

    def __init__(self, target: np.ndarray, predictors: np.ndarray) -> None:
        self.target = np.asarray(target, dtype=float)
        self.predictors = np.atleast_2d(np.asarray(predictors, dtype=float))
        self.n = self.target.shape[0]
        self._counting = self.n >= COUNTING_MIN_N
        if self._counting:
            self._target_sorted = _SortedColumn.of(self.target)
            self._predictors_sorted = [_SortedColumn.of(row) for row in self.predictors]

    def __call__(self, indices: np.ndarray, axis: int = -1) -> np.ndarray:
        """Return rho per predictor for each index resample.

        Args:
            indices: Integer indices into the n architectures, shape (..., m).
            axis: Must be -1 (the resample axis); present for scipy's vectorised calling
                convention.

        Returns:
            Shape (k, ...): rho of each predictor on each resample (NaN when a resample is
            constant in the target or the predictor).
        """
        indices = np.asarray(indices)
        if self._counting:
            return self._by_counting(indices)
        target_ranks = midranks(self.target[indices])
        predictor_ranks = midranks(self.predictors[:, indices])
        return _pearson_last_axis(predictor_ranks, target_ranks[np.newaxis])

    def _by_counting(self, indices: np.ndarray) -> np.ndarray:
        """Counting-based rho for large n, one resample at a time."""
        flat = indices.reshape(-1, indices.shape[-1])
        size = flat.shape[-1]
        out = np.empty((len(self._predictors_sorted), flat.shape[0]))
        target_order = self._target_sorted.order
        for b, row in enumerate(flat):
            copies = np.bincount(row, minlength=self.n).astype(np.int32)
            weights, ranks = self._target_sorted.doubled_centred_ranks(copies, size)
            ranks = ranks.astype(np.float64)
            target_ss = _dot(weights * ranks, ranks)
            target_ranks = np.empty(self.n)
            target_ranks[target_order] = ranks
            weighted_target = copies * target_ranks
            # Without ties among the original values, the tie groups of a resample are the
            # copies of one architecture, so sum(w r^2) = (m^3 - m - sum(w^3 - w)) / 3 for
            # every such predictor (r = doubled centred mid-rank, m = resample size).
            counts = copies.astype(np.float64)
            untied_ss = (float(size) ** 3 - size - _dot(counts, counts * counts - 1.0)) / 3.0
            for j, column in enumerate(self._predictors_sorted):
                weights, ranks = column.doubled_centred_ranks(copies, size)
                ranks = ranks.astype(np.float64)
                predictor_ss = _dot(weights * ranks, ranks) if column.has_ties else untied_ss
                cross = _dot(ranks, np.take(weighted_target, column.order))
                den = np.sqrt(predictor_ss * target_ss)
                out[j, b] = cross / den if den > 0 else np.nan
        return out.reshape((out.shape[0], *indices.shape[:-1]))


class PermutedSpearman:
    """Spearman rho of k predictors with permutations of the target's ranks.

    Args:
        target_ranks: Mid-ranks of the target, shape (n,), not constant.
        predictor_ranks: Mid-ranks of each predictor, shape (k, n), none constant.

    The instance is the ``statistic`` for ``scipy.stats.permutation_test((target_ranks,),
    ..., permutation_type="pairings", vectorized=True)``: called with permuted target ranks
    of shape (..., n) it returns rho of shape (..., k).
    """

    def __init__(self, target_ranks: np.ndarray, predictor_ranks: np.ndarray) -> None:
        centred = predictor_ranks - predictor_ranks.mean(axis=-1, keepdims=True)
        self._basis = (centred / np.linalg.norm(centred, axis=-1, keepdims=True)).T
        target = np.asarray(target_ranks, dtype=float)
        self._mean = target.mean()
        self._norm = np.linalg.norm(target - self._mean)

    def __call__(self, target_ranks: np.ndarray, axis: int = -1) -> np.ndarray:
        """Return rho of every predictor with each permuted target, shape (..., k)."""
        return ((target_ranks - self._mean) / self._norm) @ self._basis
