"""Each proxy on toy networks whose value can be computed by hand (numpy, closed forms)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from zero_cost import ProxyWarning, compute_proxies
from zero_cost.activations import agreement_kernel

torch.set_num_threads(1)

N, D_IN, HIDDEN, CLASSES = 6, 5, 4, 3


class TwoLinear(nn.Module):
    """x (N, 5) -> Linear -> [activation] -> Linear -> logits (N, 3), no biases."""

    def __init__(self, activation: nn.Module | None = None, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.fc1 = nn.Linear(D_IN, HIDDEN, bias=False)
        self.act = activation if activation is not None else nn.Identity()
        self.fc2 = nn.Linear(HIDDEN, CLASSES, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def make_batch(n: int = N, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, D_IN, generator=gen)
    y = torch.arange(n) % CLASSES
    return x, y


def as_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def manual_two_layer(model: TwoLinear, x: torch.Tensor, y: torch.Tensor, relu: bool) -> dict:
    """Forward and backward of the mean cross-entropy by hand."""
    w1, w2, xs = as_np(model.fc1.weight), as_np(model.fc2.weight), as_np(x)
    pre = xs @ w1.T
    mask = (pre > 0).astype(float) if relu else np.ones_like(pre)
    h = pre * mask
    z = h @ w2.T
    onehot = np.eye(CLASSES)[y.numpy()]
    d_z = (softmax(z) - onehot) / xs.shape[0]
    d_pre = (d_z @ w2) * mask
    return {
        "w": [w1, w2],
        "g": [d_pre.T @ xs, d_z.T @ h],
        "act": [pre, z],
        "act_grad": [d_pre, d_z],
    }


def score(model: nn.Module, batch, name: str, **kwargs) -> float:
    result = compute_proxies(model, batch, names=[name], **kwargs)
    assert result[name].status == "ok", result[name].error
    return result[name].score


@pytest.mark.parametrize("relu", [False, True])
def test_grad_norm_snip_plain_match_hand_gradients(relu: bool) -> None:
    model = TwoLinear(nn.ReLU() if relu else None)
    x, y = make_batch()
    ref = manual_two_layer(model, x, y, relu)
    res = compute_proxies(model, (x, y), names=["grad_norm", "snip", "plain"])
    per_layer_norms = [np.linalg.norm(g) for g in ref["g"]]
    assert res["grad_norm"].score == pytest.approx(sum(per_layer_norms), rel=1e-5)
    # A sum of per-layer norms, not the global norm.
    global_norm = math.sqrt(sum(n**2 for n in per_layer_norms))
    assert res["grad_norm"].score > global_norm * (1 + 1e-3)
    snip = sum(np.abs(w * g).sum() for w, g in zip(ref["w"], ref["g"], strict=True))
    plain = sum((w * g).sum() for w, g in zip(ref["w"], ref["g"], strict=True))
    assert res["snip"].score == pytest.approx(snip, rel=1e-5)
    assert res["plain"].score == pytest.approx(plain, rel=1e-4, abs=1e-7)


def test_fisher_matches_hand_formula_with_fan_in_and_inplace_relu() -> None:
    # inplace ReLU right after fc1: fisher must still see fc1's pre-activation output.
    model = TwoLinear(nn.ReLU(inplace=True))
    x, y = make_batch()
    ref = manual_two_layer(model, x, y, relu=True)
    fan_in = [D_IN, HIDDEN]
    expected = sum(
        fan * (0.5 * (a * g) ** 2).mean(axis=0).sum()
        for fan, a, g in zip(fan_in, ref["act"], ref["act_grad"], strict=True)
    )
    assert score(model, (x, y), "fisher") == pytest.approx(expected, rel=1e-5)


def test_fisher_sums_over_positions_of_a_conv_output() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 1, bias=False)
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(3 * 4 * 2, 2, bias=False))
    x = torch.randn(4, 2, 4, 2)
    y = torch.tensor([0, 1, 0, 1])
    # Independent: activation and its gradient from plain autograd on the original.
    a = conv(x)
    a.retain_grad()
    logits = model[2](model[1](a))
    loss = nn.functional.cross_entropy(logits, y)
    loss.backward()
    s_conv = (a * a.grad).sum(dim=(2, 3))  # (N, C)
    fc_out = logits.detach()
    d_logits = (torch.softmax(fc_out, 1) - nn.functional.one_hot(y, 2)) / 4
    s_fc = fc_out * d_logits
    expected = 2 * 0.5 * (s_conv**2).mean(0).sum() + 24 * 0.5 * (s_fc**2).mean(0).sum()
    model.zero_grad()
    assert score(model, (x, y), "fisher") == pytest.approx(float(expected.detach()), rel=1e-5)


def test_grasp_single_linear_layer_closed_form() -> None:
    torch.manual_seed(3)
    model = nn.Linear(D_IN, CLASSES, bias=False)
    x, y = make_batch()
    w, xs = as_np(model.weight), as_np(x)
    p = softmax(xs @ w.T)
    onehot = np.eye(CLASSES)[y.numpy()]
    g = ((p - onehot) / N).T @ xs
    hg = np.zeros_like(w)
    for n in range(N):
        s = np.diag(p[n]) - np.outer(p[n], p[n])
        hg += np.outer(s @ (g @ xs[n]), xs[n]) / N
    assert score(model, (x, y), "grasp") == pytest.approx(-(w * hg).sum(), rel=1e-4)


def test_grasp_two_layers_matches_full_hessian() -> None:
    model = TwoLinear(nn.Tanh())
    x, y = make_batch()
    w1, w2 = model.fc1.weight.detach(), model.fc2.weight.detach()
    sizes = [w1.numel(), w2.numel()]

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        a, b = flat.split(sizes)
        h = torch.tanh(x.double() @ a.view_as(w1).T)
        return nn.functional.cross_entropy(h @ b.view_as(w2).T, y)

    flat = torch.cat([w1.flatten(), w2.flatten()]).double()
    grad = torch.autograd.functional.jacobian(loss_of, flat)
    hessian = torch.autograd.functional.hessian(loss_of, flat)
    expected = float(-(flat * (hessian @ grad)).sum())
    assert score(model, (x, y), "grasp") == pytest.approx(expected, rel=1e-4)


def relu_chain(widths: list[int], seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b, bias=False), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("widths", [[D_IN, HIDDEN, CLASSES], [D_IN, 7, HIDDEN, CLASSES]])
def test_synflow_is_layers_times_path_norm_on_bias_free_relu_chain(widths: list[int]) -> None:
    model = relu_chain(widths)
    weights = [np.abs(as_np(m.weight)) for m in model if isinstance(m, nn.Linear)]
    path = np.ones(widths[0])
    for w in weights:
        path = w @ path
    path_norm = path.sum()  # 1^T |W_L| ... |W_1| 1
    # Hand gradient of R w.r.t. each |W_l|: outer(upstream ones-flow, downstream flow).
    no_outer_abs = 0.0
    for i, w in enumerate(weights):
        below = np.ones(widths[0])
        for v in weights[:i]:
            below = v @ below
        above = np.ones(widths[-1])
        for v in reversed(weights[i + 1 :]):
            above = above @ v
        no_outer_abs += (w * np.outer(above, below)).sum()
    result = compute_proxies(model, make_batch(), names=["synflow"])
    assert result["synflow"].score == pytest.approx(len(weights) * path_norm, rel=1e-12)
    # The outer abs of |W * dR/dW| changes nothing once the weights are non-negative.
    assert result["synflow"].score == pytest.approx(no_outer_abs, rel=1e-12)
    assert result["synflow"].extras["log"] == pytest.approx(math.log(len(weights) * path_norm))


class ConvChain(nn.Module):
    """(N, 2, T, V) -> 1x1 conv -> [BN] -> ReLU -> 1x1 conv -> sum over (T, V) -> (N, 2)."""

    def __init__(self, with_bn: bool) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.c1 = nn.Conv2d(2, 3, 1, bias=False)
        self.bn = nn.BatchNorm2d(3) if with_bn else nn.Identity()
        self.c2 = nn.Conv2d(3, 2, 1, bias=False)
        if with_bn:
            with torch.no_grad():
                self.bn.weight.fill_(3.0)
                self.bn.bias.fill_(1.0)
                self.bn.running_var.fill_(4.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c2(torch.relu(self.bn(self.c1(x)))).sum(dim=(2, 3))


def test_synflow_conv_chain_scales_with_positions_and_bypasses_batchnorm() -> None:
    t, v = 4, 3
    x = torch.randn(4, 2, t, v)
    y = torch.tensor([0, 1, 0, 1])
    plain, with_bn = ConvChain(False), ConvChain(True)
    w1 = np.abs(as_np(plain.c1.weight)[:, :, 0, 0])
    w2 = np.abs(as_np(plain.c2.weight)[:, :, 0, 0])
    expected = 2 * t * v * (w2 @ w1 @ np.ones(2)).sum()
    assert score(plain, (x, y), "synflow") == pytest.approx(expected, rel=1e-12)
    # BatchNorm is replaced by the identity, not run in eval mode (which would scale by 3/2).
    assert score(with_bn, (x, y), "synflow") == pytest.approx(expected, rel=1e-12)


def test_nwot_kernel_equals_units_minus_hamming_distance() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, size=(7, 40))
    kernel = agreement_kernel(torch.as_tensor(codes, dtype=torch.bool)).numpy()
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(kernel, codes.shape[1] - hamming)


class HiddenLayer(nn.Module):
    def __init__(self, activation: nn.Module) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.fc1 = nn.Linear(D_IN, 16)
        self.act = activation
        self.fc2 = nn.Linear(16, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def test_nwot_matches_hand_logdet_and_is_the_same_for_relu_and_swish() -> None:
    x, y = make_batch(8)
    relu_net, swish_net = HiddenLayer(nn.ReLU(inplace=True)), HiddenLayer(nn.SiLU())
    pre = as_np(x) @ as_np(relu_net.fc1.weight).T + as_np(relu_net.fc1.bias)
    codes = (pre > 0).astype(float)
    k = codes @ codes.T + (1 - codes) @ (1 - codes).T
    sign, expected = np.linalg.slogdet(k)
    assert sign != 0
    assert score(relu_net, (x, y), "nwot") == pytest.approx(expected, rel=1e-9)
    # Swish binarised at the pre-activation gives the same kernel, not -inf.
    assert score(swish_net, (x, y), "nwot") == pytest.approx(expected, rel=1e-9)


def test_nwot_without_rectifiers_is_nan_with_reason() -> None:
    model = HiddenLayer(nn.Sigmoid())
    with pytest.warns(ProxyWarning, match="nwot"):
        result = compute_proxies(model, make_batch(), names=["nwot"])
    assert result["nwot"].status == "nan"
    assert math.isnan(result["nwot"].score)
    assert "rectifier" in result["nwot"].error


class SquareLinear(nn.Module):
    """logits = (x ** 2) W^T, so d(sum logits)/dx_n = 2 x_n * W.sum(0) in closed form."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.fc = nn.Linear(D_IN, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x**2)


