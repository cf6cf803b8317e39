"""``analyze``: every statistic of the analysis for one result table.

The steps, each in its own module: row selection and per-architecture aggregation
(:mod:`~analysis.prepare`), correlations with intervals and p-values
(:mod:`~analysis.correlation`), the majority vote (:mod:`~analysis.voting`), top-k overlap
(:mod:`~analysis.topk`), the learned combination (:mod:`~analysis.combination`), the noise
ceiling (:mod:`~analysis.noise_ceiling`) and timing (:mod:`~analysis.timing`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.columns import STATUS_OK
from analysis.combination import (
    COMBINATION_NAME,
    CombinationResult,
    cross_validated_combination,
)
from analysis.correlation import (
    CORRELATION_COLUMNS,
    MIN_ARCHITECTURES,
    ResamplingSettings,
    correlate,
)
from analysis.diagnostics import warn
from analysis.multiple_testing import holm
from analysis.noise_ceiling import NoiseCeiling, noise_ceiling
from analysis.prepare import KIND_COMBINATION, KIND_PROXY, Predictor, prepare
from analysis.ranking import NAN_POLICY_TEXT, get_nan_policy, is_constant
from analysis.timing import time_shares, timing_table
from analysis.topk import topk_table
from analysis.voting import COPELAND_PREDICTOR, VoteResult, evaluate_vote

logger = logging.getLogger(__name__)

#: Columns of ``correlations.csv`` after the required ones.
EXTRA_COLUMNS: list[str] = ["kind", "pairwise_acc", "ci_method", "note"]


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything that determines the numbers, echoed in the report.

    Attributes:
        metric: Target column, higher is better.
        bootstrap: Bootstrap resamples per interval.
        permutations: Random permutations per p-value.
        ci_method: ``"bca"`` or ``"percentile"``.
        confidence: Interval confidence level.
        nan_policy: ``"rank-last"`` or ``"omit"``.
        seed: Seed of all resampling, subsampling and fold shuffles.
        cv_repeats: Repeats of the 5-fold cross-validation of the combination.
    """

    metric: str = "val_auc"
    bootstrap: int = 10_000
    permutations: int = 9_999
    ci_method: str = "bca"
    confidence: float = 0.95
    nan_policy: str = "rank-last"
    seed: int = 0
    cv_repeats: int = 10

    def resampling(self) -> ResamplingSettings:
        """Return the resampling part of the settings."""
        return ResamplingSettings(
            bootstrap=self.bootstrap,
            permutations=self.permutations,
            ci_method=self.ci_method,
            confidence=self.confidence,
            seed=self.seed,
        )


@dataclass
class AnalysisResult:
    """All tables of one analysis.

    Attributes:
        settings: The settings used.
        correlations: One row per predictor (proxies, vote, baselines, learned combination),
            sorted by ``spearman_rho`` (NaN last), columns as in ``correlations.csv``.
        topk: Top-k overlap, long format (see :func:`analysis.topk.topk_table`).
        vote: The majority vote evaluation.
        combination: The learned combination.
        noise_ceiling: Rank agreement of the metric between seeds.
        timing: Seconds per architecture per proxy and for training.
        time_shares: Share of study time in proxies, training and other work.
        exclusions: Rows per reason (including ``used``).
        studies: Per study: rows, ok, failed, pruned, architectures.
        architectures: The per-architecture table the statistics used.
        predictors: Single predictors (proxies then baselines).
        notes: Sentences on how rows and NaN values were handled.
    """

    settings: AnalysisSettings
    correlations: pd.DataFrame
    topk: pd.DataFrame
    vote: VoteResult
    combination: CombinationResult
    noise_ceiling: NoiseCeiling
    timing: pd.DataFrame
    time_shares: pd.DataFrame
    exclusions: pd.DataFrame
    studies: pd.DataFrame
    architectures: pd.DataFrame
    predictors: list[Predictor]
    notes: list[str] = field(default_factory=list)

    @property
    def metric(self) -> str:
        """The target column."""
        return self.settings.metric

    @property
    def has_correlations(self) -> bool:
        """Whether at least one predictor has a finite rho."""
        return bool(np.isfinite(self.correlations["spearman_rho"]).any())

    def settings_dict(self) -> dict:
        """Return the settings as a plain dict."""
        return asdict(self.settings)


