"""The zero_cost API: registry, input checks, results, shared passes, layer sets, scoring batch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import zero_cost
from zero_cost import (
    BaseProxy,
    LayerSet,
    ProxyValue,
    ProxyWarning,
    ScoringBatchWarning,
    compute_proxies,
    create_proxy,
    list_proxies,
    register_proxy,
    select_scoring_batch,
)
from zero_cost import registry as registry_module

torch.set_num_threads(1)

EXPECTED_PROXIES = {
    "grad_norm",
    "snip",
    "grasp",
    "synflow",
    "fisher",
    "jacob_cov",
    "nwot",
    "plain",
    "l2_norm",
    "params",
    "flops",
    "zen",
    "epe_nas",
    "zico",
    "meco",
}


class Small(nn.Module):
    """(N, 2, T, V) -> conv -> BN -> ReLU -> pool -> linear; returns (logits, features)."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(2, 4, (3, 1), padding=(1, 0))
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.ReLU()
        self.fc = nn.Linear(4, classes)
        self.forwards = 0
        self.backwards = 0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.forwards += 1
        h = self.act(self.bn(self.conv(x)))
        if h.requires_grad:
            h.register_hook(self._count_backward)
        return self.fc(h.mean(dim=(2, 3))), h

    def _count_backward(self, grad: torch.Tensor) -> None:
        self.backwards += 1


def batch(n: int = 9, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, 6, 3, generator=gen), torch.arange(n) % classes


# --- registry --------------------------------------------------------------------------------


def test_every_issue_proxy_is_registered_and_filterable() -> None:
    assert set(list_proxies()) == EXPECTED_PROXIES
    assert list_proxies("grad*") == ["grad_norm"]
    assert list_proxies("z*") == ["zen", "zico"]


def test_unknown_proxy_names_the_valid_choices() -> None:
    with pytest.raises(ValueError, match="unknown proxy `nope`.*grad_norm"):
        create_proxy("nope")
    with pytest.raises(ValueError, match="vote_copeland"):
        create_proxy("vote")
    with pytest.raises(ValueError, match="does not accept options"):
        create_proxy("snip", repeats=3)
    with pytest.raises(ValueError, match="repeats"):
        create_proxy("zen", repeats=0)


