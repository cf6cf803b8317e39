"""What each proxy costs next to training, in seconds per architecture.

Rows that reuse an earlier result (``repeat_of`` set) cost nothing and are left out. For each
proxy the seconds ``zc_<name>_s`` of every remaining trial that has them enter the median,
mean, 95th percentile and total. Training is summarised over trials that finished
(``status == "ok"``); its total also includes the seconds spent on failed and pruned trials,
since that time was spent too. The vote costs the sum of its members' seconds on each trial.

The speed-up of a proxy is the median training time divided by the proxy's median time. The
share of study time compares the summed proxy seconds (``proxy_s``, or the sum of the
``zc_*_s`` columns when absent) and training seconds with the summed trial durations
(``finished_at - started_at``); whatever is neither proxies nor training (building models,
loading data, scheduling) is reported as "other".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.columns import STATUS_OK, proxy_seconds_column
from zero_cost.vote import VOTE_MEMBERS

TIMING_COLUMNS: list[str] = [
    "name",
    "kind",
    "n",
    "median_s",
    "mean_s",
    "p95_s",
    "total_s",
    "speedup",
]


def _summary(name: str, kind: str, seconds: np.ndarray, total: float | None = None) -> dict:
    """Median, mean, 95th percentile and total of the finite, non-negative seconds."""
    seconds = seconds[np.isfinite(seconds) & (seconds >= 0)]
    if len(seconds) == 0:
        return {
            "name": name,
            "kind": kind,
            "n": 0,
            "median_s": np.nan,
            "mean_s": np.nan,
            "p95_s": np.nan,
            "total_s": np.nan if total is None else total,
        }
    return {
        "name": name,
        "kind": kind,
        "n": len(seconds),
        "median_s": float(np.median(seconds)),
        "mean_s": float(np.mean(seconds)),
        "p95_s": float(np.percentile(seconds, 95)),
        "total_s": float(seconds.sum()) if total is None else total,
    }


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return ``column`` as floats (all NaN when absent)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _independent(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows that reuse an earlier result."""
    if "repeat_of" not in frame.columns:
        return frame
    return frame[frame["repeat_of"].isna().to_numpy()]


def timing_table(frame: pd.DataFrame, proxies: Sequence[str]) -> pd.DataFrame:
    """Seconds per architecture for every proxy, the vote and training.

    Args:
        frame: All result rows (any status).
        proxies: Proxy names.

    Returns:
        One row per proxy, then ``vote`` (when its members are present) and ``training``, with
        :data:`TIMING_COLUMNS`; ``speedup`` is NaN for training itself.
    """
    frame = _independent(frame)
    rows = [
        _summary(name, "proxy", _numeric(frame, proxy_seconds_column(name))) for name in proxies
    ]
    if all(member in proxies for member in VOTE_MEMBERS):
        members = np.column_stack([_numeric(frame, proxy_seconds_column(m)) for m in VOTE_MEMBERS])
        rows.append(_summary("vote", "vote", members.sum(axis=1)))

    train = _numeric(frame, "train_s")
    ok = (frame["status"].astype("string") == STATUS_OK).fillna(False).to_numpy(dtype=bool)
    finite = train[np.isfinite(train) & (train >= 0)]
    rows.append(
        _summary(
            "training", "training", train[ok], total=float(finite.sum()) if len(finite) else np.nan
        )
    )
    table = pd.DataFrame(rows, columns=TIMING_COLUMNS[:-1])
    training_median = table["median_s"].iloc[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["speedup"] = training_median / table["median_s"]
    table.loc[table["kind"] == "training", "speedup"] = np.nan
    return table


def time_shares(frame: pd.DataFrame, proxies: Sequence[str]) -> pd.DataFrame:
    """Where the study's time went: proxies, training and other work, per study and overall.

    Args:
        frame: All result rows (any status).
        proxies: Proxy names.

    Returns:
        One row per study plus ``all``: ``study``, ``trials``, ``proxy_s``, ``train_s``,
        ``trial_s`` (summed trial durations), ``proxy_share``, ``train_share``,
        ``other_share`` (fractions of ``trial_s``; NaN without timestamps) and ``wall_s``
        (first start to last finish).
    """
    frame = _independent(frame)
    proxy_seconds = _numeric(frame, "proxy_s")
    if np.isnan(proxy_seconds).all() and proxies:
        per_proxy = np.column_stack(
            [_numeric(frame, proxy_seconds_column(name)) for name in proxies]
        )
        proxy_seconds = np.where(
            np.isnan(per_proxy).all(axis=1), np.nan, np.nansum(per_proxy, axis=1)
        )
    started = _timestamps(frame, "started_at")
    finished = _timestamps(frame, "finished_at")
    duration = (finished - started).dt.total_seconds().to_numpy(dtype=float)
    parts = pd.DataFrame(
        {
            "study": frame["study"].astype("string").fillna("").to_numpy()
            if "study" in frame.columns
            else "",
            "proxy_s": proxy_seconds,
            "train_s": _numeric(frame, "train_s"),
            "trial_s": duration,
            "started": started.to_numpy(),
            "finished": finished.to_numpy(),
        }
    )
    rows = [_share_row(str(study), group) for study, group in parts.groupby("study", sort=True)]
    if len(rows) > 1:
        rows.append(_share_row("all", parts))
    return pd.DataFrame(rows)


def _share_row(study: str, parts: pd.DataFrame) -> dict:
    """Sum seconds for one group of trials and express them as shares of trial time."""
    proxy = float(np.nansum(parts["proxy_s"]))
    train = float(np.nansum(parts["train_s"]))
    trial = float(np.nansum(parts["trial_s"])) if parts["trial_s"].notna().any() else np.nan
    wall = np.nan
    if parts["started"].notna().any() and parts["finished"].notna().any():
        wall = (parts["finished"].max() - parts["started"].min()).total_seconds()
    valid = np.isfinite(trial) and trial > 0
    return {
        "study": study,
        "trials": len(parts),
        "proxy_s": proxy,
        "train_s": train,
        "trial_s": trial,
        "proxy_share": proxy / trial if valid else np.nan,
        "train_share": train / trial if valid else np.nan,
        "other_share": max(0.0, 1 - (proxy + train) / trial) if valid else np.nan,
        "wall_s": float(wall),
    }


def _timestamps(frame: pd.DataFrame, column: str) -> pd.Series:
    """Parse a timestamp column (timestamps, ISO text or epoch seconds) as UTC."""
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="s", utc=True, errors="coerce")
    return pd.to_datetime(values, utc=True, errors="coerce")