def analyze(
    df: pd.DataFrame,
    metric: str = "val_auc",
    bootstrap: int = 10_000,
    seed: int = 0,
    nan_policy: str = "rank-last",
    *,
    permutations: int = 9_999,
    ci_method: str = "bca",
    confidence: float = 0.95,
    cv_repeats: int = 10,
) -> AnalysisResult:
    """Correlate every proxy with ``metric`` and summarise cost, over one result table.

    Args:
        df: Rows from :func:`analysis.load.load_results` (one row per trial).
        metric: Target column (any numeric column, e.g. ``val_accuracy``); higher is better.
        bootstrap: Bootstrap resamples per interval (0: no intervals).
        seed: Seed of every random step; the same seed gives the same numbers.
        nan_policy: ``"rank-last"`` or ``"omit"`` (see :mod:`analysis.ranking`).
        permutations: Random permutations per p-value (0: no p-values).
        ci_method: ``"bca"`` (percentile above 1000 architectures) or ``"percentile"``.
        confidence: Interval confidence level.
        cv_repeats: Repeats of the 5-fold cross-validation of the learned combination.

    Returns:
        The tables; undefined statistics are NaN with the reason in ``note``.

    Raises:
        ValueError: Unknown option, missing or non-numeric metric, or no usable row.

    Warns:
        AnalysisWarning: NaN proxy scores, fewer than 3 architectures, a constant metric, or
            several datasets pooled.
    """
    get_nan_policy(nan_policy)
    # The linear algebra here is many small calls (SVDs of 5-fold training sets, rank
    # products); waking a BLAS thread pool for each costs more than it gains, badly so on a
    # busy machine (an SVD of 12800 x 36 took 17 ms on one thread, 300-500 ms on two).
    with threadpool_limits(limits=1, user_api="blas"):
        return _analyze(
            df,
            AnalysisSettings(
                metric=metric,
                bootstrap=int(bootstrap),
                permutations=int(permutations),
                ci_method=ci_method,
                confidence=confidence,
                nan_policy=nan_policy,
                seed=int(seed),
                cv_repeats=int(cv_repeats),
            ),
        )


def _analyze(df: pd.DataFrame, settings: AnalysisSettings) -> AnalysisResult:
    """Run every step of :func:`analyze` with validated settings."""
    metric, nan_policy, seed = settings.metric, settings.nan_policy, settings.seed
    resampling = settings.resampling()
    prepared = prepare(df, metric)
    architectures = prepared.architectures
    notes = list(prepared.notes)
    notes.append(f"NaN policy `{nan_policy}`: {NAN_POLICY_TEXT[nan_policy]}.")
    _warn_about_data(architectures, prepared.predictors, metric, nan_policy)

    correlations = correlate(
        architectures, metric, prepared.predictors, nan_policy=nan_policy, settings=resampling
    )
    vote = evaluate_vote(
        architectures, metric, prepared.predictors, nan_policy=nan_policy, seed=seed
    )
    vote_row = correlate(
        vote.architectures,
        metric,
        [COPELAND_PREDICTOR],
        nan_policy=nan_policy,
        settings=resampling,
    )
    if vote.note:
        vote_row["note"] = "; ".join(filter(None, [vote_row["note"].iloc[0], vote.note]))

    features = [p.column for p in prepared.predictors]
    combination = cross_validated_combination(
        architectures,
        metric,
        features,
        nan_policy=nan_policy,
        repeats=settings.cv_repeats,
        seed=seed,
    )
    table = pd.concat([correlations, vote_row, _combination_row(combination)], ignore_index=True)
    table["p_holm"] = holm(table["p_value"].to_numpy(dtype=float))
    accuracy = dict(vote.predictor_accuracy)
    accuracy[COPELAND_PREDICTOR.name] = vote.pairwise_accuracy
    table["pairwise_acc"] = table["proxy"].map(accuracy).astype(float)

    topk = pd.concat(
        [
            topk_table(architectures, metric, prepared.predictors, nan_policy=nan_policy),
            topk_table(vote.architectures, metric, [COPELAND_PREDICTOR], nan_policy=nan_policy),
        ],
        ignore_index=True,
    )
    top10 = topk[np.isclose(topk["fraction"], 0.10)].set_index("proxy")["recovered"]
    table["top10_overlap"] = table["proxy"].map(top10).astype(float)
    table = table[CORRELATION_COLUMNS + ["top10_overlap"] + EXTRA_COLUMNS]
    table = table.sort_values(
        "spearman_rho", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)

    ceiling = noise_ceiling(prepared.runs, metric, resampling)
    return AnalysisResult(
        settings=settings,
        correlations=table,
        topk=topk,
        vote=vote,
        combination=combination,
        noise_ceiling=ceiling,
        timing=timing_table(df, prepared.proxies),
        time_shares=time_shares(df, prepared.proxies),
        exclusions=prepared.exclusions,
        studies=_study_table(df, architectures),
        architectures=architectures,
        predictors=prepared.predictors,
        notes=notes,
    )