def test_register_proxy_refuses_a_taken_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))

    class Duplicate(BaseProxy):
        name = "snip"

        def score(self, ctx) -> float:
            return 0.0

    with pytest.raises(ValueError, match="already registered"):
        register_proxy(Duplicate)
    register_proxy(overwrite=True)(Duplicate)
    assert isinstance(create_proxy("snip"), Duplicate)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (nn.ReLU(), batch(), "no parameters"),
        (Small(), (torch.randn(9, 5, 6, 3), torch.arange(9) % 3), "does not fit the model"),
        (Small(), (batch()[0], torch.arange(9)), r"labels must lie in 0\.\.2"),
        (Small(), (batch()[0], -torch.ones(9, dtype=torch.long)), r"0\.\.2"),
        (Small(), (batch()[0][:1], torch.zeros(1, dtype=torch.long)), "N >= 2"),
        (Small(), (batch()[0], torch.zeros(9)), "integer tensor"),
        (Small(), (batch()[0], torch.zeros(8, dtype=torch.long)), r"shape \(9,\)"),
        (Small(), (batch()[0] * math.nan, batch()[1]), "NaN"),
        (Small(), batch()[0], "tuple"),
    ],
)
def test_bad_input_raises_a_clear_value_error(model, data, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_proxies(model, data, names=["snip"])


def test_bad_names_and_layer_sets_raise() -> None:
    with pytest.raises(ValueError, match="unknown proxy `snipp`"):
        compute_proxies(Small(), batch(), names=["snipp"])
    with pytest.raises(ValueError, match="requested twice"):
        compute_proxies(Small(), batch(), names=["snip", "snip"])
    with pytest.raises(ValueError, match="unknown layer set `weights`.*default, reference, all"):
        compute_proxies(Small(), batch(), names=["snip"], layers="weights")


def test_model_without_layers_of_the_set_raises() -> None:
    class OnlyFree(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(1, 2))[:, :1] * self.scale

    with pytest.raises(ValueError, match="selects no parameter"):
        compute_proxies(OnlyFree(), batch(), names=["snip"])
    result = compute_proxies(OnlyFree(), batch(), names=["snip"], layers="all")
    assert result["snip"].status == "ok"


# --- results ---------------------------------------------------------------------------------


def test_to_row_has_exactly_the_schema_columns() -> None:
    result = compute_proxies(Small(), batch(), names="snip, synflow")
    row = result.to_row()
    assert set(row) == {
        "zc_snip",
        "zc_snip_s",
        "zc_snip_status",
        "zc_synflow",
        "zc_synflow_s",
        "zc_synflow_status",
        "zc_synflow_log",
    }
    assert row["zc_synflow_log"] == pytest.approx(math.log(row["zc_synflow"]))
    assert row["zc_snip_status"] == "ok"
    assert all(row[f"zc_{n}_s"] >= 0 for n in ("snip", "synflow"))
    assert result.total_seconds >= sum(result.seconds.values())


def test_a_raising_proxy_is_failed_and_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))

    @register_proxy
    class Broken(BaseProxy):
        name = "broken"

        def score(self, ctx) -> float:
            raise RuntimeError("kaput")

    @register_proxy
    class Infinite(BaseProxy):
        name = "infinite"
        extras = ("aux",)

        def score(self, ctx) -> ProxyValue:
            return ProxyValue(math.inf, {"aux": 2.0})

    with pytest.warns(ProxyWarning) as record:
        result = compute_proxies(Small(), batch(), names=["broken", "snip", "infinite"])
    assert result["broken"].status == "failed"
    assert "RuntimeError: kaput" in result["broken"].error
    assert math.isnan(result["broken"].score)
    assert result["snip"].status == "ok"
    assert result["infinite"].status == "nan"
    assert math.isnan(result.to_row()["zc_infinite"])  # never a sentinel
    assert result.to_row()["zc_infinite_aux"] == 2.0
    messages = " ".join(str(w.message) for w in record)
    assert "broken" in messages and "infinite" in messages


def test_model_is_unchanged_by_every_proxy() -> None:
    model = Small()
    model.conv.weight.requires_grad_(False)  # the copies make it trainable, the model stays
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    compute_proxies(model, batch())
    after = model.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    assert not model.training
    assert not model.conv.weight.requires_grad
    assert all(p.grad is None for p in model.parameters())


def test_scores_are_deterministic_and_independent_of_the_other_proxies() -> None:
    model, data = Small(), batch()
    together = compute_proxies(model, data, seed=3)
    again = compute_proxies(model, data, seed=3)
    assert together.scores == again.scores
    # the order proxies run in changes nothing (passes are shared, kept and released by plan)
    for order in (
        list_proxies()[::-1],
        list(np.random.default_rng(0).permutation(list_proxies())),
    ):
        assert compute_proxies(model, data, names=order, seed=3).scores == together.scores
    without_grasp = [n for n in list_proxies() if n != "grasp"]
    apart = compute_proxies(model, data, names=without_grasp, seed=3)
    for name in list_proxies():
        alone = compute_proxies(model, data, names=[name], seed=3)
        assert (
            alone[name].score
            == together[name].score
            == (apart[name].score if name != "grasp" else together[name].score)
        ), name


