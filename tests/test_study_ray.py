"""Reliability of the study with real Ray on this machine (small, CPU).

Covers: rows written for every trial, exactly once after a hard kill and a resume, failures
recorded without stopping the study, repeated architectures not retrained, the proxy gate,
and a worker node removed mid-trial.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tuning.config import StudyConfig
from tuning.results import ResultStore

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

TINY_SPACE = """
input_width: [6]
num_input_modules: [1]
initial_main_width: [6]
num_main_levels: [1]
num_main_level_modules: [1]
temporal_kernel_size: [3]
bottleneck_factor: [2]
"""

ONE_ARCH_SPACE = (
    TINY_SPACE
    + """
graph: [dis2]
initial_block_type: [basic]
initial_residual: ["null"]
input_temporal_scales: [1]
block_type: [basic]
residual: ["null"]
main_temporal_scales: [1]
se: ["null"]
nonlinearity: [relu]
attention: ["null"]
pool: [global]
"""
)

TINY = {
    "window": 16,
    "epochs": 1,
    "synthetic_subjects": 12,
    "batch_size": 8,
    "scoring_batch": 8,
    "proxies": ("grad_norm", "snip", "synflow", "jacob_cov", "params", "flops"),
    "replicate": 0,
    "cpus_per_trial": 1.0,
    "max_concurrent": 2,
    "val_fraction": 0.34,
}

TINY_FLAGS = [
    "--window",
    "16",
    "--epochs",
    "1",
    "--synthetic-subjects",
    "12",
    "--batch-size",
    "8",
    "--scoring-batch",
    "8",
    "--proxies",
    "grad_norm,snip,synflow,jacob_cov,params,flops",
    "--replicate",
    "0",
    "--cpus-per-trial",
    "1",
    "--val-fraction",
    "0.34",
    "--no-report",
]


@pytest.fixture()
def space_file(tmp_path):
    path = tmp_path / "tiny_space.yaml"
    path.write_text(TINY_SPACE)
    return path


@pytest.fixture(scope="module")
def ray_session():
    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=256 * 1024**2,
        )
    yield
    ray.shutdown()


def _rows(storage, name) -> pd.DataFrame:
    return ResultStore(str(storage), name).read_rows()


def _cli(args, env=None, cwd=REPO, **kwargs):
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "tuning", *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def _kill_group(proc):
    """SIGKILL the driver and everything it started.

    The driver runs in its own session (``start_new_session``); Ray's GCS, raylet and workers
    stay in that session (workers get their own process group), so killing the session cleans
    up what a hard-killed driver leaves behind without touching other Ray instances.
    """
    subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], capture_output=True)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def test_study_of_eight_trials_writes_eight_rows(tmp_path, space_file, ray_session):
    from tuning.study import run_study

    cfg = StudyConfig.from_preset(
        "demo",
        name="eight",
        storage=str(tmp_path),
        num_samples=8,
        space_file=str(space_file),
        sampler="random",
        **TINY,
    )
    summary = run_study(cfg)
    rows = _rows(tmp_path, "eight")
    assert len(rows) == 8 and rows["trial_id"].is_unique
    assert set(rows["status"]) <= {"ok", "failed"}
    ok = rows[rows["status"] == "ok"]
    assert len(ok) >= 7
    assert ok["val_auc"].between(0, 1).all()
    assert ok["zc_snip"].notna().all() and (ok["zc_snip_s"] >= 0).all()
    assert ok["finished_at"].notna().all() and ok["epochs"].eq(1).all()
    assert {"arch_graph", "arch_se_ratio", "params", "flops", "node", "device"} <= set(rows)
    assert summary.rows == 8
    meta = ResultStore(str(tmp_path), "eight").read_json("study.json")
    assert meta["phases_done"] == ["search"] and meta["scoring_batch_digest"]
    assert (tmp_path / "eight" / "scoring_batch.npz").is_file()


def test_identical_architectures_are_not_retrained(tmp_path, ray_session):
    from tuning.study import run_study

    space = tmp_path / "one.yaml"
    space.write_text(ONE_ARCH_SPACE)
    cfg = StudyConfig.from_preset(
        "demo",
        name="repeats",
        storage=str(tmp_path),
        num_samples=3,
        space_file=str(space),
        **{**TINY, "max_concurrent": 1},
    )
    run_study(cfg)
    rows = _rows(tmp_path, "repeats").sort_values("started_at")
    assert rows["arch_key"].nunique() == 1
    first = rows.iloc[0]
    assert pd.isna(first["repeat_of"]) and first["epochs"] == 1
    repeats = rows.iloc[1:]
    assert (repeats["repeat_of"] == first["trial_id"]).all()
    assert (repeats["val_auc"] == first["val_auc"]).all()
    assert (repeats["train_s"] == 0).all()


def test_proxy_gate_prunes_with_proxies_kept(tmp_path, space_file, ray_session):
    from tuning.study import run_study

    cfg = StudyConfig.from_preset(
        "demo",
        name="gate",
        storage=str(tmp_path),
        num_samples=9,
        space_file=str(space_file),
        sampler="random",
        proxy_gate=0.95,
        gate_proxy="snip",
        **{**TINY, "max_concurrent": 1},
    )
    summary = run_study(cfg)
    rows = _rows(tmp_path, "gate")
    pruned = rows[rows["status"] == "pruned"]
    assert len(pruned) >= 1
    assert pruned["zc_snip"].notna().all() and pruned["val_auc"].isna().all()
    assert pruned["error"].str.contains("proxy gate").all()
    assert (pruned["epochs"] == 0).all()
    assert summary.saved_hours > 0


def test_nsga2_multi_objective_study_runs(tmp_path, space_file, ray_session):
    from tuning.study import run_study

    cfg = StudyConfig.from_preset(
        "demo",
        name="nsga",
        storage=str(tmp_path),
        num_samples=3,
        space_file=str(space_file),
        sampler="nsga2",
        second_objective="params",
        **TINY,
    )
    run_study(cfg)
    rows = _rows(tmp_path, "nsga")
    assert len(rows) == 3 and (rows["status"] == "ok").all()


def test_failing_trials_are_recorded_and_the_study_goes_on(tmp_path, space_file):
    space_file.write_text(TINY_SPACE + 'attention: ["null", frame]\n')
    proc = _cli(
        [
            "--name",
            "faults",
            "--storage",
            "results",  # relative to the driver's directory, which Ray workers do not share
            "--num-samples",
            "6",
            "--sampler",
            "random",
            "--space",
            str(space_file),
            "--max-concurrent",
            "2",
            *TINY_FLAGS,
        ],
        env={"ZCNAS_INJECT_FAILURE_IF": "attention=frame"},
        cwd=tmp_path,
    )
    try:
        out, _ = proc.communicate(timeout=600)
    finally:
        _kill_group(proc)
    assert proc.returncode == 0, out
    assert "Last result" not in out, "Tune's per-trial printer should be silenced"
    assert "A new study created" not in out and "Wrote the latest version" not in out
    rows = _rows(tmp_path / "results", "faults")
    assert len(rows) == 6
    frame = rows["arch_attention"] == "frame"
    assert frame.any() and (~frame).any(), "seeded random sampler should draw both values"
    assert (rows.loc[frame, "status"] == "failed").all()
    assert rows.loc[frame, "error"].str.contains("injected failure").all()
    assert (rows.loc[~frame, "status"] == "ok").all()


def test_hard_killed_driver_resumes_with_every_trial_once(tmp_path, space_file):
    args = [
        "--name",
        "killed",
        "--storage",
        str(tmp_path),
        "--num-samples",
        "6",
        "--sampler",
        "random",
        "--space",
        str(space_file),
        "--max-concurrent",
        "1",
        "--epochs",
        "3",
        *TINY_FLAGS,
    ]
    proc = _cli(args)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            rows = _rows(tmp_path, "killed")
            if len(rows) and rows["finished_at"].notna().sum() >= 2:
                break
            time.sleep(1)
        else:
            pytest.fail("the study wrote no rows in time")
    finally:
        _kill_group(proc)
    before = _rows(tmp_path, "killed")
    assert before["finished_at"].notna().sum() < 6

    resumed = _cli(["--resume", "killed", "--storage", str(tmp_path), "--no-report"])
    try:
        out, _ = resumed.communicate(timeout=600)
    finally:
        _kill_group(resumed)
    assert resumed.returncode == 0, out
    rows = _rows(tmp_path, "killed")
    assert rows["trial_id"].is_unique
    assert rows["finished_at"].notna().all()
    assert (rows["status"] == "ok").sum() >= 6
    # A trial the restored experiment could not know (started after the last snapshot) is
    # closed once, as failed, with the reason.
    interrupted = rows[rows["status"] != "ok"]
    assert interrupted["error"].str.contains("interrupted").all()
    # Trials finished before the kill kept their row (same file, not rewritten by a rerun).
    done_before = before[before["finished_at"].notna()].set_index("trial_id")
    after = rows.set_index("trial_id").loc[done_before.index]
    assert (after["finished_at"] == done_before["finished_at"]).all()


def test_removed_worker_node_retries_the_trial_once(tmp_path, space_file):
    import threading

    import ray
    from ray.cluster_utils import Cluster

    from tuning.study import run_study

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    store = ResultStore(str(tmp_path), "nodes")
    removed: list[str] = []

    def remove_the_busy_node():
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            rows = store.read_rows()
            if len(rows) and rows["finished_at"].isna().any():
                busy = rows["node"].iloc[0].split("/")[-1]
                for node in workers:
                    if node.node_id.startswith(busy):
                        cluster.remove_node(node, allow_graceful=False)
                        removed.append(busy)
                        return
            time.sleep(0.2)

    remover = threading.Thread(target=remove_the_busy_node, daemon=True)
    remover.start()
    try:
        cfg = StudyConfig.from_preset(
            "demo",
            name="nodes",
            storage=str(tmp_path),
            num_samples=1,
            space_file=str(space_file),
            max_failures=3,
            **{**TINY, "epochs": 30, "max_concurrent": 1},
        )
        run_study(cfg)
    finally:
        remover.join(timeout=5)
        ray.shutdown()
        cluster.shutdown()
    assert removed, "the trial's node was never removed"
    rows = store.read_rows()
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["status"] == "ok" and row["attempt"] >= 1 and row["epochs"] == 30
    assert not row["node"].endswith(removed[0])
