"""``zcnas score``: rows, column names and values, the printed table, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import gcn_models.readers
from gcn_models.cost import count_parameters
from gcn_models.network import build_model
from gcn_models.space import default_space
from gcn_models.windows import default_window_config, make_eval_windows
from tuning.cli import main
from zero_cost import compute_proxies, select_scoring_batch

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FAST = ["--window", "16", "--batch-size", "8", "--threads", "1"]


@pytest.fixture(scope="module")
def synthetic():
    """The synthetic dataset, generated once for the whole module."""
    return gcn_models.readers.load_dataset("synthetic")


@pytest.fixture(autouse=True)
def cached_synthetic(monkeypatch: pytest.MonkeyPatch, synthetic) -> None:
    original = gcn_models.readers.load_dataset

    def load(source, **kwargs):
        return (
            synthetic
            if source == "synthetic" and not kwargs.get("layout")
            else original(source, **kwargs)
        )

    monkeypatch.setattr(gcn_models.readers, "load_dataset", load)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_writes_one_row_per_architecture_with_study_columns(tmp_path: Path, synthetic) -> None:
    out = tmp_path / "scores.parquet"
    proxies = "snip,synflow,params,flops"
    assert (
        main(
            [
                "score",
                "--random",
                "2",
                "--seed",
                "3",
                "--proxies",
                proxies,
                *FAST,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = pd.read_parquet(out)
    space = default_space()
    expected_columns = {"arch_key", "params", "flops", "proxy_s", "zc_synflow_log"}
    expected_columns |= {"study", "trial_id", "phase", "status", "seed", "dataset"}
    expected_columns |= {f"arch_{name}" for name in space.names}
    for name in proxies.split(","):
        expected_columns |= {f"zc_{name}", f"zc_{name}_s", f"zc_{name}_status"}
    assert set(rows.columns) == expected_columns
    assert len(rows) == 2

    rng = np.random.default_rng(3)
    archs = [space.sample(rng) for _ in range(2)]
    assert rows["arch_key"].tolist() == [space.arch_key(a) for a in archs]
    for (_, row), arch in zip(rows.iterrows(), archs, strict=True):
        for name in space.names:
            value = row[f"arch_{name}"]
            if arch[name] is None:
                assert value is None or pd.isna(value)  # inactive choice: null
            else:
                assert value == str(arch[name])
        assert set(row[[c for c in rows.columns if c.endswith("_status")]]) <= {"ok", "nan"}
        assert row["params"] == row["zc_params"]
        assert row["flops"] == row["zc_flops"]

    # The same scores from the library, given the documented seeds.
    windows = default_window_config(synthetic, length=16)
    x_all, y_all, _ = make_eval_windows(synthetic, windows)
    batch = select_scoring_batch(x_all, y_all, size=8, seed=3)
    torch.manual_seed(3 * 1_000_003 + 0)
    model = build_model(archs[0], layout=synthetic.layout, in_channels=6, num_classes=2)
    assert rows["params"][0] == count_parameters(model)
    result = compute_proxies(model, batch, names=["snip", "synflow"], seed=3)
    assert rows["zc_snip"][0] == result["snip"].score
    if result["synflow"].status == "ok":
        assert rows["zc_synflow"][0] == result["synflow"].score
        assert rows["zc_synflow_log"][0] == pytest.approx(math.log(result["synflow"].score))


def test_prints_a_compact_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--random", "1", "--proxies", "jacob_cov,nwot,flops", *FAST]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["arch_key", "params", "flops", "jacob_cov", "nwot"]
    assert "1 architectures scored" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--random", "0"], "--random must be >= 1"),
        (["--random", "1", "--proxies", "nope"], "unknown proxy `nope`"),
        (["--random", "1", "--proxies", "vote"], "vote_copeland"),
        (["--random", "1", "--out", "x.csv"], ".parquet"),
        (["--random", "1", "--layers", "weights"], "unknown layer set"),
        (["--random", "1", "--batch-size", "1"], "--batch-size must be >= 2"),
        (["--random", "1", "--data", "/nonexistent/dir"], "no such file"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.real_data
def test_scores_real_msr_action3d_sequences(tmp_path: Path) -> None:
    source = DATA / "msr_action3d"
    if not source.is_dir():
        pytest.skip(f"{source} is not available")
    out = tmp_path / "msr.parquet"
    argv = ["score", "--random", "1", "--data", str(source), "--proxies", "snip,nwot,epe_nas"]
    with pytest.warns(UserWarning):  # the reader reports gaps in a few recordings
        assert main([*argv, "--batch-size", "40", "--threads", "1", "--out", str(out)]) == 0
    row = pd.read_parquet(out).iloc[0]
    assert row["zc_snip_status"] == "ok" and row["zc_nwot_status"] == "ok"
    assert row["zc_epe_nas_status"] == "ok"  # 20 classes, two windows each


def _fake_study(root: Path, name: str = "s1") -> tuple[Path, np.ndarray, np.ndarray]:
    """A study directory as ``zcnas tune`` leaves it: study.json and scoring_batch.npz."""
    import json

    study = root / name
    study.mkdir(parents=True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 6, 16, 19)).astype(np.float32)
    y = np.array([0, 1, 0, 1, 0, 1], dtype=np.int64)
    np.savez_compressed(study / "scoring_batch.npz", x=x, y=y)
    meta = {"layout": "infant19", "num_classes": 2, "dataset": "synthetic(subjects=9,seed=5)"}
    (study / "study.json").write_text(json.dumps(meta))
    return study, x, y


def test_study_flag_scores_on_the_batch_the_study_saved(tmp_path: Path) -> None:
    study, x, y = _fake_study(tmp_path)
    out = tmp_path / "more.parquet"
    argv = ["score", "--random", "2", "--seed", "1", "--study", str(study), "--threads", "1"]
    assert main([*argv, "--proxies", "snip,params", "--out", str(out)]) == 0
    rows = pd.read_parquet(out)
    assert rows["study"].tolist() == ["s1", "s1"]
    assert rows["trial_id"].tolist() == ["score-0000", "score-0001"]
    assert set(rows["status"]) == {"ok"} and set(rows["dataset"]) == {
        "synthetic(subjects=9,seed=5)"
    }

    arch = default_space().sample(np.random.default_rng(1))
    torch.manual_seed(1 * 1_000_003 + 0)
    model = build_model(arch, layout="infant19", in_channels=6, num_classes=2)
    expected = compute_proxies(
        model, (torch.from_numpy(x), torch.from_numpy(y)), names=["snip"], seed=1
    )
    assert rows["zc_snip"][0] == expected["snip"].score


def test_analyze_reads_score_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.parquet"
    argv = ["score", "--random", "4", "--proxies", "snip,synflow,params", *FAST]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--metric", "params", "--bootstrap", "200"]) == 0
    printed = capsys.readouterr().out
    assert "snip" in printed and "synflow" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "synthetic"], "drop --data"),
        (["--window", "16", "--batch-size", "8"], "drop --window, --batch-size"),
    ],
)
def test_study_flag_refuses_data_flags(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    study, _, _ = _fake_study(tmp_path)
    assert main(["score", "--random", "1", "--study", str(study), *extra]) == 2
    assert message in capsys.readouterr().err


def test_study_flag_names_what_is_missing(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["score", "--random", "1", "--study", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "no study.json" in err and "written by `zcnas tune`" in err


def test_reports_each_architecture_without_verbose_flag(caplog: pytest.LogCaptureFixture) -> None:
    assert main(["score", "--random", "2", "--proxies", "flops", *FAST]) == 0
    progress = [r.getMessage() for r in caplog.records if r.name == "zero_cost.cli"]
    assert [m.split()[0] for m in progress if m[0].isdigit()] == ["1/2", "2/2"]
