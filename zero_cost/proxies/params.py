"""params: the number of trainable scalars that take part in the forward pass.

A size baseline (zero_cost_proxies.md §2.10). Modules that are built but skipped by the forward
pass (the unused 1x1 convolutions of MovementOutcome's ``basic`` blocks, say) are not counted:
the count walks the autograd graph of the shared loss pass from the logits to its leaves, so it
counts every parameter the logits depend on, whatever the layer set.
"""

from __future__ import annotations

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.registry import register_proxy


@register_proxy
class Params(BaseProxy):
    """Parameters reached from the logits; reuses the shared loss pass."""

    name = "params"
    mode = "train"
    passes = ("loss_gradients",)

    def score(self, ctx: ScoringContext) -> float:
        """Number of scalar parameters the logits depend on."""
        return float(ctx.loss_gradients().used_parameters)