def jacob_cov_formula(jacobian: np.ndarray) -> float:
    eig = np.linalg.eigvalsh(np.corrcoef(jacobian)) + 1e-5
    return float(-(np.log(eig) + 1 / eig).sum())


def test_jacob_cov_closed_form_real_and_at_most_minus_n() -> None:
    model = SquareLinear()
    x, y = make_batch(8)
    y = y % 2
    jac = 2 * as_np(x) * as_np(model.fc.weight).sum(0)
    expected = jacob_cov_formula(jac)
    value = score(model, (x, y), "jacob_cov")
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-9)
    assert value <= -8


def test_jacob_cov_of_a_random_mlp_is_at_most_minus_n() -> None:
    x, y = make_batch(10)
    assert score(HiddenLayer(nn.ReLU()), (x, y), "jacob_cov") <= -10


class ConstantOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(D_IN, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.zeros_like(x))


def test_output_independent_of_input_gives_nan_jacob_cov() -> None:
    with pytest.warns(ProxyWarning, match="jacob_cov"):
        result = compute_proxies(ConstantOutput(), make_batch(), names=["jacob_cov", "snip"])
    assert result["jacob_cov"].status == "nan"
    assert math.isnan(result["jacob_cov"].score)
    assert result["snip"].status == "ok"


