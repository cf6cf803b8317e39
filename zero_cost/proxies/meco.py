"""meco: the minimum eigenvalue of the channel correlation of every module's feature map.

Jiang, Wang & Bie, "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum
Eigenvalue of Correlation", NeurIPS 2023, eq. 10, as in the MeCo correlation code
(zero_cost_proxies.md §2.14):

1. one sample, one forward; a hook on *every* module of ``named_modules()`` (the root and
   containers included, so an output seen by several modules counts several times);
2. for each module output (the first tensor of a tuple output), sample 0's map is reshaped
   to C x (T*V) (all non-channel axes flattened);
3. P = Pearson correlation across channels, NaN (constant channels) set to 0;
4. meco = sum over modules of lambda_min(P) (``eigvalsh``: P is symmetric, so real).

Outputs without spatial positions (pooled maps, logits) have no correlation; the reference
turns them into all-zero matrices with lambda_min = 0, so they are skipped here. Deviation from
the reference, which runs batch 1 in train mode and crashes on BatchNorm over pooled maps: the
sample runs through the ``eval`` copy (running statistics; the identity map on a fresh network).
BatchNorm applies a per-channel affine map, which leaves that layer's own correlation matrix
unchanged.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.model_io import first_tensor
from zero_cost.registry import register_proxy


def min_channel_correlation_eigenvalue(feature_map: torch.Tensor) -> float | None:
    """lambda_min of the channel correlation of one sample's map (C, *positions).

    Returns:
        The eigenvalue, or ``None`` for maps with fewer than 2 channels or positions.
    """
    if feature_map.dim() < 2:
        return None
    rows = feature_map.reshape(feature_map.shape[0], -1).to(torch.float64)
    if rows.shape[0] < 2 or rows.shape[1] < 2:
        return None
    corr = torch.nan_to_num(torch.corrcoef(rows), nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def _collect(maps: list[torch.Tensor], module: nn.Module, inputs: tuple, output: object) -> None:
    tensor = first_tensor(output)
    if tensor is not None and tensor.dim() >= 3 and tensor.is_floating_point():
        maps.append(tensor[0].detach())


@register_proxy
class Meco(BaseProxy):
    """Sum of minimum channel-correlation eigenvalues; ``eval`` copy, one sample."""

    name = "meco"
    mode = "eval"

    def score(self, ctx: ScoringContext) -> float:
        """Sum over module outputs of lambda_min of the channel correlation."""
        model = ctx.working_copy("eval")
        maps: list[torch.Tensor] = []
        handles = [m.register_forward_hook(partial(_collect, maps)) for m in model.modules()]
        try:
            with torch.no_grad():
                model(ctx.x[:1])
        finally:
            for handle in handles:
                handle.remove()
        values = [min_channel_correlation_eigenvalue(m) for m in maps]
        return math.fsum(v for v in values if v is not None and math.isfinite(v))
