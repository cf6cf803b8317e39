"""A three-trial study on a subset of the real MSR Action3D data, end to end through the CLI.

Skipped when ../shared/data is absent (the data is not redistributed with the project).
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
MSR = REPO.parent / "shared" / "data" / "msr_action3d"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.real_data,
    pytest.mark.skipif(not (MSR / "skeleton3D").is_dir(), reason="../shared/data is absent"),
]

TINY_SPACE = """
input_width: [6]
num_input_modules: [1]
initial_main_width: [6]
num_main_levels: [1]
num_main_level_modules: [1]
temporal_kernel_size: [3]
"""


def _zcnas(*args):
    return subprocess.run(
        [sys.executable, "-m", "tuning.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_three_trial_study_on_msr_subset_with_report_and_final_test(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(TINY_SPACE)
    run = _zcnas(
        "tune",
        "--data",
        str(MSR),
        "--data-option",
        "actions=[1,2,14]",
        "--holdout-subjects",
        "s02,s04,s06,s08,s10",
        "--val-fraction",
        "0.4",
        "--num-samples",
        "3",
        "--sampler",
        "random",
        "--replicate",
        "0",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--scoring-batch",
        "12",
        "--window",
        "16",
        "--proxies",
        "snip,synflow,jacob_cov,params,flops",
        "--space",
        str(space),
        "--storage",
        str(tmp_path),
        "--name",
        "msr",
        "--max-concurrent",
        "2",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = pd.read_parquet(tmp_path / "msr" / "trials")
    assert len(rows) == 3 and (rows["status"] == "ok").all()
    assert rows["val_auc"].between(0, 1).all() and rows["val_accuracy"].between(0, 1).all()
    assert (rows["dataset"] == str(MSR)).all()
    report = (tmp_path / "msr" / "report" / "report.md").read_text()
    assert "snip" in report and "val_auc" in report
    meta = json.loads((tmp_path / "msr" / "study.json").read_text())
    assert meta["layout"] == "kinect20" and meta["scoring_batch_shape"][1] == 9

    final = _zcnas("tune", "--final-test", "msr", "--storage", str(tmp_path), "--epochs", "1")
    assert final.returncode == 0, final.stdout + final.stderr
    result = json.loads((tmp_path / "msr" / "final_test.json").read_text())["results"][0]
    assert result["test_recordings"] > 0 and 0 <= result["test_accuracy"] <= 1
    assert result["holdout_subjects"] == ["s02", "s04", "s06", "s08", "s10"]
