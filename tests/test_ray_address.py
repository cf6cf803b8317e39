"""Where a study runs: a private local Ray instance unless a cluster is named."""

from __future__ import annotations

import pytest

from tuning import study
from tuning.config import StudyConfig


@pytest.fixture
def ray_init_calls(monkeypatch):
    """Record ``ray.init`` calls instead of starting Ray."""
    import ray

    calls: list[dict] = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kwargs: calls.append(kwargs))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return calls


def test_a_cluster_recorded_by_ray_start_is_not_attached_to(monkeypatch, ray_init_calls, caplog):
    monkeypatch.setattr(study, "_recorded_cluster", lambda: "192.0.2.2:43457")
    with caplog.at_level("INFO", logger="tuning.study"):
        study.init_ray(StudyConfig(name="s"))
    (call,) = ray_init_calls
    assert call["address"] == "local"
    assert call["num_cpus"] >= 1
    assert "192.0.2.2:43457" in caplog.text and "--address auto" in caplog.text


def test_ray_address_variable_attaches_without_resource_arguments(monkeypatch, ray_init_calls):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    study.init_ray(StudyConfig(name="s"))
    (call,) = ray_init_calls
    assert call["address"] == "10.0.0.5:6379"
    assert "num_cpus" not in call and "object_store_memory" not in call


def test_address_flag_wins_over_the_variable_and_local_means_private(monkeypatch, ray_init_calls):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    study.init_ray(StudyConfig(name="s", address="local"))
    study.init_ray(StudyConfig(name="s", address="auto"))
    assert [c["address"] for c in ray_init_calls] == ["local", "auto"]
    assert "num_cpus" in ray_init_calls[0] and "num_cpus" not in ray_init_calls[1]


def test_unreachable_cluster_error_names_the_address_and_its_source(monkeypatch):
    import ray

    def refuse(**kwargs):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(ConnectionError, match=r"'auto'.*RAY_ADDRESS.*--address local"):
        study.init_ray(StudyConfig(name="s"))


def test_gpu_preflight_uses_the_same_address_rule(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "local")
    assert study.cluster_address(StudyConfig(name="s")) is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert study.cluster_address(StudyConfig(name="s")) == "10.0.0.5:6379"
    assert study.cluster_address(StudyConfig(name="s", address="local")) is None