def _combination_row(combination: CombinationResult) -> pd.DataFrame:
    """One correlation-table row for the learned combination (rho and its CV range)."""
    return pd.DataFrame(
        [
            {
                "proxy": COMBINATION_NAME,
                "n": combination.n,
                "n_nan": 0,
                "spearman_rho": combination.rho,
                "spearman_lo": combination.rho_min,
                "spearman_hi": combination.rho_max,
                "kendall_tau": np.nan,
                "p_value": np.nan,
                "partial_rho": np.nan,
                "kind": KIND_COMBINATION,
                "ci_method": "CV range" if np.isfinite(combination.rho) else "",
                "note": combination.note,
            }
        ]
    )


def _warn_about_data(
    architectures: pd.DataFrame, predictors: list[Predictor], metric: str, nan_policy: str
) -> None:
    """Warn once about too few architectures, a constant metric and NaN proxy scores."""
    n = len(architectures)
    if n < MIN_ARCHITECTURES:
        warn(
            f"only {n} usable architecture(s); correlations and pairwise accuracies need at "
            f"least {MIN_ARCHITECTURES} and are reported as NaN",
            stacklevel=5,
        )
    elif is_constant(architectures[metric].to_numpy(dtype=float)):
        warn(
            f"`{metric}` is constant over {n} architectures; every correlation is NaN",
            stacklevel=5,
        )
    counts = []
    for predictor in predictors:
        if predictor.kind != KIND_PROXY:
            continue
        missing = int((~np.isfinite(architectures[predictor.column].to_numpy(float))).sum())
        if missing:
            counts.append(f"{predictor.name} {missing}/{n}" + (" (all)" if missing == n else ""))
    if counts:
        warn(
            f"NaN proxy scores ({NAN_POLICY_TEXT[nan_policy]}): " + ", ".join(counts),
            stacklevel=5,
        )


def _study_table(df: pd.DataFrame, architectures: pd.DataFrame) -> pd.DataFrame:
    """Rows, outcomes and architectures per study."""
    study = df["study"].astype("string").fillna("") if "study" in df.columns else None
    status = df["status"].astype("string").fillna("missing")
    frame = pd.DataFrame({"study": study if study is not None else "", "status": status})
    counts = frame.groupby("study")["status"].value_counts().unstack(fill_value=0)
    for column in (STATUS_OK, "failed", "pruned"):
        if column not in counts.columns:
            counts[column] = 0
    table = pd.DataFrame(
        {
            "rows": frame.groupby("study").size(),
            STATUS_OK: counts[STATUS_OK],
            "failed": counts["failed"],
            "pruned": counts["pruned"],
            "architectures": architectures.groupby("study").size(),
        }
    ).fillna(0)
    return table.astype(int).reset_index().rename(columns={"index": "study"})
