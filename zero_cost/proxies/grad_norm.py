"""grad_norm: the sum over layers of the Frobenius norm of the loss gradient.

Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, §3 (grad_norm), as in
the zero-cost-nas code (zero_cost_proxies.md §2.1)::

    grad_norm = sum_l || dL/dW_l ||_F

a sum of per-layer norms, neither the global norm sqrt(sum_l ||g_l||^2) nor sum |g|. L is the
mean cross-entropy of the scoring batch; a layer without gradient contributes 0.
"""

from __future__ import annotations

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.proxies._sums import total
from zero_cost.registry import register_proxy


@register_proxy
class GradNorm(BaseProxy):
    """Sum of per-layer gradient norms; ``train`` policy, shared loss pass."""

    name = "grad_norm"
    mode = "train"
    passes = ("train_forward", "loss_gradients")
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum of ||dL/dW_l||_F over the layer set."""
        grads = ctx.loss_gradients().gradients
        return total(g.norm() for g in grads if g is not None)
