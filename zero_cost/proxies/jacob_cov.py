"""jacob_cov: the Jacobian-covariance score of NASWOT v1.

Mellor, Turner, Storkey & Crowley, "Neural Architecture Search without Training", arXiv
2006.04647v1 (2020), eq. 2, in the zero-cost-nas form (zero_cost_proxies.md §2.6)::

    J[n]   = d(sum of all logits) / d x[n]              (N x D)
    Sigma  = corrcoef(J)                                 (N x N Pearson correlation)
    score  = -sum_i [ ln(lambda_i + k) + 1/(lambda_i + k) ],   k = 1e-5

with lambda the eigenvalues of Sigma. Sigma is symmetric, so a symmetric solver (``eigvalsh``)
gives real eigenvalues; the reference's general ``eig`` can return complex round-off. Each term
is at least 1 (minimum at lambda = 1 - k), so the score is at most -N; C = I gives -N(1 + ~1e-5).
A sample whose Jacobian row is constant (an output that does not depend on the input) makes the
correlation undefined: the score is NaN.
"""

from __future__ import annotations

import torch

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.exceptions import UndefinedScoreError
from zero_cost.registry import register_proxy

K_SHIFT = 1e-5


def correlation_rows(matrix: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between the rows of ``matrix`` (R x D), float64, R x R.

    Same as ``numpy.corrcoef``: rows with zero variance give NaN rows and columns.
    """
    return torch.corrcoef(matrix.to(torch.float64))


def jacobian_covariance_score(jacobian: torch.Tensor, k: float = K_SHIFT) -> float:
    """The eq.-2 score of a Jacobian matrix (N x D).

    Raises:
        UndefinedScoreError: If a row is constant (the correlation is undefined).
    """
    corr = correlation_rows(jacobian)
    if not bool(torch.isfinite(corr).all()):
        raise UndefinedScoreError(
            "jacob_cov: a sample's input gradient is constant (the output does not depend on "
            "the input), so the correlation matrix is undefined"
        )
    eigenvalues = torch.linalg.eigvalsh(corr)
    shifted = eigenvalues + k
    return float(-(shifted.log() + shifted.reciprocal()).sum())


@register_proxy
class JacobCov(BaseProxy):
    """Jacobian covariance; ``train`` policy, shared input-Jacobian pass."""

    name = "jacob_cov"
    mode = "train"
    passes = ("train_forward", "input_jacobian")

    def score(self, ctx: ScoringContext) -> float:
        """-sum(ln(lambda + k) + 1/(lambda + k)) over the eigenvalues of corrcoef(J)."""
        return jacobian_covariance_score(ctx.input_jacobian())
