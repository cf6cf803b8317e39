"""Proxy gate decisions, study settings validation and the picklable NSGA-II sampler."""

import math
import pickle

import pandas as pd
import pytest

from tuning.config import StudyConfig
from tuning.gate import gate_decision
from tuning.search import PicklableNSGAIISampler, create_sampler


def _history(values):
    return pd.DataFrame(
        {"trial_id": [f"t{i}" for i in range(len(values))], "phase": "search", "zc_snip": values}
    )


def test_gate_prunes_below_the_quantile_only_after_enough_history():
    history = _history([1.0, 2.0, 3.0, 4.0, 5.0])
    low = gate_decision(history, {"trial_id": "c", "zc_snip": 1.5}, "snip", 0.5)
    high = gate_decision(history, {"trial_id": "c", "zc_snip": 4.5}, "snip", 0.5)
    assert low.prune and low.threshold == pytest.approx(3.0) and "snip" in low.reason
    assert not high.prune
    short = gate_decision(_history([1.0, 2.0]), {"trial_id": "c", "zc_snip": 0.0}, "snip", 0.5)
    assert not short.prune


def test_gate_never_prunes_an_undefined_score():
    candidate = {"trial_id": "c", "zc_snip": math.nan}
    decision = gate_decision(_history([1.0] * 6), candidate, "snip", 0.9)
    assert not decision.prune


def test_gate_rejects_a_bad_quantile():
    with pytest.raises(ValueError, match="proxy_gate"):
        gate_decision(_history([1.0] * 6), {"zc_snip": 1.0}, "snip", 1.5)


def test_config_round_trip_and_validation():
    cfg = StudyConfig.from_preset("demo", name="x", proxies=("snip",))
    assert StudyConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"`--batch-size` \(batch_size\) must be >= 2"):
        StudyConfig.from_preset("demo", batch_size=1)
    with pytest.raises(ValueError, match=r"`--lr` \(learning_rate\) must be > 0"):
        StudyConfig.from_preset("demo", learning_rate=-1.0)
    with pytest.raises(ValueError, match="proxies_only"):
        StudyConfig.from_preset("demo", proxies_only=True, warmup=5)
    with pytest.raises(ValueError, match="unknown preset"):
        StudyConfig.from_preset("huge")
    with pytest.raises(ValueError, match="does not know"):
        StudyConfig.from_dict({**cfg.to_dict(), "colour": "red"})


def test_full_preset_is_the_infant_protocol():
    cfg = StudyConfig.from_preset("full", name="x")
    assert cfg.epochs == 100 and cfg.critical_epochs and cfg.window is None


def test_nsga2_sampler_survives_pickling():
    sampler = create_sampler("nsga2", seed=1)
    assert isinstance(sampler, PicklableNSGAIISampler)
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone._thread_lock is not None
    with pytest.raises(ValueError, match="unknown sampler"):
        create_sampler("cmaes", seed=0)


def test_relative_storage_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = StudyConfig.from_preset("demo", name="x", storage="results")
    assert cfg.storage == str(tmp_path / "results")
    assert StudyConfig.from_preset("demo", name="x", storage="s3://b/p").storage == "s3://b/p"
