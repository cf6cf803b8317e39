"""The majority vote of synflow, jacob_cov and snip, evaluated on a result set.

The vote itself lives in :mod:`zero_cost.vote` (2-of-3 majority of pairwise score
differences; an exact tie is a "no" vote; pairs with equal target are skipped). This module
applies the analysis' NaN policy to it and reports two numbers, labelled as what they are:

* the **pairwise ranking accuracy** of the vote (the published "vote" number, about
  (1 + Kendall tau) / 2, not a Spearman rho), computed the same way for every single
  predictor so the vote can be compared with its members;
* the **Copeland score** of each architecture (how many others it beats by majority), whose
  Spearman rho with the metric is reported as the predictor ``vote (Copeland)``.

Pairwise statistics cost O(n^2). Above :data:`MAX_VOTE_ARCHITECTURES` architectures both are
computed on a seeded random subsample of that many architectures (an unbiased estimate of the
pairwise accuracy; the Copeland row then has that ``n``), and the output says so.

Like every correlation, a pairwise accuracy needs
:data:`~analysis.correlation.MIN_ARCHITECTURES` taking-part architectures: with two there is
one pair and the accuracy can only be 0 or 1, so below that it is NaN and the reason is stated.

NaN policy: under ``rank-last`` each member is replaced by its ranks with NaN scores ranked
below all finite ones (so a failed member loses every comparison with a finite score); under
``omit`` architectures with a NaN member take no part (``zero_cost.vote``'s ``omit``).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.correlation import MIN_ARCHITECTURES
from analysis.prepare import KIND_VOTE, Predictor
from analysis.ranking import apply_nan_policy, midranks
from zero_cost.vote import VOTE_MEMBERS, vote_copeland, vote_pairwise_accuracy

logger = logging.getLogger(__name__)

#: Largest number of architectures the O(n^2) pairwise statistics use.
MAX_VOTE_ARCHITECTURES = 4000
#: Name and column of the Copeland predictor.
COPELAND_PREDICTOR = Predictor("vote (Copeland)", "vote_copeland", KIND_VOTE)


@dataclass
class VoteResult:
    """The vote on one result set.

    Attributes:
        members: Member proxies of the vote.
        missing: Members absent from the results (the vote is undefined when any is).
        pairwise_accuracy: Pairwise ranking accuracy of the vote (NaN when undefined).
        accuracy_note: Why ``pairwise_accuracy`` is NaN; empty when it is a number.
        predictor_accuracy: Pairwise ranking accuracy of every single predictor, by name.
        architectures: The architectures the pairwise statistics used (all, or a subsample).
        n_total: Architectures in the result set.
        note: How the numbers were computed.
    """

    members: tuple[str, ...]
    missing: tuple[str, ...]
    pairwise_accuracy: float
    predictor_accuracy: dict[str, float]
    architectures: pd.DataFrame
    n_total: int
    note: str
    accuracy_note: str = ""

    @property
    def subsampled(self) -> bool:
        """Whether the pairwise statistics used a subsample."""
        return len(self.architectures) < self.n_total


def evaluate_vote(
    architectures: pd.DataFrame,
    metric: str,
    predictors: list[Predictor],
    *,
    nan_policy: str = "rank-last",
    seed: int = 0,
) -> VoteResult:
    """Evaluate the vote and the pairwise accuracy of each predictor.

    Args:
        architectures: One row per architecture with ``metric`` and predictor columns.
        metric: Target column, higher is better.
        predictors: Single predictors; must include the members as ``zc_<member>`` columns.
        nan_policy: ``"rank-last"`` or ``"omit"``.
        seed: Seed of the subsample drawn above :data:`MAX_VOTE_ARCHITECTURES`.

    Returns:
        The vote result; its ``architectures`` table carries a ``vote_copeland`` column
        (NaN for every row when a member is missing).
    """
    n_total = len(architectures)
    table = architectures
    notes = []
    # TODO(zcnas): exact O(n log^2 n) dominance counting would remove the subsample for large n.
    if n_total > MAX_VOTE_ARCHITECTURES:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(n_total, MAX_VOTE_ARCHITECTURES, replace=False))
        table = architectures.iloc[chosen]
        notes.append(
            f"pairwise statistics on a random subsample of {MAX_VOTE_ARCHITECTURES} of "
            f"{n_total} architectures"
        )
    table = table.reset_index(drop=True).copy()
    by_name = {p.name: p for p in predictors}
    missing = tuple(m for m in VOTE_MEMBERS if m not in by_name)

    accuracy = {p.name: _pairwise_accuracy(table, metric, [p], nan_policy)[0] for p in predictors}
    if missing:
        table[COPELAND_PREDICTOR.column] = np.nan
        vote_accuracy = np.nan
        accuracy_note = f"member(s) {', '.join(missing)} not in the results"
        notes.append(f"vote undefined: {accuracy_note}")
    else:
        members = [by_name[m] for m in VOTE_MEMBERS]
        frame, policy = _member_frame(table, members, nan_policy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            table[COPELAND_PREDICTOR.column] = vote_copeland(
                frame, VOTE_MEMBERS, nan_policy=policy
            ).to_numpy()
        vote_accuracy, accuracy_note = _pairwise_accuracy(table, metric, members, nan_policy)
        if accuracy_note:
            notes.append(f"pairwise accuracy undefined: {accuracy_note}")
        notes.append(
            "vote = 2-of-3 majority of " + ", ".join(VOTE_MEMBERS) + " per pair (tie = no "
            "vote); pairwise accuracy over ordered pairs with different metric"
        )
    return VoteResult(
        members=VOTE_MEMBERS,
        missing=missing,
        pairwise_accuracy=vote_accuracy,
        predictor_accuracy=accuracy,
        architectures=table,
        n_total=n_total,
        note="; ".join(notes),
        accuracy_note=accuracy_note,
    )


def _member_frame(
    table: pd.DataFrame, members: list[Predictor], nan_policy: str
) -> tuple[pd.DataFrame, str]:
    """Return member columns (named by member) under the NaN policy, and zero_cost's policy."""
    columns = {}
    for member in members:
        values = table[member.column].to_numpy(dtype=float)
        if nan_policy == "rank-last":
            effective, _ = apply_nan_policy(values, nan_policy)
            columns[member.name] = midranks(effective)
        else:
            columns[member.name] = values
    policy = "no_vote" if nan_policy == "rank-last" else "omit"
    return pd.DataFrame(columns, index=table.index), policy


