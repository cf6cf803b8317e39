"""fisher: channel saliency from the empirical Fisher information, per output channel.

Turner et al., "BlockSwap: Fisher-guided Block Substitution for Network Compression on a
Budget", ICLR 2020 (eq. 2, after Theis et al. 2018), in the form of the zero-cost-nas code
(zero_cost_proxies.md §2.5). For each layer l of the layer set with output activation a
(conv/linear output including bias, before normalisation) and g = dL/da::

    s_{n,c}  = sum over positions of a[n, c, ...] * g[n, c, ...]
    F_{l,c}  = 1/2 * mean_n s_{n,c}^2
    fisher   = sum_l fan_in(l) * sum_c F_{l,c}

The fan-in factor (weight.shape[1:] product) replicates the reference's "broadcast the channel
value to every weight of the channel, then sum". Channels are dim 1 of a convolution output and
the last dim of a linear output. A module called several times contributes once per call.
Parameters outside modules (edge-importance masks, norm affine parameters) have no channels and
do not enter fisher, whatever the layer set. The s_{n,c} come from the shared loss backward
(:class:`~zero_cost.passes.ChannelSaliency`).
"""

from __future__ import annotations

import torch

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.passes import ChannelSaliency
from zero_cost.proxies._sums import total
from zero_cost.registry import register_proxy


def channel_fisher(record: ChannelSaliency) -> torch.Tensor:
    """fan_in * sum_c F_c for one recorded layer call (a float64 scalar tensor)."""
    fan_in = record.module.weight[0].numel()
    return 0.5 * record.per_sample.pow(2).mean(dim=0).sum() * fan_in


@register_proxy
class Fisher(BaseProxy):
    """Fan-in-weighted channel Fisher information; ``train`` policy, shared loss backward."""

    name = "fisher"
    mode = "train"
    passes = ("train_forward", "loss_gradients")
    captures = frozenset({"layer_outputs"})
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum over recorded layer calls of fan_in * sum_c F_c."""
        result = ctx.loss_gradients()
        if not result.channel_saliency and ctx.layers.layer_modules(result.model):
            raise RuntimeError(
                "fisher needs the layer outputs of the shared forward, but none were recorded"
            )
        return total(channel_fisher(record) for record in result.channel_saliency)
