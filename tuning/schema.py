"""The results schema: one row per trial, the public contract between the study and the analysis.

Column groups (see README, "Results schema"):

* identity: ``study``, ``trial_id``, ``phase``, ``arch_key``, ``arch_<choice>`` (value as text,
  null when the choice is inactive), ``config_json``;
* proxies: ``zc_<proxy>`` score, ``zc_<proxy>_s`` seconds, ``zc_<proxy>_status``; auxiliary
  ``zc_*`` columns (such as ``zc_synflow_log``) have no ``_status`` partner;
* training: ``val_auc``, ``val_accuracy``, ``best_epoch``, ``epochs``, ``train_s``, ``proxy_s``,
  ``val_auc_curve`` (one value per epoch);
* size: ``params``, ``flops``;
* bookkeeping: ``status`` (``ok``, ``failed``, ``pruned``), ``error``, ``repeat_of``, ``seed``,
  ``started_at``, ``finished_at``, ``node``, ``device``, ``dataset``, ``attempt``.

Every file is cast to the explicit schema built here before it is written, so conditional
columns keep one type across files (a lesson from the Ray/Optuna notes: inferred schemas drop or
mistype columns that only some files hold).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

STATUSES = ("ok", "failed", "pruned")
PHASES = ("search", "warmup", "proxies", "replicate")

_TIMESTAMP = pa.timestamp("us", tz="UTC")

# Fixed columns and their types, in output order.
BASE_COLUMNS: dict[str, pa.DataType] = {
    "study": pa.string(),
    "trial_id": pa.string(),
    "phase": pa.string(),
    "arch_key": pa.string(),
    "val_auc": pa.float64(),
    "val_accuracy": pa.float64(),
    "best_epoch": pa.int64(),
    "epochs": pa.int64(),
    "train_s": pa.float64(),
    "proxy_s": pa.float64(),
    "params": pa.int64(),
    "flops": pa.int64(),
    "status": pa.string(),
    "error": pa.string(),
    "repeat_of": pa.string(),
    "seed": pa.int64(),
    "started_at": _TIMESTAMP,
    "finished_at": _TIMESTAMP,
    "node": pa.string(),
    "device": pa.string(),
    "dataset": pa.string(),
    "attempt": pa.int64(),
    "val_auc_curve": pa.list_(pa.float64()),
    "config_json": pa.string(),
}


def arch_column(choice: str) -> str:
    """Column name of a search-space choice."""
    return f"arch_{choice}"


def proxy_columns(proxy: str) -> tuple[str, str, str]:
    """Score, seconds and status column names of a proxy."""
    return f"zc_{proxy}", f"zc_{proxy}_s", f"zc_{proxy}_status"


def arch_value_text(value: Any) -> str | None:
    """Text form of a choice value (``None`` stays null: the choice is inactive)."""
    return None if value is None else str(value)


def results_schema(
    choices: Iterable[str], proxies: Iterable[str], extra: Mapping[str, Any] | None = None
) -> pa.Schema:
    """Build the explicit Parquet schema of a study.

    Args:
        choices: Search-space choice names (become ``arch_<choice>`` string columns).
        proxies: Proxy names (become ``zc_<name>``, ``zc_<name>_s``, ``zc_<name>_status``).
        extra: Other columns of a row that are not covered above (auxiliary proxy values); their
            types are inferred from the values (float for numbers, string otherwise).

    Returns:
        The schema, fixed columns first.
    """
    fields = [pa.field(name, dtype) for name, dtype in BASE_COLUMNS.items()]
    fields += [pa.field(arch_column(c), pa.string()) for c in choices]
    for proxy in proxies:
        score, seconds, status = proxy_columns(proxy)
        fields += [
            pa.field(score, pa.float64()),
            pa.field(seconds, pa.float64()),
            pa.field(status, pa.string()),
        ]
    known = {f.name for f in fields}
    for name, value in sorted((extra or {}).items()):
        if name in known:
            continue
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        fields.append(pa.field(name, pa.float64() if is_number else pa.string()))
    return pa.schema(fields)


def normalise_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Turn non-finite floats into nulls so Parquet holds no inf sentinels.

    NaN scores are kept as null in Parquet; the ``_status`` column says why (``nan`` or
    ``failed``).
    """
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[name] = value
    return out


def row_to_table(row: Mapping[str, Any], schema: pa.Schema) -> pa.Table:
    """A one-row table cast to `schema`; unknown keys raise so nothing is silently dropped.

    Raises:
        ValueError: If the row holds a column the schema does not know, or a bad `status`.
    """
    unknown = sorted(set(row) - set(schema.names))
    if unknown:
        raise ValueError(f"result row has columns missing from the study schema: {unknown}")
    status = row.get("status")
    if status not in STATUSES:
        raise ValueError(f"result row `status` is {status!r}; expected one of {STATUSES}")
    clean = normalise_row(row)
    return pa.Table.from_pylist([clean], schema=schema)