def _pairwise_accuracy(
    table: pd.DataFrame, metric: str, members: list[Predictor], nan_policy: str
) -> tuple[float, str]:
    """Pairwise ranking accuracy of the majority of ``members`` (one member: the proxy).

    Args:
        table: One row per architecture with ``metric`` and the member columns.
        metric: Target column.
        members: Predictors voting (one: that predictor alone).
        nan_policy: ``"rank-last"`` or ``"omit"``.

    Returns:
        ``(accuracy, "")``, or ``(NaN, reason)`` when every score is NaN, fewer than
        :data:`MIN_ARCHITECTURES` architectures take part (under ``omit``, those with a NaN
        member do not), or no pair differs in the metric.
    """
    frame, policy = _member_frame(table, members, nan_policy)
    if frame.isna().all(axis=None):
        return np.nan, "all scores NaN"
    taking_part = int((frame.notna().all(axis=1) & table[metric].notna()).sum())
    if taking_part < MIN_ARCHITECTURES:
        return np.nan, f"fewer than {MIN_ARCHITECTURES} architectures (n={taking_part})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(
            vote_pairwise_accuracy(
                frame, table[metric], [m.name for m in members], nan_policy=policy
            )
        )
    return value, "" if np.isfinite(value) else "no pair of architectures with different metric"
