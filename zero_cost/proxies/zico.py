"""zico: inverse coefficient of variation of the weight gradients across batches.

Li, Yang, Wang, Liu, Zhou & Marculescu, "ZiCo: Zero-shot NAS via Inverse Coefficient of
Variation on Gradients", ICLR 2023, eq. 9, as in the official code (zero_cost_proxies.md §2.13).
For B = 2 disjoint batches with weight gradients g_1, g_2 (mean cross-entropy of each batch,
``train`` policy, gradients recomputed from scratch for each batch):

    mu = mean_b |g_b|,  sigma = std_b g_b (population std over batches)
    S_l = sum over weights of layer l with sigma > 0 of mu / sigma
    zico = sum over layers with S_l > 0 of ln S_l

With B = 2 the per-weight ratio is (|g_1| + |g_2|) / |g_1 - g_2|. The batches are the scoring
batch and ``extra_batch`` when the caller gives one; otherwise the scoring batch is split into
two disjoint, class-stratified halves (:func:`zero_cost.batch.split_stratified`). A network
with no layer of positive S_l is undefined (the reference's empty sum would give 0).
"""

from __future__ import annotations

import math

import torch

from zero_cost.base import BaseProxy
from zero_cost.batch import split_stratified
from zero_cost.context import ScoringContext
from zero_cost.exceptions import UndefinedScoreError
from zero_cost.passes import cross_entropy_of
from zero_cost.registry import register_proxy


def zico_from_gradients(
    first: list[torch.Tensor | None], second: list[torch.Tensor | None]
) -> float:
    """The B = 2 ZiCo score from two lists of per-layer gradients.

    Raises:
        UndefinedScoreError: If no layer has a weight whose gradient differs between batches.
    """
    log_terms = []
    for g1, g2 in zip(first, second, strict=True):
        if g1 is None or g2 is None:
            continue
        g1, g2 = g1.to(torch.float64), g2.to(torch.float64)
        mean_abs = (g1.abs() + g2.abs()) / 2
        std = (g1 - g2).abs() / 2
        varying = std > 0
        layer_sum = (mean_abs[varying] / std[varying]).sum()
        log_terms.append(layer_sum)
    values = torch.stack(log_terms) if log_terms else torch.zeros(0, dtype=torch.float64)
    positive = values[values > 0]
    if positive.numel() == 0:
        raise UndefinedScoreError(
            "zico: no layer has a gradient that differs between the two batches"
        )
    return float(positive.log().sum())


@register_proxy
class Zico(BaseProxy):
    """ZiCo over two disjoint batches; ``train`` policy, two forward+backward passes."""

    name = "zico"
    mode = "train"
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum over layers of ln sum(mu / sigma)."""
        if ctx.extra_batch is not None:
            batches = [(ctx.x, ctx.y), ctx.extra_batch]
        else:
            first, second = split_stratified(ctx.y)
            batches = [(ctx.x[first], ctx.y[first]), (ctx.x[second], ctx.y[second])]
        model = ctx.working_copy("train")
        weights = [p.tensor for p in ctx.layers.select(model)]
        gradients = []
        for x, y in batches:
            loss = cross_entropy_of(model, x, y)
            gradients.append(list(torch.autograd.grad(loss, weights, allow_unused=True)))
        score = zico_from_gradients(gradients[0], gradients[1])
        if not math.isfinite(score):
            raise UndefinedScoreError("zico: a gradient ratio overflowed")
        return score