def test_gradient_proxies_share_one_forward_and_backward() -> None:
    model = Small()
    names = ["grad_norm", "snip", "plain", "fisher", "grasp", "params"]
    result = compute_proxies(model, batch(), names=names)
    assert all(s == "ok" for s in result.statuses.values())
    # The counters live on the copies; count through a module-level view instead.
    counts = _count_passes(names)
    assert counts["forwards"] == 1 + 1  # the input check (eval, 2 samples) + one shared pass
    assert counts["backwards"] == 1 + 1  # the shared backward + grasp's double backward
    assert _count_passes(["grad_norm"]) == {"forwards": 2, "backwards": 1}
    assert _count_passes(["jacob_cov", "epe_nas"]) == {"forwards": 2, "backwards": 1}
    assert _count_passes(["params", "nwot"]) == {"forwards": 2, "backwards": 0}
    # loss gradients and input Jacobian are two backward passes from one shared forward
    both = ["grad_norm", "fisher", "jacob_cov", "epe_nas", "nwot", "params"]
    assert _count_passes(both) == {"forwards": 2, "backwards": 2}


_COUNTS: dict[str, int] = {}


class Counting(Small):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _COUNTS["forwards"] += 1
        return super().forward(x)

    def _count_backward(self, grad: torch.Tensor) -> None:
        _COUNTS["backwards"] += 1


def _count_passes(names: list[str]) -> dict[str, int]:
    _COUNTS.update(forwards=0, backwards=0)
    compute_proxies(Counting(), batch(), names=names)
    return dict(_COUNTS)


def test_an_undeclared_late_request_recomputes_a_released_pass(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))

    @register_proxy
    class Sneaky(BaseProxy):
        name = "sneaky"  # reads the loss pass without declaring it in `passes`

        def score(self, ctx) -> float:
            return float(sum(g.norm() for g in ctx.loss_gradients().gradients))

    model, data = Small(), batch()
    with caplog.at_level("WARNING", logger="zero_cost.context"):
        result = compute_proxies(model, data, names=["grad_norm", "sneaky"])
    assert "recomputing" in caplog.text
    assert result["sneaky"].score == pytest.approx(result["grad_norm"].score, rel=1e-6)


def test_shared_pass_time_is_split_among_its_users() -> None:
    result = compute_proxies(Small(), batch(), names=["grad_norm", "snip", "plain", "fisher"])
    seconds = list(result.seconds.values())
    assert all(s > 0 for s in seconds)
    assert sum(seconds) <= result.total_seconds


def test_works_inside_no_grad_and_on_cuda_when_available() -> None:
    model, data = Small(), batch()
    with torch.no_grad():
        cpu = compute_proxies(model, data, names=["grad_norm", "jacob_cov", "synflow"])
    assert set(cpu.statuses.values()) == {"ok"}
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    gpu_batch = (data[0].cuda(), data[1].cuda())
    gpu = compute_proxies(model, gpu_batch, names=["grad_norm", "jacob_cov", "synflow"])
    for name, value in cpu.scores.items():
        assert gpu[name].score == pytest.approx(value, rel=1e-3), name
    assert next(model.parameters()).device.type == "cpu"


# --- layer sets ------------------------------------------------------------------------------


class MixedLayers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.temporal = nn.Conv1d(2, 3, 3, padding=1)
        self.spatial = nn.Conv2d(3, 3, 1)
        self.bn = nn.BatchNorm2d(3)
        self.edge = nn.Parameter(torch.ones(3, 3))
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        h = self.temporal(x.permute(0, 3, 1, 2).reshape(n * v, c, t))
        h = h.reshape(n, v, 3, t).permute(0, 2, 3, 1) @ self.edge
        return self.fc(torch.relu(self.bn(self.spatial(h))).mean(dim=(2, 3)))


def test_layer_sets_select_documented_parameters() -> None:
    model = MixedLayers()

    def names(preset: str) -> set[str]:
        return {p.name for p in zero_cost.layers.resolve_layer_set(preset).select(model)}

    assert names("default") == {"temporal.weight", "spatial.weight", "fc.weight"}
    assert names("reference") == {"spatial.weight", "fc.weight"}
    assert names("all") == {n for n, _ in model.named_parameters()}
    custom = LayerSet("convs", (nn.Conv2d,), include_bias=True)
    assert {p.name for p in custom.select(model)} == {"spatial.weight", "spatial.bias"}


