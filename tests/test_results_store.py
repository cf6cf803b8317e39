"""The Parquet record: atomic one-file-per-trial writes, unified reads, schema checks."""

import math
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from tuning.results import ResultStore
from tuning.schema import results_schema, row_to_table

CHOICES = ("graph", "se", "se_ratio")
PROXIES = ("snip", "synflow")


def _row(trial_id, **extra):
    row = {
        "study": "s",
        "trial_id": trial_id,
        "phase": "search",
        "arch_key": "abc",
        "arch_graph": "spatial",
        "arch_se": "null",
        "arch_se_ratio": None,
        "zc_snip": 1.5,
        "zc_snip_s": 0.1,
        "zc_snip_status": "ok",
        "zc_synflow": math.nan,
        "zc_synflow_s": 0.2,
        "zc_synflow_status": "nan",
        "status": "ok",
        "seed": 0,
        "started_at": datetime.now(timezone.utc),
    }
    row.update(extra)
    return row


def _write(store, row):
    schema = results_schema(CHOICES, PROXIES, extra=row)
    return store.write_row(row["trial_id"], row_to_table(row, schema))


def test_one_file_per_trial_and_rewrite_replaces(tmp_path):
    store = ResultStore(str(tmp_path), "s")
    _write(store, _row("t1", val_auc=0.6))
    _write(store, _row("t2", val_auc=0.7))
    _write(store, _row("t1", val_auc=0.9))  # a retry rewrites, never duplicates
    files = sorted(p.name for p in (tmp_path / "s" / "trials").iterdir())
    assert files == ["trial-t1.parquet", "trial-t2.parquet"]
    rows = store.read_rows().set_index("trial_id")
    assert len(rows) == 2
    assert rows.loc["t1", "val_auc"] == pytest.approx(0.9)


def test_nan_scores_become_null_and_types_follow_the_schema(tmp_path):
    store = ResultStore(str(tmp_path), "s")
    path = _write(store, _row("t1"))
    table = pq.read_table(path)
    assert table.schema.field("zc_synflow").type == "double"
    assert table.column("zc_synflow").to_pylist() == [None]
    assert table.schema.field("arch_se_ratio").type == "string"
    assert table.column("zc_synflow_status").to_pylist() == ["nan"]


def test_columns_that_only_some_files_have_are_kept(tmp_path):
    store = ResultStore(str(tmp_path), "s")
    _write(store, _row("t1"))
    _write(store, _row("t2", zc_synflow_log=12.5))
    rows = store.read_rows().set_index("trial_id")
    assert "zc_synflow_log" in rows
    assert math.isnan(rows.loc["t1", "zc_synflow_log"])
    assert rows.loc["t2", "zc_synflow_log"] == 12.5


def test_hidden_temporary_files_are_not_read(tmp_path):
    store = ResultStore(str(tmp_path), "s")
    _write(store, _row("t1"))
    (tmp_path / "s" / "trials" / ".trial-t9.1234.tmp").write_bytes(b"half a file")
    assert list(store.read_rows()["trial_id"]) == ["t1"]


def test_file_uri_storage(tmp_path):
    store = ResultStore(f"file://{tmp_path}", "s")
    _write(store, _row("t1"))
    assert (tmp_path / "s" / "trials" / "trial-t1.parquet").is_file()
    assert store.read_row("t1")["zc_snip"] == 1.5


def test_unknown_column_and_bad_status_are_refused():
    schema = results_schema(CHOICES, PROXIES)
    with pytest.raises(ValueError, match="zc_mystery"):
        row_to_table(_row("t1", zc_mystery_status="ok"), results_schema(CHOICES, PROXIES))
    with pytest.raises(ValueError, match="status"):
        row_to_table(_row("t1", status="done"), schema)


def test_json_metadata_round_trip(tmp_path):
    store = ResultStore(str(tmp_path), "s")
    store.write_json("study.json", {"a": 1, "b": [1, 2]})
    assert store.read_json("study.json") == {"a": 1, "b": [1, 2]}
    assert store.read_json("missing.json") is None
    with pytest.raises(ValueError, match="study name"):
        ResultStore(str(tmp_path), "a/b")


def test_replicates_are_picked_by_auc_and_run_longest_first(tmp_path):
    import json

    from tuning.study import replicate_choices

    store = ResultStore(str(tmp_path), "s")
    # (val_auc, train_s): picks spread over the AUC ranking are the 1st, 3rd and 5th.
    for i, (auc, train_s) in enumerate(
        [(0.5, 10.0), (0.6, 99.0), (0.7, 30.0), (0.8, 1.0), (0.9, 20.0)]
    ):
        config = {"graph": f"g{i}"}
        _write(
            store,
            _row(
                f"t{i}",
                arch_key=f"k{i}",
                val_auc=auc,
                train_s=train_s,
                config_json=json.dumps(config),
                finished_at=datetime.now(timezone.utc),
            ),
        )
    picked = replicate_choices(store, 3)
    assert [c["graph"] for c in picked] == ["g2", "g4", "g0"]  # 30 s, 20 s, 10 s
