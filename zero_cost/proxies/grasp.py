"""grasp: gradient signal preservation, from a Hessian-gradient product.

Wang, Zhang & Grosse, "Picking Winning Tickets Before Training by Preserving Gradient Flow",
ICLR 2020, eq. 8 (score S(-theta) = -theta * Hg), in the zero-cost-nas form
(zero_cost_proxies.md §2.3), with temperature 1 and one batch:

1. g = dL/dW, detached;
2. z = sum_l <g_l, dL/dW_l> with dL/dW still attached to its graph, and Hg = dz/dW (a double
   backward);
3. grasp = sum_l sum -(W_l * (Hg)_l), **signed**.

The reference computes step 1 in its own forward+backward and repeats the forward for step 2.
Here both steps use the shared loss pass (same copy, ``train`` policy, batch and forward, so
the same g and graph); only the double backward is grasp's own work. Higher = better per the
reference's sign convention; the score can be negative, so never take its logarithm without
handling the sign.
"""

from __future__ import annotations

import torch

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.proxies._sums import total
from zero_cost.registry import register_proxy


@register_proxy
class Grasp(BaseProxy):
    """Signed -W * Hg summed; ``train`` policy; shared loss pass plus a double backward."""

    name = "grasp"
    mode = "train"
    passes = ("train_forward", "loss_gradients")
    captures = frozenset({"loss_graph"})
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum of -(W * Hg) over the layer set."""
        result = ctx.loss_gradients()
        if result.graph_gradients is None:
            raise RuntimeError("grasp needs the graph of the shared loss pass, which was not kept")
        triples = [
            (p.tensor, g, attached)
            for p, g, attached in zip(
                result.selected, result.gradients, result.graph_gradients, strict=True
            )
            if g is not None and attached is not None and attached.requires_grad
        ]
        if not triples:  # no weight gradient depends on the weights: H g = 0
            return 0.0
        weights = [w for w, _, _ in triples]
        with torch.enable_grad():
            z = torch.stack([(g * attached).sum() for _, g, attached in triples]).sum()
            hessian_grad = torch.autograd.grad(
                z, weights, allow_unused=True, retain_graph=ctx.will_need("input_jacobian")
            )
        return total(
            -(w.detach() * hg).sum()
            for w, hg in zip(weights, hessian_grad, strict=True)
            if hg is not None
        )