def test_epe_nas_closed_form() -> None:
    model = SquareLinear()
    x, _ = make_batch(8)
    y = torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
    jac = 2 * as_np(x) * as_np(model.fc.weight).sum(0)
    expected = 0.0
    for label in (0, 1):
        corr = np.corrcoef(jac[y.numpy() == label])
        expected += abs(np.log(np.abs(corr) + 1e-5).sum())
    assert score(model, (x, y), "epe_nas") == pytest.approx(expected, rel=1e-6)


def zico_formula(g1: list[np.ndarray], g2: list[np.ndarray]) -> float:
    total = 0.0
    for a, b in zip(g1, g2, strict=True):
        diff = np.abs(a - b)
        ok = diff > 0
        total += math.log(((np.abs(a) + np.abs(b))[ok] / diff[ok]).sum())
    return total


def test_zico_two_batch_closed_form_with_extra_batch() -> None:
    model = TwoLinear(nn.ReLU())
    first, second = make_batch(seed=1), make_batch(seed=2)
    g1 = manual_two_layer(model, *first, relu=True)["g"]
    g2 = manual_two_layer(model, *second, relu=True)["g"]
    value = score(model, first, "zico", extra_batch=second)
    # float32 gradients; the ratio amplifies their rounding where g1 and g2 are close
    assert value == pytest.approx(zico_formula(g1, g2), rel=1e-5)


