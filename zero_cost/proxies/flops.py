"""flops: floating-point operations of one forward pass per sample.

A compute baseline (zero_cost_proxies.md §2.10). Counted with
:class:`torch.utils.flop_counter.FlopCounterMode`, which sees functional operations (the
adjacency ``einsum``, attention products) as well as modules; a multiply-add counts as two
FLOPs. It runs one real sample (batch 1) through the ``eval`` copy, so BatchNorm over pooled
1x1 maps works, and equals :func:`gcn_models.cost.count_flops` for the same model and shape.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.registry import register_proxy


@register_proxy
class Flops(BaseProxy):
    """FLOPs per sample at batch 1; ``eval`` policy."""

    name = "flops"
    mode = "eval"

    def score(self, ctx: ScoringContext) -> float:
        """FLOPs of one forward pass of one sample."""
        model = ctx.working_copy("eval")
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(ctx.x[:1])
        return float(counter.get_total_flops())
