"""plain: the signed first-order loss change under a uniform rescaling of the weights.

Mozer & Smolensky 1989 style saliency as used by Abdelfattah et al. 2021 (zero-cost-nas
``plain``; zero_cost_proxies.md §2.8)::

    plain = sum_l sum W_l * dL/dW_l        (signed, no abs)

Its orientation is not settled in the literature (``higher_is_better = None``).
"""

from __future__ import annotations

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.proxies._sums import total
from zero_cost.registry import register_proxy


@register_proxy
class Plain(BaseProxy):
    """Sum of W * g (signed); ``train`` policy, shared loss pass."""

    name = "plain"
    mode = "train"
    passes = ("train_forward", "loss_gradients")
    higher_is_better = None
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum of W * dL/dW over the layer set."""
        result = ctx.loss_gradients()
        return total(
            (p.tensor.detach() * g).sum()
            for p, g in zip(result.selected, result.gradients, strict=True)
            if g is not None
        )
