"""The search space: values, conditions, canonical form, keys, sampling and Optuna suggest."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

from gcn_models.space import SearchSpace, default_space

# The issue's table, in order.
ISSUE_TABLE = {
    "graph": ["spatial", "dis2", "dis4", "dis42"],
    "input_width": [6, 8, 10, 12],
    "num_input_modules": [1, 2, 3],
    "initial_block_type": ["basic", "bottleneck", "mbconv"],
    "initial_residual": ["null", "block", "module", "dense"],
    "input_temporal_scales": [1, 2, 3, "linear"],
    "initial_main_width": [6, 8, 10, 12],
    "num_main_levels": [1, 2],
    "num_main_level_modules": [1, 2, 3],
    "block_type": ["basic", "bottleneck", "mbconv"],
    "bottleneck_factor": [2, 4],
    "residual": ["null", "block", "module", "dense"],
    "main_temporal_scales": [1, 2, 3, "linear"],
    "temporal_kernel_size": [3, 5, 7, 9],
    "se": ["null", "inner", "outer", "both"],
    "se_ratio": [2, 4],
    "se_type": ["relative", "absolute"],
    "nonlinearity": ["relu", "swish"],
    "attention": ["null", "channel", "frame", "joint"],
    "pool": ["global", "spatial"],
}

SPACE = default_space()


def full_arch(**overrides):
    """A raw configuration with every choice set (first value unless overridden)."""
    arch = {name: values[0] for name, values in ISSUE_TABLE.items()}
    arch.update(overrides)
    return arch


def test_default_space_is_the_issue_table() -> None:
    assert list(SPACE.names) == list(ISSUE_TABLE)
    assert {n: list(v) for n, v in SPACE.choices.items()} == ISSUE_TABLE
    for values in SPACE.choices.values():
        for value in values:
            assert type(value) in (int, str)  # "null" is a string, never None


def test_space_is_immutable() -> None:
    with pytest.raises(TypeError):
        SPACE.choices["graph"] = ("spatial",)  # type: ignore[index]
    with pytest.raises(AttributeError):
        SPACE.choice_items = ()  # type: ignore[misc]


def test_size_before_collapsing_is_the_product() -> None:
    assert SPACE.size() == math.prod(len(v) for v in ISSUE_TABLE.values()) == 5_435_817_984


def brute_force_distinct(space: SearchSpace) -> int:
    seen = set()
    for combo in itertools.product(*space.choices.values()):
        canonical = space.canonical(dict(zip(space.names, combo, strict=True)))
        seen.add(tuple(canonical.values()))
    return len(seen)


def test_collapsed_size_equals_brute_force_on_a_restricted_space() -> None:
    small = SPACE.restrict(
        graph=["spatial"],
        input_width=[6],
        initial_block_type=["basic"],
        initial_residual=["null"],
        initial_main_width=[6],
        num_main_level_modules=[1],
        block_type=["basic", "mbconv"],
        residual=["null"],
        temporal_kernel_size=[3],
        nonlinearity=["relu"],
        attention=["null"],
        pool=["global"],
    )
    assert small.size() == 3 * 4 * 2 * 2 * 2 * 4 * 4 * 2 * 2
    assert small.size(collapsed=True) == brute_force_distinct(small)


def test_collapsed_size_reproduces_the_published_count_with_the_simpler_rules() -> None:
    # movementoutcome.md 2.3: with se_type inert only for se = null or one level, 767 of the
    # 1,536 combinations of the interacting choices are distinct.
    definition = SPACE.to_dict()
    definition["active_when"]["se_type"] = [
        {"num_main_levels": {"not_in": [1]}, "se": {"not_in": ["null"]}}
    ]
    simpler = SearchSpace.from_dict(definition)
    other = SPACE.size() // 1536
    assert simpler.size(collapsed=True) == 767 * other
    # The shipped rules also see that se_type cannot matter for an outer SE without
    # multi-scale main levels, so they collapse further.
    assert SPACE.size(collapsed=True) < simpler.size(collapsed=True)


def test_canonical_fills_inactive_choices_with_none_in_space_order() -> None:
    canonical = SPACE.canonical(full_arch(se="null", num_main_levels=1))
    assert list(canonical) == list(ISSUE_TABLE)
    assert canonical["se_ratio"] is None and canonical["se_type"] is None
    # inactive choices may be left out of the input entirely
    arch = full_arch(se="null")
    del arch["se_ratio"], arch["se_type"]
    assert SPACE.canonical(arch) == canonical


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"num_input_modules": 1, "input_temporal_scales": "linear"},
            {"input_temporal_scales": 1},
        ),
        (
            {"num_input_modules": 2, "input_temporal_scales": "linear"},
            {"input_temporal_scales": "linear"},
        ),
        ({"num_main_levels": 1, "main_temporal_scales": "linear"}, {"main_temporal_scales": 1}),
        ({"se": "outer"}, {"se": "null", "se_ratio": None, "se_type": None}),
        ({"se": "both", "num_main_levels": 2}, {"se": "inner", "se_type": "relative"}),
        ({"se": "outer", "input_temporal_scales": 2}, {"se": "outer", "se_ratio": 2}),
        (
            {"se": "outer", "input_temporal_scales": 2, "num_main_levels": 2},
            {"se": "outer", "se_type": None},
        ),
        (
            {"se": "outer", "main_temporal_scales": 3, "num_main_levels": 2},
            {"se": "outer", "se_type": "relative"},
        ),
        ({"se": "inner", "num_main_levels": 1}, {"se": "inner", "se_type": None}),
    ],
)
def test_collapse_rules(overrides, expected):
    canonical = SPACE.canonical(full_arch(**overrides))
    assert {k: canonical[k] for k in expected} == expected


def test_equivalent_configurations_share_a_key_and_distinct_ones_do_not() -> None:
    a = full_arch(se="outer", se_ratio=4, se_type="absolute")
    b = full_arch(se="null")
    c = full_arch(se="inner")
    assert SPACE.arch_key(a) == SPACE.arch_key(b)
    assert SPACE.arch_key(a) != SPACE.arch_key(c)
    linear = full_arch(num_input_modules=1, input_temporal_scales="linear")
    assert SPACE.arch_key(linear) == SPACE.arch_key(full_arch(num_input_modules=1))


def test_arch_key_is_sha1_of_the_sorted_canonical_json() -> None:
    arch = SPACE.sample(3)
    text = json.dumps(dict(sorted(arch.items())), separators=(",", ":"))
    assert SPACE.arch_key(arch) == hashlib.sha1(text.encode()).hexdigest()[:12]
    assert len(SPACE.arch_key(arch)) == 12


def test_canonical_form_and_key_are_stable_across_processes() -> None:
    archs = [SPACE.sample(seed) for seed in range(5)]
    script = (
        "import json, sys; from gcn_models.space import default_space; s = default_space(); "
        "archs = [s.sample(seed) for seed in range(5)]; "
        "print(json.dumps([[a, s.arch_key(a)] for a in archs]))"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
            cwd=Path(__file__).resolve().parents[1],
        )
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0] == [[a, SPACE.arch_key(a)] for a in archs]


def test_canonical_is_idempotent_and_accepts_text_values() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = SPACE.sample(rng)
        assert SPACE.canonical(arch) == arch
        as_text = {k: None if v is None else str(v) for k, v in arch.items()}
        assert SPACE.canonical(as_text) == arch


def test_invalid_input_gets_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown choice name\(s\) 'width'.*valid names: graph"):
        SPACE.canonical({**full_arch(), "width": 3})
    with pytest.raises(ValueError, match=r"invalid value 7 for choice `input_width`.*6, 8, 10"):
        SPACE.canonical(full_arch(input_width=7))
    with pytest.raises(ValueError, match="choice `pool` is active .* missing"):
        arch = full_arch()
        del arch["pool"]
        SPACE.canonical(arch)
    with pytest.raises(ValueError, match="invalid value True"):
        SPACE.canonical(full_arch(num_main_levels=True))
    with pytest.raises(ValueError, match="must be a mapping"):
        SPACE.canonical([("graph", "spatial")])  # type: ignore[arg-type]


def test_is_active_on_partial_configurations() -> None:
    assert not SPACE.is_active("se_ratio", {"se": "null"})
    assert SPACE.is_active("se_ratio", {"se": "inner"})
    assert SPACE.is_active("se_type", {"num_main_levels": 2, "se": "both"})
    assert not SPACE.is_active("se_type", {"num_main_levels": 1, "se": "both"})
    assert SPACE.is_active("graph", {})
    partial = {"num_input_modules": 1, "input_temporal_scales": 1, "num_main_levels": 1}
    partial |= {"main_temporal_scales": "linear", "se": "outer"}
    assert not SPACE.is_active("se_ratio", partial)  # outer collapses to null here
    # se = both may collapse to inner (scales unknown): either way se_type is active
    assert SPACE.is_active("se_type", {"num_main_levels": 2, "se": "both"})
    with pytest.raises(ValueError, match=r"cannot tell whether `se_type` is active.*se\)"):
        SPACE.is_active("se_type", {"num_main_levels": 2, "se": "outer"})
    with pytest.raises(ValueError, match="cannot tell whether `se_type` is active"):
        SPACE.is_active("se_type", {"se": "inner"})


def test_sample_is_canonical_and_seeded() -> None:
    assert SPACE.sample(7) == SPACE.sample(np.random.default_rng(7))
    draws = [SPACE.sample(np.random.default_rng(seed)) for seed in range(20)]
    assert len({SPACE.arch_key(a) for a in draws}) > 15
    for arch in draws:
        assert SPACE.canonical(arch) == arch


class RecordingTrial:
    """Stands in for optuna.Trial: records the calls, answers with a fixed config."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def suggest_categorical(self, name, choices):
        self.calls.append((name, list(choices)))
        return self.answers[name]


