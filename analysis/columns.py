"""Column-name conventions of the per-trial result files (see docs/ARCHITECTURE.md).

A proxy is a column ``zc_<name>`` that has a matching ``zc_<name>_status`` column; its
runtime in seconds is ``zc_<name>_s``. Other ``zc_*`` columns (such as ``zc_synflow_log``) are
auxiliary. A status column whose score column is absent from every file belongs to a proxy
that never produced a score. This module only knows names and the type each known column
must have; it reads no data.
"""

from __future__ import annotations

from collections.abc import Iterable

PROXY_PREFIX = "zc_"
STATUS_SUFFIX = "_status"
SECONDS_SUFFIX = "_s"

#: Size baselines correlated next to the proxies (labelled as baselines).
BASELINE_COLUMNS: tuple[str, ...] = ("params", "flops")

#: Columns every result file must contain (values may be null).
REQUIRED_COLUMNS: tuple[str, ...] = ("arch_key", "status")

#: Known columns that must hold numbers (integer or floating point) when present.
NUMERIC_COLUMNS: frozenset[str] = frozenset(
    {
        "val_auc",
        "val_accuracy",
        "train_s",
        "proxy_s",
        "params",
        "flops",
        "epochs",
        "best_epoch",
        "seed",
    }
)

#: Known columns that must hold text when present.
TEXT_COLUMNS: frozenset[str] = frozenset(
    {"study", "arch_key", "status", "error", "node", "device", "dataset"}
)

#: Identifier columns that may be text or integers.
ID_COLUMNS: frozenset[str] = frozenset({"trial_id", "repeat_of"})

#: Wall-clock columns: timestamps, ISO text or epoch seconds.
TIME_COLUMNS: frozenset[str] = frozenset({"started_at", "finished_at"})

#: Trial outcomes written by the study; any other value is reported as "other status".
STATUS_OK = "ok"


def proxy_column(name: str) -> str:
    """Return the score column of proxy ``name`` (``zc_<name>``)."""
    return f"{PROXY_PREFIX}{name}"


def proxy_status_column(name: str) -> str:
    """Return the status column of proxy ``name`` (``zc_<name>_status``)."""
    return f"{PROXY_PREFIX}{name}{STATUS_SUFFIX}"


def proxy_seconds_column(name: str) -> str:
    """Return the runtime column of proxy ``name`` (``zc_<name>_s``, seconds)."""
    return f"{PROXY_PREFIX}{name}{SECONDS_SUFFIX}"


def proxy_names(columns: Iterable[str]) -> list[str]:
    """Return the proxy names found in ``columns``, sorted.

    A status column ``zc_<name>_status`` marks a proxy. Its score column ``zc_<name>`` is
    normally present too; when it is not (a proxy that was null for every trial, so no file
    holds the column), the proxy is still returned, so its failures are reported rather than
    the proxy silently disappearing.

    Args:
        columns: Column names of a result table.

    Returns:
        Proxy names ``<name>``.
    """
    names = set()
    for column in set(columns):
        if column.startswith(PROXY_PREFIX) and column.endswith(STATUS_SUFFIX):
            name = column[len(PROXY_PREFIX) : -len(STATUS_SUFFIX)]
            if name:
                names.add(name)
    return sorted(names)


def expected_kind(column: str, proxies: Iterable[str]) -> str | None:
    """Return the kind of values ``column`` must hold, or None when any type is accepted.

    Args:
        column: A column name.
        proxies: Proxy names detected in the same result set.

    Returns:
        ``"numeric"``, ``"text"``, ``"id"`` (text or integer), ``"time"`` or None.
    """
    if column in NUMERIC_COLUMNS:
        return "numeric"
    if column in TEXT_COLUMNS:
        return "text"
    if column in ID_COLUMNS:
        return "id"
    if column in TIME_COLUMNS:
        return "time"
    for name in proxies:
        if column in (proxy_column(name), proxy_seconds_column(name)):
            return "numeric"
        if column == proxy_status_column(name):
            return "text"
    return None
