"""snip: connection sensitivity summed over weights.

Lee, Ajanthan & Torr, "SNIP: Single-shot Network Pruning based on Connection Sensitivity",
ICLR 2019, eq. 6 (sensitivity |dL/dc| of a multiplicative mask c at c = 1), used as a NAS proxy
by Abdelfattah et al. 2021 (zero_cost_proxies.md §2.2)::

    snip = sum_l sum | W_l * dL/dW_l |

The mask gradient at c = 1 equals W * dL/dW, so the shared loss gradient is used directly
instead of swapping layer forwards (which also avoids the reference's loss of ``padding_mode``).
"""

from __future__ import annotations

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.proxies._sums import total
from zero_cost.registry import register_proxy


@register_proxy
class Snip(BaseProxy):
    """Sum of |W * g|; ``train`` policy, shared loss pass."""

    name = "snip"
    mode = "train"
    passes = ("train_forward", "loss_gradients")
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum of |W * dL/dW| over the layer set."""
        result = ctx.loss_gradients()
        return total(
            (p.tensor.detach() * g).abs().sum()
            for p, g in zip(result.selected, result.gradients, strict=True)
            if g is not None
        )