def test_suggest_asks_only_active_choices_in_order_with_full_value_lists() -> None:
    raw = full_arch(se="null", num_main_levels=2)
    trial = RecordingTrial(raw)
    canonical = SPACE.suggest(trial)
    asked = [name for name, _ in trial.calls]
    assert asked == [n for n in ISSUE_TABLE if n not in ("se_ratio", "se_type")]
    assert all(values == ISSUE_TABLE[name] for name, values in trial.calls)
    assert canonical == SPACE.canonical(raw)


def test_suggest_runs_a_real_optuna_study() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5))
    archs = []

    def objective(trial: optuna.Trial) -> float:
        arch = SPACE.suggest(trial)
        archs.append(arch)
        active = {n for n, v in arch.items() if v is not None}
        assert set(trial.params) == active
        return float(arch["input_width"])

    study.optimize(objective, n_trials=15)
    assert len(archs) == 15
    for arch in archs:
        assert SPACE.canonical(arch) == arch


def test_restrict_and_extend() -> None:
    small = SPACE.restrict(graph=["dis2", "spatial"], num_main_levels=[1])
    assert small.choices["graph"] == ("dis2", "spatial")
    assert small.size() == SPACE.size() // 2 // 2
    assert all(small.sample(s)["se_type"] is None for s in range(20))
    assert SPACE.choices["graph"] == tuple(ISSUE_TABLE["graph"])  # original untouched
    with pytest.raises(ValueError, match=r"restrict `graph`: \"dis3\" not in the space"):
        SPACE.restrict(graph=["dis3"])
    with pytest.raises(ValueError, match="unknown choice name"):
        SPACE.restrict(depth=[1])
    wider = SPACE.with_values(input_width=[6, 16])
    assert wider.canonical(full_arch(input_width=16))["input_width"] == 16


