"""l2_norm: the sum over layers of the Frobenius norm of the weights.

zero-cost-nas / NASLib ``l2_norm`` (zero_cost_proxies.md §2.9)::

    l2_norm = sum_l || W_l ||_F

No data and no pass; at default initialisation it is a function of the layer shapes, i.e. a
size proxy.
"""

from __future__ import annotations

import torch

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.proxies._sums import total
from zero_cost.registry import register_proxy


@register_proxy
class L2Norm(BaseProxy):
    """Sum of weight norms, read from the caller's model without running it."""

    name = "l2_norm"
    mode = "none"

    def score(self, ctx: ScoringContext) -> float:
        """Sum of ||W_l||_F over the layer set."""
        with torch.no_grad():
            return total(p.tensor.detach().norm() for p in ctx.layers.select(ctx.model))
