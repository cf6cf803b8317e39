"""grasp: gradient signal preservation, from a Hessian-gradient product.

Wang, Zhang & Grosse, "Picking Winning Tickets Before Training by Preserving Gradient Flow",
ICLR 2020, eq. 8 (score S(-theta) = -theta * Hg), in the zero-cost-nas form
(zero_cost_proxies.md §2.3), with temperature 1 and one batch:

1. g = dL/dW, detached (taken from the shared loss pass: same copy, policy and batch);
2. a second forward, dL/dW with ``create_graph=True``, z = sum_l <g_l, dL/dW_l>, and
   Hg = dz/dW (a double backward);
3. grasp = sum_l sum -(W_l * (Hg)_l), **signed**.

Higher = better per the reference's sign convention; the score can be negative, so never take
its logarithm without handling the sign.
"""

from __future__ import annotations

import torch

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.passes import cross_entropy_of
from zero_cost.proxies._sums import total
from zero_cost.registry import register_proxy


@register_proxy
class Grasp(BaseProxy):
    """Signed -W * Hg summed; ``train`` policy; shared loss pass plus a double backward."""

    name = "grasp"
    mode = "train"
    passes = ("loss_gradients",)
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum of -(W * Hg) over the layer set."""
        first = ctx.loss_gradients()
        pairs = [
            (p.tensor, g)
            for p, g in zip(first.selected, first.gradients, strict=True)
            if g is not None
        ]
        if not pairs:
            return 0.0
        weights = [w for w, _ in pairs]
        with torch.enable_grad():
            loss = cross_entropy_of(first.model, ctx.x, ctx.y)
            grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
            inner = [
                (g.detach() * g2).sum()
                for (_, g), g2 in zip(pairs, grads, strict=True)
                if g2 is not None
            ]
            if not inner:
                return 0.0
            z = torch.stack(inner).sum()
            if not z.requires_grad:  # the loss is linear in every weight: H g = 0
                return 0.0
            hessian_grad = torch.autograd.grad(z, weights, allow_unused=True)
        return total(
            -(w.detach() * hg).sum()
            for w, hg in zip(weights, hessian_grad, strict=True)
            if hg is not None
        )