def test_from_file_override_yaml_and_json(tmp_path) -> None:
    yaml_file = tmp_path / "small.yaml"
    yaml_file.write_text('choices:\n  se: ["null", inner]\n  input_width: [6, 16]\n')
    space = SearchSpace.from_file(yaml_file)
    assert space.choices["se"] == ("null", "inner")
    assert space.choices["input_width"] == (6, 16)
    assert space.collapse_rules == SPACE.collapse_rules
    json_file = tmp_path / "bare.json"
    json_file.write_text(json.dumps({"pool": ["spatial"]}))
    assert SearchSpace.from_file(json_file).choices["pool"] == ("spatial",)


def test_from_file_errors_name_the_file_and_field(tmp_path) -> None:
    bad_null = tmp_path / "null.yaml"
    bad_null.write_text("se: [null, inner]\n")
    with pytest.raises(ValueError, match=r"null\.yaml: choices\.se\[0\]: YAML null"):
        SearchSpace.from_file(bad_null)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("width: [1]\n")
    with pytest.raises(ValueError, match=r"unknown\.yaml: unknown choice name\(s\) 'width'"):
        SearchSpace.from_file(unknown)
    not_list = tmp_path / "scalar.yaml"
    not_list.write_text("graph: spatial\n")
    with pytest.raises(ValueError, match=r"scalar\.yaml: choices\.graph: expected a list"):
        SearchSpace.from_file(not_list)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match=r"broken\.json: cannot parse"):
        SearchSpace.from_file(broken)
    with pytest.raises(FileNotFoundError):
        SearchSpace.from_file(tmp_path / "missing.yaml")


