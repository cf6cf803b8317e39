"""nwot: log-determinant of the binary activation-agreement kernel (NASWOT).

Mellor, Turner, Storkey & Crowley, "Neural Architecture Search without Training", ICML 2021,
eq. 2 (K_H[i, j] = N_A - d_H(c_i, c_j)) and the score log|K_H|, as in the v2 code and NASLib's
single-forward ``nwot`` (zero_cost_proxies.md §2.7):

1. one forward of the scoring batch (``train`` policy, no gradient);
2. at every rectifier-like activation module, its *input* (the pre-activation) is flattened
   per sample and binarised as c = 1[x > 0];
3. K = sum over activations of c c^T + (1 - c)(1 - c)^T, i.e. units minus Hamming distance;
4. nwot = log|det K| (``slogdet``).

The reference hooks only modules named "ReLU", so Swish/SiLU networks get K = 0 and -inf. Here
the pre-activation of ReLU, ReLU6, LeakyReLU, PReLU, RReLU, SiLU/Swish, GELU, ELU, SELU, CELU,
Mish and Hardswish modules, and of any module whose class name contains "relu", "swish",
"silu", "gelu" or "mish", is binarised at 0 (a forward *pre*-hook, so ``inplace=True`` does not
hide it). Gates such as Sigmoid/Softmax are not hooked. K is accumulated in float64. A singular
K (duplicate samples) or a network without such modules is undefined (NaN, status ``nan``).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.exceptions import UndefinedScoreError
from zero_cost.registry import register_proxy

RECTIFIER_TYPES: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.SiLU,
    nn.GELU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.Mish,
    nn.Hardswish,
)
RECTIFIER_NAME_PARTS = ("relu", "swish", "silu", "gelu", "mish")


def is_rectifier(module: nn.Module) -> bool:
    """Whether nwot binarises this module's input (see the module docstring)."""
    if isinstance(module, RECTIFIER_TYPES):
        return True
    class_name = type(module).__name__.lower()
    return any(part in class_name for part in RECTIFIER_NAME_PARTS)


def agreement_kernel(codes: torch.Tensor) -> torch.Tensor:
    """Units on which each pair of samples agrees: c c^T + (1 - c)(1 - c)^T.

    Args:
        codes: Binary codes, shape (N, U), values 0/1.

    Returns:
        K, shape (N, N), float64: K[i, j] = U - Hamming(c_i, c_j).
    """
    ones = codes.to(torch.float32)
    zeros = 1.0 - ones
    # 0/1 products summed in float32 are exact integers while U < 2**24.
    if codes.shape[1] >= 2**24:
        ones, zeros = ones.double(), zeros.double()
    return (ones @ ones.T + zeros @ zeros.T).to(torch.float64)


def _accumulate(kernel: list[torch.Tensor], module: nn.Module, inputs: tuple) -> None:
    x = inputs[0]
    codes = (x.detach() > 0).reshape(x.shape[0], -1)
    kernel[0] = kernel[0] + agreement_kernel(codes)


@register_proxy
class Nwot(BaseProxy):
    """NASWOT kernel log-determinant; ``train`` policy, one forward without gradient."""

    name = "nwot"
    mode = "train"

    def score(self, ctx: ScoringContext) -> float:
        """log|det K| of the activation-agreement kernel (NaN without rectifiers)."""
        model = ctx.working_copy("train")
        n = ctx.x.shape[0]
        kernel = [torch.zeros((n, n), dtype=torch.float64, device=ctx.device)]
        modules = [m for m in model.modules() if is_rectifier(m)]
        if not modules:
            raise UndefinedScoreError(
                "nwot: the network has no rectifier-like activation module to binarise"
            )
        handles = [m.register_forward_pre_hook(partial(_accumulate, kernel)) for m in modules]
        try:
            with torch.no_grad():
                model(ctx.x)
        finally:
            for handle in handles:
                handle.remove()
        sign, logabsdet = torch.linalg.slogdet(kernel[0])
        if float(sign) == 0.0:
            raise UndefinedScoreError(
                "nwot: the activation kernel is singular (duplicate samples or identical "
                "activation patterns), log|K| = -inf"
            )
        return float(logabsdet)
