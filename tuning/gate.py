"""The proxy gate: skip training for candidates whose proxy score is low within the study so far.

With ``--proxy-gate Q`` a candidate is not trained (status ``pruned``, its proxies kept) when its
score falls below the Q-quantile of the scores of the candidates scored before it. The score is
one proxy (higher is better, as the reference implementations orient them) or ``vote``: the
candidate's Copeland count, the number of other candidates it beats by a 2-of-3 majority of
synflow, jacob_cov and snip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

VOTE_MEMBERS = ("synflow", "jacob_cov", "snip")


@dataclass(frozen=True)
class GateDecision:
    """Whether to train a candidate, and why.

    Attributes:
        prune: True when the candidate should not be trained.
        reason: Human-readable explanation stored in the row's `error` column when pruned.
        score: The candidate's gate score (NaN when undefined).
        threshold: The quantile it was compared with (NaN before enough history).
    """

    prune: bool
    reason: str
    score: float
    threshold: float


def gate_decision(
    history: pd.DataFrame,
    candidate: dict[str, Any],
    proxy: str,
    quantile: float,
    *,
    min_history: int = 5,
) -> GateDecision:
    """Compare a candidate's proxy score with the study's scores so far.

    Args:
        history: Rows of the study (any status) with their ``zc_*`` columns.
        candidate: The candidate's row (its ``zc_*`` entries are used).
        proxy: A proxy name, or ``vote``.
        quantile: Q in [0, 1): candidates below the Q-quantile are pruned.
        min_history: Scored earlier candidates needed before the gate prunes anything.

    Returns:
        The decision. A candidate whose score is NaN is trained (it cannot be judged).
    """
    if not 0.0 <= quantile < 1.0:
        raise ValueError(f"`proxy_gate` must be in [0, 1), got {quantile}")
    columns = [f"zc_{m}" for m in VOTE_MEMBERS] if proxy == "vote" else [f"zc_{proxy}"]
    earlier = history
    if not earlier.empty and "trial_id" in earlier:
        earlier = earlier[earlier["trial_id"] != candidate.get("trial_id")]
    if not earlier.empty and "phase" in earlier:
        earlier = earlier[earlier["phase"].isin(["search", "warmup"])]
    missing = [c for c in columns if earlier.empty or c not in earlier]
    if len(earlier) < min_history or missing:
        return GateDecision(False, "not enough scored candidates yet", math.nan, math.nan)
    table = pd.concat(
        [earlier[columns].astype(float), pd.DataFrame([{c: candidate.get(c) for c in columns}])],
        ignore_index=True,
    ).astype(float)
    if proxy == "vote":
        from zero_cost import vote_copeland

        scores = np.asarray(vote_copeland(table, members=VOTE_MEMBERS), dtype=float)
    else:
        scores = table[columns[0]].to_numpy(dtype=float)
    score = scores[-1]
    past = scores[:-1][np.isfinite(scores[:-1])]
    if not math.isfinite(score) or len(past) < min_history:
        return GateDecision(False, "score undefined or history too short", score, math.nan)
    threshold = float(np.quantile(past, quantile))
    if score < threshold:
        reason = (
            f"proxy gate: {proxy} score {score:.4g} below the {quantile:.2f}-quantile "
            f"{threshold:.4g} of {len(past)} earlier candidates"
        )
        return GateDecision(True, reason, score, threshold)
    return GateDecision(False, "passed the proxy gate", score, threshold)
