"""epe_nas: class-wise Jacobian correlations.

Lopes, Alirezazadeh & Alexandre, "EPE-NAS: Efficient Performance Estimation Without Training
for Neural Architecture Search", ICANN 2021, eq. 1-3, in the EPE-NAS/NASLib form
(zero_cost_proxies.md §2.12). With J the input Jacobian of the summed logits (as jacob_cov) and
k = 1e-5:

    s_c = sum_{i,j} ln(|corrcoef(J_c)_{ij}| + k)        for each class c seen in the batch
          (divided by the matrix size when the model has more than 100 outputs)
    score = sum_c |s_c|                                  if outputs <= 100
          = sum_c sum_c' |s_c - s_c'| / #classes          otherwise

A class with one sample in the batch has the 1x1 correlation 1 and adds ln(1 + k), i.e. almost
nothing, as in the reference; a :class:`~zero_cost.ProxyWarning` says so (use a stratified
scoring batch, see :func:`zero_cost.select_scoring_batch`). A constant Jacobian row gives NaN.
"""

from __future__ import annotations

import warnings

import torch

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.exceptions import ProxyWarning, UndefinedScoreError
from zero_cost.proxies.jacob_cov import K_SHIFT, correlation_rows
from zero_cost.registry import register_proxy

MANY_OUTPUTS = 100


def epe_score(jacobian: torch.Tensor, labels: torch.Tensor, num_outputs: int) -> float:
    """The EPE-NAS score of a Jacobian (N x D) with labels (N,)."""
    per_class = []
    for label in torch.unique(labels).tolist():
        rows = jacobian[labels == label]
        if rows.shape[0] == 1:
            warnings.warn(
                f"epe_nas: class {label} has a single sample in the scoring batch, so it adds "
                "almost nothing to the score; use a stratified batch with >= 2 per class",
                ProxyWarning,
                stacklevel=4,
            )
            corr = torch.ones((1, 1), dtype=torch.float64, device=jacobian.device)
        else:
            corr = correlation_rows(rows)
        if not bool(torch.isfinite(corr).all()):
            raise UndefinedScoreError(
                f"epe_nas: a sample's input gradient in class {label} is constant, so its "
                "correlation matrix is undefined"
            )
        s_c = (corr.abs() + K_SHIFT).log().sum()
        if num_outputs > MANY_OUTPUTS:
            s_c = s_c / corr.numel()
        per_class.append(s_c)
    values = torch.stack(per_class)
    if num_outputs <= MANY_OUTPUTS:
        return float(values.abs().sum())
    return float((values[:, None] - values[None, :]).abs().sum() / len(per_class))


@register_proxy
class EpeNas(BaseProxy):
    """Class-wise Jacobian correlation; ``train`` policy, shared input-Jacobian pass."""

    name = "epe_nas"
    mode = "train"
    passes = ("train_forward", "input_jacobian")
    uses_labels = True

    def score(self, ctx: ScoringContext) -> float:
        """Sum over classes of |sum ln(|corr| + k)|."""
        return epe_score(ctx.input_jacobian(), ctx.y, ctx.num_classes)
