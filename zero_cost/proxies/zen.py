"""zen: the Zen-score, expressivity of the pre-pooling features under a Gaussian re-init.

Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition", ICCV 2021,
eq. 6-7, in the form of the Zen-NAS code (zero_cost_proxies.md §2.11). Per repeat:

1. re-initialise a private copy: every Conv/Linear weight ~ N(0, 1), their biases 0,
   BatchNorm/GroupNorm weights 1 and biases 0 (other parameters, such as edge-importance masks,
   keep their values);
2. draw x ~ N(0, 1) of the batch's shape and eps ~ N(0, 1); x' = x + gamma * eps, gamma = 1e-2;
3. Delta = mean over the batch of sum_{C,T,V} |f(x) - f(x')| with f the pre-pooling features
   (the second output of a ``(logits, features)`` model; the output itself otherwise);
4. zen = ln Delta + sum over BatchNorm2d layers of ln sqrt(mean running_var).

The copy is in train mode (batch statistics; running variances are updated by the two forward
passes and read afterwards, as in the reference); dropout is off. ``repeats`` scores are
averaged (the Zen-NAS default is 32, NASLib uses 1, the default here). All random numbers come
from generators seeded with the run's seed. Only BatchNorm2d enters the BN term, so a
BatchNorm1d input normalisation is ignored, as in the reference. Delta = 0 is undefined.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.exceptions import UndefinedScoreError
from zero_cost.model_io import features_of
from zero_cost.registry import register_proxy

MIXUP_GAMMA = 1e-2


def gaussian_reinit(model: nn.Module, generator: torch.Generator) -> None:
    """Zen-NAS re-initialisation of ``model`` in place (weights N(0, 1), norms to identity)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
                weight = torch.randn(module.weight.shape, generator=generator)
                module.weight.copy_(weight.to(module.weight))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()


def batchnorm2d_log_scale(model: nn.Module) -> float:
    """Sum over BatchNorm2d layers of ln sqrt(mean running_var)."""
    terms = [
        0.5 * math.log(float(m.running_var.mean()))
        for m in model.modules()
        if isinstance(m, nn.BatchNorm2d) and m.running_var is not None
    ]
    return math.fsum(terms)


@register_proxy
class Zen(BaseProxy):
    """Zen-score; private re-initialised ``train`` copy, two forwards per repeat."""

    name = "zen"
    mode = "train"

    def __init__(self, repeats: int = 1, gamma: float = MIXUP_GAMMA) -> None:
        """Configure the proxy.

        Args:
            repeats: Number of re-initialisations averaged (>= 1).
            gamma: Size of the input perturbation.

        Raises:
            ValueError: If ``repeats`` < 1 or ``gamma`` <= 0.
        """
        if repeats < 1:
            raise ValueError(f"zen: `repeats` must be >= 1, got {repeats}")
        if not gamma > 0:
            raise ValueError(f"zen: `gamma` must be > 0, got {gamma}")
        self.repeats = repeats
        self.gamma = gamma

    def score(self, ctx: ScoringContext) -> float:
        """Mean over repeats of ln Delta + BN2d log-scale."""
        model = ctx.private_copy("train")
        generator = ctx.generator()
        dtype = next(model.parameters()).dtype
        scores = []
        for _ in range(self.repeats):
            gaussian_reinit(model, generator)
            x = torch.randn(ctx.x.shape, generator=generator).to(ctx.device, dtype)
            noise = torch.randn(ctx.x.shape, generator=generator).to(ctx.device, dtype)
            with torch.no_grad():
                clean = features_of(model(x))
                mixed = features_of(model(x + self.gamma * noise))
            delta = (clean - mixed).abs().reshape(clean.shape[0], -1).sum(dim=1).mean()
            if not float(delta) > 0:
                raise UndefinedScoreError(
                    "zen: the features do not change under the input perturbation (Delta = 0)"
                )
            scores.append(math.log(float(delta)) + batchnorm2d_log_scale(model))
        return math.fsum(scores) / len(scores)