def test_layer_set_changes_the_sum_as_documented() -> None:
    model, data = MixedLayers(), (batch(classes=2)[0], batch(classes=2)[1])
    default = compute_proxies(model, data, names=["snip", "l2_norm"])
    reference = compute_proxies(model, data, names=["snip", "l2_norm"], layers="reference")
    everything = compute_proxies(model, data, names=["snip", "l2_norm"], layers="all")
    w = {n: p.detach() for n, p in model.named_parameters()}
    assert default["l2_norm"].score - reference["l2_norm"].score == pytest.approx(
        float(w["temporal.weight"].norm()), rel=1e-6
    )
    extra_names = ["temporal.bias", "spatial.bias", "bn.weight", "bn.bias", "edge", "fc.bias"]
    extra = sum(float(w[n].norm()) for n in extra_names)
    assert everything["l2_norm"].score - default["l2_norm"].score == pytest.approx(extra, rel=1e-6)
    assert reference["snip"].score < default["snip"].score < everything["snip"].score


# --- scoring batch ---------------------------------------------------------------------------


def windows(n_per_class: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    return rng.normal(size=(y.size, 6, 4, 3)).astype(np.float32), y


def test_scoring_batch_is_stratified_with_two_per_rare_class() -> None:
    x, y = windows([60, 3, 37])
    xb, yb = select_scoring_batch(x, y, size=10, seed=0)
    assert xb.shape == (10, 6, 4, 3) and xb.dtype == torch.float32 and yb.dtype == torch.int64
    counts = np.bincount(yb.numpy(), minlength=3)
    assert counts.tolist() == [5, 2, 3]  # shares 6.0/0.3/3.7, rare class raised to 2
    # rows are real windows with their labels
    for row, label in zip(xb.numpy(), yb.numpy(), strict=True):
        match = np.flatnonzero((x == row).all(axis=(1, 2, 3)))
        assert match.size == 1 and y[match[0]] == label


def test_scoring_batch_drops_duplicates_and_is_deterministic() -> None:
    x, y = windows([4, 4])
    x_dup = np.concatenate([x, x, x])
    y_dup = np.concatenate([y, y, y])
    xb, yb = select_scoring_batch(x_dup, y_dup, size=8, seed=1)
    assert len({row.tobytes() for row in xb.numpy()}) == 8
    xb2, yb2 = select_scoring_batch(x_dup, y_dup, size=8, seed=1)
    assert torch.equal(xb, xb2) and torch.equal(yb, yb2)
    x_big, y_big = windows([50, 50])
    a, _ = select_scoring_batch(x_big, y_big, size=8, seed=1)
    b, _ = select_scoring_batch(x_big, y_big, size=8, seed=2)
    assert not torch.equal(a, b)
    with pytest.warns(ScoringBatchWarning, match="only 8 distinct"):
        xb3, _ = select_scoring_batch(x_dup, y_dup, size=12, seed=0)
    assert xb3.shape[0] == 8


def test_scoring_batch_rejects_bad_windows() -> None:
    x, y = windows([5, 5])
    x[7, 0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="first at row 7"):
        select_scoring_batch(x, y)
    with pytest.raises(ValueError, match="integer class labels"):
        select_scoring_batch(windows([5, 5])[0], y.astype(float))
    with pytest.raises(ValueError, match="size"):
        select_scoring_batch(*windows([5, 5]), size=1)


def test_scoring_batch_with_too_few_slots_per_class_warns() -> None:
    x, y = windows([5, 5, 5])
    with pytest.warns(ScoringBatchWarning, match="size >= 6"):
        _, yb = select_scoring_batch(x, y, size=4)
    assert sorted(np.bincount(yb.numpy()).tolist()) == [1, 1, 2]


def test_scoring_batch_feeds_compute_proxies_without_warnings() -> None:
    x, y = windows([30, 6])
    data = select_scoring_batch(x[:, :2], y, size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProxyWarning)
        result = compute_proxies(Small(classes=2), data, names=["epe_nas", "zico"])
    assert set(result.statuses.values()) == {"ok"}