def test_zico_without_extra_batch_uses_the_two_stratified_halves() -> None:
    from zero_cost.batch import split_stratified

    model = TwoLinear(nn.ReLU())
    x, y = make_batch(8)
    a, b = split_stratified(y)
    assert set(a.tolist()).isdisjoint(b.tolist())
    assert sorted(a.tolist() + b.tolist()) == list(range(8))
    g1 = manual_two_layer(model, x[a], y[a], relu=True)["g"]
    g2 = manual_two_layer(model, x[b], y[b], relu=True)["g"]
    assert score(model, (x, y), "zico") == pytest.approx(zico_formula(g1, g2), rel=1e-5)


class ChannelMap(nn.Module):
    """An identity 1x1 conv on a 2-channel map, then pooling and a linear head."""

    def __init__(self, nested: bool) -> None:
        super().__init__()
        conv = nn.Conv2d(2, 2, 1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        self.body = nn.Sequential(conv) if nested else conv
        self.head = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(features.mean(dim=(2, 3))), features


@pytest.mark.parametrize("nested", [False, True])
def test_meco_is_one_minus_abs_channel_correlation_per_hooked_module(nested: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2, 5, 3, generator=gen)
    y = torch.tensor([0, 1, 0, 1])
    r = np.corrcoef(as_np(x[0]).reshape(2, -1))[0, 1]
    # The conv output is seen by the conv and, when nested, by its Sequential container too.
    expected = (1 - abs(r)) * (2 if nested else 1)
    assert score(ChannelMap(nested), (x, y), "meco") == pytest.approx(expected, rel=1e-9)


def test_zen_of_a_linear_network_is_log_linear_in_gamma() -> None:
    from zero_cost import create_proxy

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.Flatten(), nn.Linear(3 * 4 * 2, 2))
    x = torch.randn(4, 2, 4, 2)
    y = torch.tensor([0, 1, 0, 1])
    small = compute_proxies(model, (x, y), names=[create_proxy("zen", gamma=1e-2)], seed=7)
    large = compute_proxies(model, (x, y), names=[create_proxy("zen", gamma=2e-2)], seed=7)
    # Linear features: f(x) - f(x + gamma eps) = -gamma W eps, so Delta doubles.
    assert large["zen"].score - small["zen"].score == pytest.approx(math.log(2), rel=1e-5)
    other_seed = compute_proxies(model, (x, y), names=[create_proxy("zen", gamma=1e-2)], seed=8)
    assert other_seed["zen"].score != small["zen"].score


def test_l2_norm_params_and_flops_by_hand() -> None:
    class WithUnused(TwoLinear):
        def __init__(self) -> None:
            super().__init__(nn.ReLU())
            self.unused = nn.Linear(10, 10)

    from gcn_models.cost import count_flops

    model = WithUnused()
    res = compute_proxies(model, make_batch(), names=["l2_norm", "params", "flops"])
    # l2_norm reads weights, used or not (as the reference); params counts only used ones.
    layers = (model.fc1, model.fc2, model.unused)
    norms = sum(np.linalg.norm(as_np(m.weight)) for m in layers)
    assert res["l2_norm"].score == pytest.approx(norms, rel=1e-6)
    assert res["params"].score == D_IN * HIDDEN + HIDDEN * CLASSES  # not the unused 110
    assert res["flops"].score == 2 * (D_IN * HIDDEN + HIDDEN * CLASSES)
    assert res["flops"].score == count_flops(model, (1, D_IN))


