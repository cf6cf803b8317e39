"""Choose the rows that enter the statistics and reduce them to one row per architecture.

Rows enter the correlations when ``status == "ok"`` and the metric is finite. Every other
row is counted under the reason it was left out (failed, pruned, other status, metric not
finite). Rows whose ``repeat_of`` is set are results reused from an earlier trial of the same
architecture: they are not trainings of their own and are not counted twice.

An architecture (``arch_key``) trained several times (different seeds) contributes one row:
the **mean** of the metric and of each score over its independent runs. The runs themselves
are kept for the noise ceiling (:mod:`analysis.noise_ceiling`).

Proxy scores that are not finite (NaN, +-inf) or whose ``zc_<name>_status`` is not ``ok`` are
treated as missing (NaN); they are counted per proxy and handled by the NaN policy of
:mod:`analysis.ranking`, never dropped silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.columns import (
    BASELINE_COLUMNS,
    STATUS_OK,
    proxy_column,
    proxy_names,
    proxy_status_column,
)
from analysis.diagnostics import warn

logger = logging.getLogger(__name__)

#: Kinds of predictors correlated with the metric.
KIND_PROXY = "proxy"
KIND_BASELINE = "baseline"
KIND_VOTE = "vote"
KIND_COMBINATION = "combination"


@dataclass(frozen=True)
class Predictor:
    """A column correlated with the metric.

    Attributes:
        name: Name shown in tables (``synflow``, ``params``, ``vote (Copeland)``).
        column: Column holding the values in the architecture table.
        kind: ``proxy``, ``baseline`` (size), ``vote`` or ``combination``.
    """

    name: str
    column: str
    kind: str


@dataclass
class PreparedResults:
    """The rows of a result set that the statistics use.

    Attributes:
        metric: Target column (higher is better).
        architectures: One row per ``arch_key``: ``arch_key``, ``study``, ``n_runs``, the
            metric (mean over runs) and one column per predictor (mean of finite values over
            runs; NaN when no run has a finite value).
        predictors: Proxies (sorted by name) then baselines present in the results.
        proxies: Names of the detected proxies.
        runs: Independent usable runs (``status == "ok"``, finite metric, ``repeat_of`` null):
            ``arch_key``, ``seed`` (when present) and the metric.
        exclusions: Rows per reason (``reason``, ``rows``), including kept rows.
        notes: Sentences describing how rows were selected and aggregated.
    """

    metric: str
    architectures: pd.DataFrame
    predictors: list[Predictor]
    proxies: list[str]
    runs: pd.DataFrame
    exclusions: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def validate_metric(frame: pd.DataFrame, metric: str) -> None:
    """Raise a ValueError when ``metric`` is absent or not numeric.

    Args:
        frame: Rows from :func:`analysis.load.load_results`.
        metric: Name of the target column.

    Raises:
        ValueError: Naming the column, where it came from and the numeric columns available.
    """
    sources = _source_summary(frame)
    if metric not in frame.columns:
        numeric = [
            column
            for column in frame.columns
            if pd.api.types.is_numeric_dtype(frame[column]) and not column.startswith("zc_")
        ]
        raise ValueError(
            f"metric column `{metric}` is not in the results ({sources}); numeric columns "
            f"available: {', '.join(numeric) or 'none'}"
        )
    if not pd.api.types.is_numeric_dtype(frame[metric]):
        bad = pd.to_numeric(frame[metric], errors="coerce").isna() & frame[metric].notna()
        where = ""
        if bad.any() and "source_file" in frame.columns:
            row = frame.loc[bad].iloc[0]
            where = f"; first non-number {row[metric]!r} in {row['source_file']}"
        raise ValueError(
            f"metric column `{metric}` holds {frame[metric].dtype} values, expected numbers{where}"
        )


def prepare(frame: pd.DataFrame, metric: str) -> PreparedResults:
    """Select usable rows, count exclusions and aggregate to one row per architecture.

    Args:
        frame: Rows from :func:`analysis.load.load_results` (or any table with the result
            schema).
        metric: Target column; higher is taken as better.

    Returns:
        The prepared architecture table, runs and exclusion counts.

    Raises:
        ValueError: The metric column is absent or not numeric, or no row is usable.
    """
    validate_metric(frame, metric)
    if len(frame) == 0:
        raise ValueError(f"the result set has no rows ({_source_summary(frame)})")

    proxies = proxy_names(frame.columns)
    frame = _with_masked_scores(frame.reset_index(drop=True), proxies)
    status = _text(frame, "status").fillna("missing")
    metric_values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float)
    finite_metric = np.isfinite(metric_values)
    reused = _text(frame, "repeat_of").notna().to_numpy()

    is_ok = (status == STATUS_OK).to_numpy()
    reasons = np.where(
        ~is_ok,
        "status " + status.to_numpy(dtype=object).astype(str),
        np.where(~finite_metric, f"status ok, {metric} not finite", "used"),
    )
    reasons = np.where(is_ok & finite_metric & reused, "reused result (repeat_of set)", reasons)
    exclusions = (
        pd.Series(reasons, name="reason")
        .value_counts(sort=False)
        .rename("rows")
        .reset_index()
        .sort_values("rows", ascending=False, kind="stable")
        .reset_index(drop=True)
    )

    usable = is_ok & finite_metric
    if not usable.any():
        raise ValueError(
            f"no usable rows: none has status `ok` and a finite `{metric}` "
            f"({_source_summary(frame)}; {_reason_text(exclusions)})"
        )

    keys = _arch_keys(frame)
    independent = usable & ~reused
    # An architecture known only through reused rows keeps one of them.
    key_array = keys.to_numpy()
    has_independent = pd.Series(independent).groupby(key_array).transform("any").to_numpy()
    fallback = np.flatnonzero(usable & ~has_independent)
    keep = independent.copy()
    keep[fallback[~pd.Series(key_array[fallback]).duplicated().to_numpy()]] = True

    baselines = [c for c in BASELINE_COLUMNS if c in frame.columns]
    # The metric itself is never a predictor (e.g. `--metric params` or `--metric zc_snip`).
    proxies = [name for name in proxies if proxy_column(name) != metric]
    baselines = [name for name in baselines if name != metric]
    value_columns = [proxy_column(name) for name in proxies] + baselines
    kept = frame.iloc[np.flatnonzero(keep)]
    numeric = {
        column: pd.to_numeric(kept[column], errors="coerce").to_numpy(dtype=float, copy=True)
        for column in [metric, *value_columns]
    }
    for column in value_columns:
        values = numeric[column]
        values[~np.isfinite(values)] = np.nan
    table = pd.DataFrame(numeric)
    table.insert(0, "arch_key", key_array[keep])
    table.insert(1, "study", _text(kept, "study").to_numpy())
    grouped = table.groupby("arch_key", sort=True)
    architectures = grouped[[metric, *value_columns]].mean()
    architectures.insert(0, "study", grouped["study"].first())
    architectures.insert(1, "n_runs", grouped.size())
    architectures = architectures.reset_index()

    runs = pd.DataFrame(
        {
            "arch_key": key_array[independent],
            "seed": (
                pd.to_numeric(frame["seed"], errors="coerce").to_numpy(dtype=float)[independent]
                if "seed" in frame.columns
                else np.full(int(independent.sum()), np.nan)
            ),
            metric: metric_values[independent],
        }
    )

    predictors = [Predictor(name, proxy_column(name), KIND_PROXY) for name in proxies]
    # `params` and `flops` are also registered proxies (`zc_params`, `zc_flops`); when a result
    # set has both, the proxy rows already are the size baselines, so each is reported once
    # (the baseline column stays in `architectures` for the partial correlation).
    predictors += [
        Predictor(name, name, KIND_BASELINE) for name in baselines if name not in proxies
    ]
    notes = _notes(frame, metric, exclusions, architectures, proxies)
    return PreparedResults(
        metric=metric,
        architectures=architectures,
        predictors=predictors,
        proxies=proxies,
        runs=runs,
        exclusions=exclusions,
        notes=notes,
    )


def _with_masked_scores(frame: pd.DataFrame, proxies: list[str]) -> pd.DataFrame:
    """Return a copy whose proxy scores are NaN where the proxy status is set and not ok.

    A proxy whose score column is absent (null in every file) gets an all-NaN column.
    """
    frame = frame.copy()
    for name in proxies:
        status = _text(frame, proxy_status_column(name))
        failed = status.notna() & (status != STATUS_OK)
        if proxy_column(name) not in frame.columns:
            frame[proxy_column(name)] = np.nan  # never scored: every file lacks the column
        values = pd.to_numeric(frame[proxy_column(name)], errors="coerce").astype(float)
        frame[proxy_column(name)] = values.mask(failed.to_numpy())
    return frame


def _arch_keys(frame: pd.DataFrame) -> pd.Series:
    """Return ``arch_key`` per row; rows without one become their own architecture."""
    keys = _text(frame, "arch_key").reset_index(drop=True)
    missing = keys.isna()
    if missing.any():
        warn(
            f"{int(missing.sum())} rows have no `arch_key`; each is treated as a distinct "
            "architecture, so repeats among them cannot be detected"
        )
        keys = keys.where(~missing, "row-" + pd.Series(np.arange(len(keys))).astype(str))
    return keys


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``column`` as a nullable string Series (all-null when absent)."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    values = frame[column]
    return values.astype("string").where(values.notna())


def _source_summary(frame: pd.DataFrame) -> str:
    """Describe where the rows came from, for error messages."""
    if "source_file" not in frame.columns or len(frame) == 0:
        return f"{len(frame)} rows"
    files = frame["source_file"].astype("string").dropna().unique()
    shown = ", ".join(str(path) for path in files[:2])
    more = f" and {len(files) - 2} more" if len(files) > 2 else ""
    return f"{len(frame)} rows from {shown}{more}"


def _reason_text(exclusions: pd.DataFrame) -> str:
    """Format exclusion counts as ``reason: rows`` pairs."""
    return ", ".join(f"{row.reason}: {row.rows}" for row in exclusions.itertuples())


def _notes(
    frame: pd.DataFrame,
    metric: str,
    exclusions: pd.DataFrame,
    architectures: pd.DataFrame,
    proxies: list[str],
) -> list[str]:
    """Describe row selection and aggregation; warn about pooled datasets."""
    notes = [
        f"Rows: {len(frame)} ({_reason_text(exclusions)}). Only `status == ok` rows with a "
        f"finite `{metric}` are used; reused results (`repeat_of` set) are not counted twice.",
    ]
    repeated = int((architectures["n_runs"] > 1).sum())
    notes.append(
        f"Architectures: {len(architectures)} distinct `arch_key`; {repeated} trained more than "
        f"once enter with the mean `{metric}` and mean scores over their runs."
    )
    if not proxies:
        notes.append("No proxy columns (`zc_<name>` with `zc_<name>_status`) were found.")
    if "dataset" in frame.columns:
        datasets = frame["dataset"].astype("string").dropna().unique()
        if len(datasets) > 1:
            names = ", ".join(sorted(str(d) for d in datasets))
            # TODO(zcnas): analyse each dataset separately (group by `dataset`, one table per
            # group) instead of pooling; today the user has to pass each dataset's studies alone.
            warn(
                f"the results hold several datasets ({names}); their architectures are ranked "
                "together. Analyse each dataset's studies separately for per-dataset ranks"
            )
            notes.append(f"Several datasets pooled: {names}.")
    return notes
