"""synflow: synaptic flow of the all-ones input through the absolute-valued network.

Tanaka, Kunin, Yamins & Ganguli, "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020, eq. 3 (R = 1^T prod_l |W_l| 1) and the synaptic
saliency S = dR/dW * W, in the zero-cost-nas form (zero_cost_proxies.md §2.4):

1. on a private copy, every tensor of the ``state_dict`` is made absolute: parameters and
   buffers, including BatchNorm statistics and the adjacency buffer;
2. the copy is cast to float64, BatchNorm layers are replaced by the identity ("bypassed", not
   eval mode) and dropout is off;
3. one all-ones input of the real input shape with batch 1; R = sum of the logits;
4. synflow = sum_l sum | W_l * dR/dW_l |.

For a bias-free ReLU chain R is the path norm, and by conservation of synaptic flow every
layer's sum equals R, so synflow = (#layers) * R. Values reach 1e30-1e60; float64 holds up to
1.8e308. The per-layer sums are also combined in log space (``zc_synflow_log`` = log synflow),
which stays finite when only the final sum would overflow; the score itself is then NaN.

When R itself exceeds float64 the score and its log are undefined (NaN, status ``nan``). In the
GCN search space this happens for some networks with ``frame`` attention, whose unbounded,
input-proportional weights multiply the features and so square their magnitude module by
module (2 of 30 sampled architectures at T = 150).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from zero_cost.base import BaseProxy, ProxyValue
from zero_cost.context import ScoringContext
from zero_cost.exceptions import UndefinedScoreError
from zero_cost.model_io import logits_of
from zero_cost.registry import register_proxy


def bypass_batchnorm(model: nn.Module) -> int:
    """Replace every BatchNorm module of ``model`` (in place) by ``nn.Identity``.

    Returns:
        The number of modules replaced.
    """
    targets = [
        (parent, child_name)
        for parent in model.modules()
        for child_name, child in parent.named_children()
        if isinstance(child, nn.modules.batchnorm._BatchNorm)
    ]
    for parent, child_name in targets:
        setattr(parent, child_name, nn.Identity())
    return len(targets)


def log_sum(values: torch.Tensor) -> float:
    """log(sum(values)) for non-negative float64 values, computed without overflow.

    Returns -inf when every value is zero.
    """
    positive = values[values > 0]
    if positive.numel() == 0:
        return -math.inf
    return float(torch.logsumexp(positive.log(), dim=0))


@register_proxy
class Synflow(BaseProxy):
    """Synaptic flow; private float64 copy, BatchNorm bypassed, batch 1 of ones."""

    name = "synflow"
    mode = "bypass"
    extras = ("log",)

    def score(self, ctx: ScoringContext) -> ProxyValue:
        """Sum of |W * dR/dW| over the layer set, with its logarithm as ``log``."""
        model = ctx.private_copy("eval")
        bypass_batchnorm(model)
        with torch.no_grad():
            for tensor in list(model.parameters()) + list(model.buffers()):
                if tensor.dtype != torch.bool:
                    tensor.abs_()
        model.double()
        selected = ctx.layers.select(model)
        ones = torch.ones((1, *ctx.x.shape[1:]), dtype=torch.float64, device=ctx.device)
        with torch.enable_grad():
            flow = logits_of(model(ones)).sum()
        if not bool(torch.isfinite(flow)):
            # TODO(zcnas): an extended-range evaluation (values carried as mantissa and
            # exponent) would give log synflow for networks whose flow exceeds float64.
            raise UndefinedScoreError(
                f"synflow: the flow R (sum of the outputs of the absolute-valued network) is "
                f"{float(flow.detach())}: it exceeds float64 (1.8e308)"
            )
        weights = [p.tensor for p in selected]
        grads = (
            torch.autograd.grad(flow, weights, allow_unused=True)
            if flow.requires_grad
            else [None] * len(weights)
        )
        per_layer = [
            (w.detach() * g).abs().sum()
            for w, g in zip(weights, grads, strict=True)
            if g is not None
        ]
        if not per_layer:
            return ProxyValue(0.0, {"log": -math.inf})
        sums = torch.stack(per_layer)
        return ProxyValue(float(sums.sum()), {"log": log_sum(sums)})
