"""The BatchNorm grasp's working copy uses: native values, a cheaper but equal double backward."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from zero_cost import compute_proxies
from zero_cost.batchnorm import use_fast_double_backward_batch_norm


def _second_order(bn: nn.Module, x: torch.Tensor, w: torch.Tensor, with_bn_params: bool):
    """First gradients of a nonlinear loss, and one Hessian-vector product (weights and x)."""
    h = torch.nn.functional.conv2d(x, w) if x.dim() == 4 else x @ w
    out = bn(h)
    ramp = torch.linspace(0, 1, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out.tanh() ** 2).sum() + (out * ramp).sum()
    params = [w]
    if with_bn_params and bn.weight is not None:
        params += [bn.weight, bn.bias]
    grads = torch.autograd.grad(loss, params, create_graph=True)
    gen = torch.Generator().manual_seed(5)
    vector = [torch.randn(g.shape, dtype=g.dtype, generator=gen) for g in grads]
    z = sum((g * v).sum() for g, v in zip(grads, vector, strict=True))
    second = torch.autograd.grad(z, [*params, x])
    return [g.detach() for g in grads] + list(second)


@pytest.mark.parametrize(
    ("cls", "x_shape", "w_shape"),
    [(nn.BatchNorm2d, (6, 4, 5, 3), (5, 4, 1, 1)), (nn.BatchNorm1d, (7, 4), (4, 5))],
)
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"momentum": None}])
@pytest.mark.parametrize("with_bn_params", [False, True])
def test_double_backward_equals_native_in_float64(cls, x_shape, w_shape, options, with_bn_params):
    torch.manual_seed(0)
    native = cls(5, **options).double()
    if native.weight is not None:
        with torch.no_grad():
            native.weight.uniform_(0.5, 1.5)
            native.bias.uniform_(-1, 1)
    fast = copy.deepcopy(native)
    assert use_fast_double_backward_batch_norm(fast) == 1
    assert isinstance(fast, cls)
    x = (torch.randn(*x_shape, dtype=torch.double) * 2 + 1).requires_grad_()
    w = torch.randn(*w_shape, dtype=torch.double, requires_grad=True)
    for _ in range(2):  # the second call sees updated running statistics
        expected = _second_order(native, x, w, with_bn_params)
        got = _second_order(fast, x, w, with_bn_params)
    assert len(got) == len(expected)
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    for e, g in zip(native.buffers(), fast.buffers(), strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=0)


def test_eval_mode_and_user_subclasses_keep_the_native_path():
    class MyNorm(nn.BatchNorm2d):
        pass

    model = nn.Sequential(nn.BatchNorm2d(3), MyNorm(3))
    assert use_fast_double_backward_batch_norm(model) == 1
    assert type(model[1]) is MyNorm
    model.eval()
    x = torch.randn(2, 3, 4, 4)
    reference = nn.BatchNorm2d(3).eval()
    torch.testing.assert_close(model[0](x), reference(x))


def test_grasp_of_a_batchnorm_network_equals_the_native_double_backward():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    x = torch.randn(12, 3, 6, 5)
    y = torch.arange(12) % 3
    before = {k: v.clone() for k, v in model.state_dict().items()}
    score = compute_proxies(model, (x, y), names=["grasp"]).scores["grasp"]

    net = copy.deepcopy(model).train()
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    loss = torch.nn.functional.cross_entropy(net(x), y)
    grads = torch.autograd.grad(loss, weights, create_graph=True)
    z = sum((g.detach() * g).sum() for g in grads)
    hessian_grad = torch.autograd.grad(z, weights)
    pairs = zip(weights, hessian_grad, strict=True)
    expected = float(sum(-(w.detach() * hg).sum() for w, hg in pairs))
    assert score == pytest.approx(expected, rel=1e-4)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert [type(m) for m in model if isinstance(m, nn.BatchNorm2d)] == [nn.BatchNorm2d] * 2
