"""cluster.yaml passes Ray's own offline preparation and validation (no cloud calls)."""

import copy
from pathlib import Path

import pytest
import yaml

util = pytest.importorskip("ray.autoscaler._private.util")

CLUSTER_YAML = Path(__file__).resolve().parents[1] / "cluster.yaml"


def _prepare_and_validate(config: dict) -> dict:
    prepared = util.prepare_config(copy.deepcopy(config))
    util.validate_config(prepared)
    return prepared


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


def test_cluster_yaml_is_valid(config):
    prepared = _prepare_and_validate(config)
    assert prepared["head_node_type"] == "head.cpu"
    assert set(prepared["available_node_types"]) == {"head.cpu", "worker.gpu"}
    for node_type in prepared["available_node_types"].values():
        for value in node_type["resources"].values():
            assert isinstance(value, int)


def test_setup_installs_the_project(config):
    commands = " ".join(config["setup_commands"])
    assert "torch==2.13.0" in commands
    assert "pip install" in commands and "/home/ray/zcnas" in commands


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["available_node_types"]["worker.gpu"]["resources"].update(GPU=0.5),
        lambda c: c.update(head_node_type="head.missing"),
        lambda c: c.update(setup_command=["typo"]),
        lambda c: (
            c.update(max_workers=1)
            or c["available_node_types"]["worker.gpu"].update(min_workers=2)
        ),
    ],
    ids=["fractional-gpu", "unknown-head-type", "top-level-typo", "min-above-max"],
)
def test_validation_catches_real_mistakes(config, mutate):
    broken = copy.deepcopy(config)
    mutate(broken)
    with pytest.raises(Exception):  # noqa: B017 - Ray raises ValueError or ValidationError
        _prepare_and_validate(broken)