def test_full_definitions_round_trip_and_are_validated(tmp_path) -> None:
    path = tmp_path / "space.json"
    path.write_text(json.dumps(SPACE.to_dict()))
    assert SearchSpace.from_file(path) == SPACE
    definition = SPACE.to_dict()
    definition["active_when"]["graph"] = [{"pool": ["global"]}]
    with pytest.raises(ValueError, match="tests `pool`, which does not come earlier"):
        SearchSpace.from_dict(definition, source="mine")
    definition = SPACE.to_dict()
    definition["collapse"][0]["map"] = [["quadratic", 1]]
    with pytest.raises(ValueError, match=r"mine: collapse\[0\]\.map: 'quadratic' is not"):
        SearchSpace.from_dict(definition, source="mine")


def test_cli_prints_the_space_and_samples(capsys) -> None:
    from tuning.cli import main

    assert main(["space"]) == 0
    text = capsys.readouterr().out
    assert "se_type" in text and "5,435,817,984" in text
    assert f"{SPACE.size(collapsed=True):,}" in text

    assert main(["space", "--sample", "2", "--seed", "4", "--frames", "24"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rng = np.random.default_rng(4)
    expected = [SPACE.sample(rng) for _ in range(2)]
    assert [line["arch"] for line in lines] == expected
    assert [line["arch_key"] for line in lines] == [SPACE.arch_key(a) for a in expected]

    from gcn_models.cost import count_flops, count_parameters
    from gcn_models.network import build_model

    model = build_model(expected[0], layout="infant19", in_channels=6, num_classes=2)
    assert lines[0]["params"] == count_parameters(model)
    assert lines[0]["flops"] == count_flops(model, (1, 6, 24, 19))


def test_cli_reports_bad_space_files(tmp_path, capsys) -> None:
    from tuning.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("graph: [spatial, 3.5]\n")
    assert main(["space", "--space", str(bad)]) == 2
    assert "bad.yaml: choices.graph[1]: 3.5 must be an int or a string" in capsys.readouterr().err


def test_cli_space_refuses_values_the_builder_does_not_know(tmp_path, capsys) -> None:
    from tuning.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("graph: [spatial, bogus]\n")
    assert main(["space", "--space", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "graph='bogus'" in err and "valid graphs: spatial" in err
    good = tmp_path / "good.yaml"
    good.write_text("graph: [spatial, dis2]\n")
    assert main(["space", "--space", str(good)]) == 0
