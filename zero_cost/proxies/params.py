"""params: the number of trainable scalars that take part in the forward pass.

A size baseline (zero_cost_proxies.md §2.10). Modules that are built but skipped by the forward
pass (the unused 1x1 convolutions of MovementOutcome's ``basic`` blocks, say) are not counted:
the count walks the autograd graph of the shared forward from the logits to its leaves, so it
counts every parameter the logits depend on, whatever the layer set.
"""

from __future__ import annotations

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.model_io import count_used_parameters
from zero_cost.registry import register_proxy


@register_proxy
class Params(BaseProxy):
    """Parameters reached from the logits; reads the graph of the shared forward."""

    name = "params"
    mode = "train"
    passes = ("train_forward",)

    def score(self, ctx: ScoringContext) -> float:
        """Number of scalar parameters the logits depend on."""
        forward = ctx.train_forward()
        return float(count_used_parameters(forward.logits, forward.model))