def test_dropout_is_off_for_gradient_proxies() -> None:
    with_dropout = TwoLinear(nn.Dropout(p=0.5))
    without = TwoLinear(nn.Identity())
    batch = make_batch()
    names = ["grad_norm", "snip", "fisher", "grasp", "jacob_cov", "zico", "nwot"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyWarning)  # nwot: no rectifier here
        a = compute_proxies(with_dropout, batch, names=names)
        b = compute_proxies(without, batch, names=names)
    for name in names:
        assert a[name].status == b[name].status
        if b[name].status == "ok":
            assert a[name].score == b[name].score, name


class BNNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = nn.Linear(D_IN, HIDDEN)
        self.bn = nn.BatchNorm1d(HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, CLASSES)
        with torch.no_grad():
            self.bn.running_mean.fill_(5.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


def test_gradient_proxies_use_batch_statistics_whatever_the_callers_mode() -> None:
    model = BNNet()
    batch = make_batch()
    train_mode = compute_proxies(model.train(), batch, names=["grad_norm", "jacob_cov"])
    eval_mode = compute_proxies(model.eval(), batch, names=["grad_norm", "jacob_cov"])
    assert train_mode.scores == eval_mode.scores
    assert not model.training  # the caller's mode is left as it was


class Swish(nn.Module):
    """A custom Swish, as research code writes it (not nn.SiLU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def test_nwot_recognises_a_custom_swish_module() -> None:
    x, y = make_batch(8)
    assert score(HiddenLayer(Swish()), (x, y), "nwot") == pytest.approx(
        score(HiddenLayer(nn.ReLU()), (x, y), "nwot"), rel=1e-12
    )


class PooledAttention(nn.Module):
    """Channel attention with BatchNorm over pooled 1x1 maps (fails at batch 1 in train mode)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(2, 4, 1)
        self.squeeze = nn.Conv2d(4, 2, 1)
        self.bn = nn.BatchNorm2d(2)
        self.expand = nn.Conv2d(2, 4, 1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.conv(x))
        pooled = h.mean(dim=(2, 3), keepdim=True)  # (N, 4, 1, 1)
        weights = torch.softmax(self.expand(torch.relu(self.bn(self.squeeze(pooled)))), dim=1)
        h = h * weights
        return self.fc(h.mean(dim=(2, 3))), h


def test_batch_one_paths_work_with_batchnorm_over_pooled_maps() -> None:
    model = PooledAttention()
    x, y = torch.randn(4, 2, 5, 3), torch.tensor([0, 1, 0, 1])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        model.train()(x[:1])  # what a naive batch-1 pass in train mode hits
    result = compute_proxies(model, (x, y), names=["synflow", "flops", "meco"])
    assert result.statuses == {"synflow": "ok", "flops": "ok", "meco": "ok"}


class GraphConvNet(nn.Module):
    """A graph convolution: 1x1 Conv2d to K subsets, then einsum with an adjacency buffer."""

    def __init__(self, c_in: int, c_out: int, subsets: int, joints: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.subsets, self.c_out = subsets, c_out
        self.conv = nn.Conv2d(c_in, c_out * subsets, 1, bias=False)
        self.register_buffer("adjacency", torch.rand(subsets, joints, joints))
        self.fc = nn.Linear(c_out, 2, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.subsets, self.c_out, t, v)
        h = torch.einsum("nkctv,kvw->nctw", y, self.adjacency)
        return self.fc(h.mean(dim=(2, 3))), h


def test_flops_include_the_adjacency_einsum() -> None:
    c_in, c_out, k, t, v = 3, 4, 2, 6, 5
    model = GraphConvNet(c_in, c_out, k, v)
    x, y = torch.randn(4, c_in, t, v), torch.tensor([0, 1, 0, 1])
    conv = 2 * c_in * c_out * k * t * v
    einsum = 2 * k * c_out * t * v * v
    head = 2 * c_out * 2
    assert score(model, (x, y), "flops") == conv + einsum + head
