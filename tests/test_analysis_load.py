"""Loading result sets: layouts, schema unification, hidden files and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.load import load_results, study_from_path
from analysis.synthetic import make_results, write_trial_files


def _row(**values) -> pa.Table:
    base = {"trial_id": "t0", "arch_key": "a0", "status": "ok", "val_auc": 0.7}
    base.update(values)
    return pa.table({k: [v] for k, v in base.items()})


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("results")
    frame = pd.concat(
        [
            make_results(12, study="alpha", seed=1),
            make_results(8, study="beta", seed=2),
        ],
        ignore_index=True,
    )
    write_trial_files(frame, root)
    return root, frame


def test_root_with_two_studies_reads_every_trial(two_studies):
    root, frame = two_studies
    loaded = load_results(root)
    assert len(loaded) == len(frame)
    assert sorted(loaded["study"].unique()) == ["alpha", "beta"]
    assert set(loaded["trial_id"]) == set(frame["trial_id"])
    # Conditional column present only in some files: kept, null elsewhere.
    assert loaded["arch_attention"].isna().any() and loaded["arch_attention"].notna().any()
    # Values survive the round trip.
    merged = loaded.set_index("trial_id").loc[frame["trial_id"], "val_auc"].to_numpy()
    pd.testing.assert_series_equal(
        pd.Series(merged), frame["val_auc"].reset_index(drop=True), check_names=False
    )
    assert loaded["source_file"].astype(str).str.endswith(".parquet").all()


def test_any_directory_level_and_files_and_no_double_reading(two_studies):
    root, frame = two_studies
    n_alpha = int((frame["study"] == "alpha").sum())
    assert len(load_results(root / "alpha")) == n_alpha
    assert len(load_results(root / "alpha" / "trials")) == n_alpha
    files = sorted((root / "beta" / "trials").glob("*.parquet"))[:3]
    assert len(load_results(files)) == 3
    # A root and one of its studies given together: each file is read once.
    assert len(load_results([root, root / "alpha"])) == len(frame)


def test_file_uri(two_studies):
    root, frame = two_studies
    loaded = load_results(f"file://{root / 'beta'}")
    assert len(loaded) == int((frame["study"] == "beta").sum())
    assert loaded["source_file"].astype(str).str.startswith("file://").all()


def test_hidden_and_non_parquet_files_are_ignored(tmp_path):
    trials = tmp_path / "s" / "trials"
    trials.mkdir(parents=True)
    pq.write_table(_row(trial_id="kept"), trials / "trial-1.parquet")
    pq.write_table(_row(trial_id="temp"), trials / ".trial-2.parquet.tmp.parquet")
    pq.write_table(_row(trial_id="underscore"), trials / "_trial-3.parquet")
    (tmp_path / "s" / "study.json").write_text("{}")
    (trials / "notes.txt").write_text("not a result")
    loaded = load_results(tmp_path)
    assert loaded["trial_id"].tolist() == ["kept"]


def test_study_derived_from_directory_when_missing(tmp_path):
    (tmp_path / "mystudy" / "trials").mkdir(parents=True)
    (tmp_path / "study=hive").mkdir()
    pq.write_table(_row(), tmp_path / "mystudy" / "trials" / "trial-1.parquet")
    pq.write_table(_row(trial_id="t1"), tmp_path / "study=hive" / "trial-2.parquet")
    loaded = load_results(tmp_path).sort_values("trial_id")
    assert loaded["study"].tolist() == ["mystudy", "hive"]
    assert study_from_path("/x/plain/trial-3.parquet") == "plain"


def test_types_are_promoted_across_files(tmp_path):
    pq.write_table(_row(trial_id="a", seed=1, extra=3), tmp_path / "trial-a.parquet")
    pq.write_table(_row(trial_id="b", seed=2, extra=2.5), tmp_path / "trial-b.parquet")
    pq.write_table(_row(trial_id="c", extra=None), tmp_path / "trial-c.parquet")
    loaded = load_results(tmp_path).sort_values("trial_id")
    assert loaded["extra"].tolist()[:2] == [3.0, 2.5]
    assert pd.isna(loaded["extra"].iloc[2])
    assert pd.isna(loaded["seed"].iloc[2])


def test_empty_or_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Parquet result files"):
        load_results(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_results(tmp_path / "absent")
    with pytest.raises(ValueError, match="no result path"):
        load_results([])


def test_not_parquet_names_the_file(tmp_path):
    bad = tmp_path / "trial-1.parquet"
    bad.write_text("this is not parquet")
    with pytest.raises(ValueError, match=r"trial-1\.parquet: not a readable Parquet file"):
        load_results(tmp_path)
    text = tmp_path / "results.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"results\.csv: not a readable Parquet file"):
        load_results(text)


def test_missing_required_column_names_file_and_column(tmp_path):
    table = _row().drop_columns(["status"])
    pq.write_table(table, tmp_path / "trial-9.parquet")
    with pytest.raises(ValueError, match=r"trial-9\.parquet: column `status` is missing"):
        load_results(tmp_path)


def test_wrong_type_names_file_and_column(tmp_path):
    pq.write_table(_row(val_auc="high"), tmp_path / "trial-5.parquet")
    with pytest.raises(ValueError, match=r"trial-5\.parquet: column `val_auc` has type string"):
        load_results(tmp_path)
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    pq.write_table(
        _row(zc_snip=1.0, zc_snip_status=3), tmp_path / "trial-6.parquet"
    )  # status must be text
    with pytest.raises(ValueError, match="column `zc_snip_status` has type int64"):
        load_results(tmp_path)


def test_conflicting_types_of_an_extra_column_name_both_files(tmp_path):
    pq.write_table(_row(trial_id="a", note_x="text"), tmp_path / "trial-a.parquet")
    pq.write_table(_row(trial_id="b", note_x=[1, 2]), tmp_path / "trial-b.parquet")
    with pytest.raises(ValueError, match=r"column `note_x` has type .*trial-.*trial-"):
        load_results(tmp_path)


def test_metric_that_is_also_a_predictor_column_is_not_correlated_with_itself(tmp_path):
    import numpy as np
    import pandas as pd

    from analysis import analyze

    rng = np.random.default_rng(0)
    n = 12
    frame = pd.DataFrame(
        {
            "study": "s",
            "trial_id": [f"t{i}" for i in range(n)],
            "arch_key": [f"k{i}" for i in range(n)],
            "status": "ok",
            "val_auc": rng.random(n),
            "params": rng.integers(1000, 9000, n),
            "flops": rng.integers(10**6, 10**7, n),
            "zc_snip": rng.random(n),
            "zc_snip_s": 0.1,
            "zc_snip_status": "ok",
        }
    )
    result = analyze(frame, metric="params", bootstrap=200, permutations=99, cv_repeats=2)
    assert "params" not in set(result.correlations["proxy"])
    assert {"snip", "flops"} <= set(result.correlations["proxy"])
