"""The report, the figures and ``zcnas analyze`` on small synthetic result sets."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.diagnostics import AnalysisWarning
from analysis.formatting import fmt, fmt_interval
from analysis.load import load_results
from analysis.pipeline import analyze
from analysis.report import CORRELATION_CSV_COLUMNS, render_markdown, write_report
from analysis.synthetic import make_results, write_trial_files
from analysis.terminal import summary_lines
from tuning.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAST = ["--bootstrap", "200", "--permutations", "99", "--cv-repeats", "2"]


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    write_trial_files(make_results(40, study="alpha", seed=3), root)
    write_trial_files(make_results(20, study="beta", seed=4), root)
    return root


@pytest.fixture(scope="module")
def result(result_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        return analyze(
            load_results(result_dir), bootstrap=300, permutations=199, seed=1, cv_repeats=2
        )


def test_analysis_of_two_studies(result):
    table = result.correlations.set_index("proxy")
    assert set(result.studies["study"]) == {"alpha", "beta"}
    assert len(result.architectures) == result.studies["architectures"].sum()
    for name in (
        "synflow",
        "jacob_cov",
        "snip",
        "params",
        "flops",
        "vote (Copeland)",
        "ridge (cv)",
    ):
        assert name in table.index
    assert "synflow_log" not in table.index  # auxiliary column, not a proxy
    assert table.loc["params", "kind"] == "baseline"
    assert table.loc["vote (Copeland)", "kind"] == "vote"
    rho = result.correlations["spearman_rho"].to_numpy()
    assert np.all(np.diff(rho[np.isfinite(rho)]) <= 0)  # sorted by rho
    tested = result.correlations["p_value"].notna()
    assert (
        result.correlations.loc[tested, "p_holm"] >= result.correlations.loc[tested, "p_value"]
    ).all()


def test_report_files_and_figures(result, tmp_path):
    paths = write_report(result, tmp_path / "out")
    for key in (
        "report",
        "correlations",
        "timing",
        "time_shares",
        "topk",
        "figure_correlations",
        "figure_scatter",
        "figure_timing",
    ):
        assert paths[key].exists(), key
    for key in ("figure_correlations", "figure_scatter", "figure_timing"):
        data = paths[key].read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000
    csv = pd.read_csv(paths["correlations"])
    assert list(csv.columns) == CORRELATION_CSV_COLUMNS
    assert csv.columns[:11].tolist() == [
        "proxy",
        "n",
        "n_nan",
        "spearman_rho",
        "spearman_lo",
        "spearman_hi",
        "kendall_tau",
        "p_value",
        "p_holm",
        "partial_rho",
        "top10_overlap",
    ]
    assert len(pd.read_csv(paths["timing"])) == len(result.timing)
    report = paths["report"].read_text(encoding="utf-8")
    for heading in (
        "## Data",
        "## Rank correlation",
        "## Vote",
        "## Top-k overlap",
        "## Learned combination",
        "## Noise ceiling",
        "## Cost",
    ):
        assert heading in report
    assert "![correlations](correlations.png)" in report
    assert "| synflow |" in report


def test_cli_writes_report_and_prints_table(result_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["analyze", str(result_dir), "--out", str(out), "--no-figures", *FAST])
    assert code == 0
    printed = capsys.readouterr()
    assert "Rank correlation with val_auc" in printed.out
    assert (out / "report.md").exists() and not (out / "scatter.png").exists()
    assert main(["analyze", str(result_dir), "--metric", "val_accuracy", *FAST]) == 0


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"zcnas analyze: error: {tmp_path}: no Parquet result files (*.parquet) "
        "in this directory or below"
    ]
    junk = tmp_path / "trial-1.parquet"
    junk.write_text("junk")
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not a readable Parquet file" in capsys.readouterr().err
    junk.unlink()
    pq.write_table(pa.table({"arch_key": ["a"], "status": ["ok"]}), junk)
    assert main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "metric column `val_auc` is not in the results" in err
    assert "Traceback" not in err


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    root = tmp_path / "results"
    write_trial_files(frame, root)
    return root


def test_constant_metric_reports_reasons_and_exits_1(tmp_path, capsys):
    frame = make_results(12, seed=5, failed_fraction=0, pruned_fraction=0)
    frame["val_auc"] = 0.5
    root = _write(tmp_path, frame)
    out = tmp_path / "out"
    assert main(["analyze", str(root), "--out", str(out), *FAST]) == 1
    captured = capsys.readouterr()
    assert "warning: `val_auc` is constant" in captured.err
    assert "no correlation could be computed (metric is constant)" in captured.err
    csv = pd.read_csv(out / "correlations.csv")
    single = csv[csv["kind"] != "combination"]
    assert single["spearman_rho"].isna().all()
    assert single["note"].str.contains("metric is constant").all()


def test_fewer_than_three_architectures(tmp_path, capsys):
    frame = make_results(
        2, seed=6, failed_fraction=0, pruned_fraction=0, repeat_fraction=0, reuse_fraction=0
    )
    root = _write(tmp_path, frame)
    assert main(["analyze", str(root), *FAST]) == 1
    err = capsys.readouterr().err
    assert "only 2 usable architecture(s)" in err
    assert "fewer than 3 architectures" in err


def test_all_nan_proxy_is_reported_not_dropped(tmp_path, capsys):
    frame = make_results(15, seed=7)
    frame["zc_grasp"] = np.nan
    frame["zc_grasp_status"] = "nan"
    root = _write(tmp_path, frame)
    out = tmp_path / "out"
    assert main(["analyze", str(root), "--out", str(out), "--no-figures", *FAST]) == 0
    # Null in every file, so no file holds `zc_grasp`: the status column still marks it.
    assert not any("zc_grasp" in pq.read_schema(p).names for p in root.rglob("*.parquet"))
    csv = pd.read_csv(out / "correlations.csv").set_index("proxy")
    n = int(csv.loc["synflow", "n"])
    assert f"grasp {n}/{n} (all)" in capsys.readouterr().err
    row = csv.loc["grasp"]
    assert np.isnan(row["spearman_rho"]) and row["note"] == "all scores NaN"
    assert row["n_nan"] == n


def test_small_study_report_states_the_top10_chance_it_uses(tmp_path):
    write_trial_files(make_results(6, seed=1), tmp_path / "small")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        small = analyze(load_results(tmp_path / "small"), bootstrap=200, permutations=99, seed=0)
    n = len(small.architectures)
    write_report(small, tmp_path / "report", figures=False)
    text = (tmp_path / "report" / "report.md").read_text()
    assert f"chance here: {100 / n:.1f}%" in text  # one architecture of n, not 10 %


def _with_replicates(k: int, n: int = 12, seed: int = 8) -> pd.DataFrame:
    """``n`` architectures trained once; the first ``k`` trained again with seed 1."""
    frame = make_results(
        n,
        seed=seed,
        repeat_fraction=0,
        reuse_fraction=0,
        failed_fraction=0,
        pruned_fraction=0,
    )
    again = frame.iloc[:k].copy()
    again["seed"] = 1
    again["trial_id"] = [f"again-{i}" for i in range(k)]
    again["val_auc"] += 0.05 * np.random.default_rng(seed).normal(size=k)
    return pd.concat([frame, again], ignore_index=True)


def _analyze_quietly(frame: pd.DataFrame, bootstrap: int = 200):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        return analyze(frame, bootstrap=bootstrap, permutations=99, seed=0, cv_repeats=2)


def _ceiling_outputs(result) -> tuple[str, str]:
    """The console's noise-ceiling line and the report's noise-ceiling section."""
    line = next(
        text
        for text in summary_lines(result).plain.splitlines()
        if text.startswith("noise ceiling")
    )
    report = render_markdown(result, figures=False)
    section = report[report.index("## Noise ceiling") :].split("\n## ")[0]
    return line, section


def test_noise_ceiling_without_replicates_says_so():
    line, section = _ceiling_outputs(_analyze_quietly(_with_replicates(0)))
    reason = "no replicated architectures (run the study with --replicate K)"
    assert line == f"noise ceiling (ρ between two seeds): {reason}"
    assert "No replicated architectures (run the study with --replicate K)." in section
    assert "—" not in line + section


def test_noise_ceiling_from_too_few_replicates_is_not_estimated():
    line, section = _ceiling_outputs(_analyze_quietly(_with_replicates(2)))
    reason = (
        "too few replicated architectures (2) to estimate the noise ceiling; "
        "run with --replicate K, K >= 3"
    )
    assert line == f"noise ceiling (ρ between two seeds): {reason}"
    assert reason[0].upper() + reason[1:] in section
    assert "No proxy can be shown" not in section and "—" not in line + section


def test_noise_ceiling_without_interval_keeps_rho_and_draws_no_conclusion():
    # Three architectures: the bootstrap resamples are constant so often that the interval
    # is undefined; rho is still shown, the reason in words, and no conclusion is drawn.
    result = _analyze_quietly(_with_replicates(3))
    ceiling = result.noise_ceiling
    assert np.isfinite(ceiling.rho) and np.isnan(ceiling.lo) and ceiling.n == 3
    line, section = _ceiling_outputs(result)
    reason = "no interval: too few replicated architectures for the bootstrap"
    assert (
        line
        == f"noise ceiling (ρ between two seeds): {fmt(ceiling.rho)} ({reason}), 3 architectures"
    )
    assert f"{fmt(ceiling.rho)} over 3 architectures; {reason}" in section
    assert "No proxy can be shown" not in section and "—" not in line + section


def test_noise_ceiling_with_interval_draws_the_conclusion():
    result = _analyze_quietly(_with_replicates(12))
    ceiling = result.noise_ceiling
    interval = fmt_interval(ceiling.lo, ceiling.hi)
    assert "—" not in interval
    line, section = _ceiling_outputs(result)
    assert (
        line
        == f"noise ceiling (ρ between two seeds): {fmt(ceiling.rho)} {interval}, 12 architectures"
    )
    assert f"{fmt(ceiling.rho)} {interval} over 12 architectures. No proxy can be shown" in section


def test_noise_ceiling_with_bootstrap_disabled_says_so():
    result = _analyze_quietly(_with_replicates(12), bootstrap=0)
    line, section = _ceiling_outputs(result)
    assert line.endswith("(no interval: bootstrap disabled by --bootstrap 0), 12 architectures")
    assert "No proxy can be shown" in section and "—" not in line + section


def test_two_architectures_have_no_pairwise_accuracy():
    # One pair: every pairwise accuracy would be 0 or 1. Like rho, it needs 3 architectures.
    result = _analyze_quietly(_with_replicates(0, n=2))
    assert np.isnan(result.vote.pairwise_accuracy)
    table = result.correlations.set_index("proxy")
    assert table["pairwise_acc"].isna().all()
    single = table[table["kind"] != "combination"]
    assert single["note"].str.contains("fewer than 3 architectures (n=2)", regex=False).all()
    line = summary_lines(result).plain.splitlines()[0]
    assert line == (
        "vote pairwise accuracy (not a ρ): — over 2 architectures "
        "(fewer than 3 architectures (n=2))"
    )
    report = render_markdown(result, figures=False)
    assert "| pairwise ranking accuracy (not a ρ) | — | 2 |" in report
    assert "pairwise accuracy undefined: fewer than 3 architectures (n=2)" in report


def test_two_architectures_warn_that_pairwise_accuracies_are_nan(tmp_path, capsys):
    root = _write(tmp_path, _with_replicates(0, n=2))
    assert main(["analyze", str(root), *FAST]) == 1
    captured = capsys.readouterr()
    assert "correlations and pairwise accuracies need at least 3" in captured.err
    assert "vote pairwise accuracy (not a ρ): — over 2 architectures" in captured.out
