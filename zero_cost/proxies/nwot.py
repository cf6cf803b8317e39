"""nwot: log-determinant of the binary activation-agreement kernel (NASWOT).

Mellor, Turner, Storkey & Crowley, "Neural Architecture Search without Training", ICML 2021,
eq. 2 (K_H[i, j] = N_A - d_H(c_i, c_j)) and the score log|K_H|, as in the v2 code and NASLib's
``nwot`` (zero_cost_proxies.md §2.7):

1. the shared forward of the scoring batch (``train`` policy; the v2 code also runs a
   Jacobian forward+backward first, and this forward is the one jacob_cov's backward uses);
2. at every rectifier-like activation module, its *input* (the pre-activation) is flattened
   per sample and binarised as c = 1[x > 0] (see :mod:`zero_cost.activations`);
3. K = sum over activation calls of c c^T + (1 - c)(1 - c)^T, i.e. units minus Hamming
   distance, accumulated exactly in float64;
4. nwot = log|det K| (``slogdet``).

The reference hooks only modules named "ReLU", so Swish/SiLU networks get K = 0 and -inf; here
Swish pre-activations are binarised at 0 as well (a forward *pre*-hook, so ``inplace=True``
does not hide the input). A singular K (duplicate samples) or a network without rectifier
modules (for instance one with functional activations only) is undefined: NaN, status ``nan``.
"""

from __future__ import annotations

import torch

from zero_cost.base import BaseProxy
from zero_cost.context import ScoringContext
from zero_cost.exceptions import UndefinedScoreError
from zero_cost.registry import register_proxy


@register_proxy
class Nwot(BaseProxy):
    """NASWOT kernel log-determinant; ``train`` policy, shared forward."""

    name = "nwot"
    mode = "train"
    passes = ("train_forward",)
    captures = frozenset({"activation_kernel"})

    def score(self, ctx: ScoringContext) -> float:
        """log|det K| of the activation-agreement kernel."""
        kernel = ctx.train_forward().activation_kernel
        if kernel is None:
            raise UndefinedScoreError(
                "nwot: the network has no rectifier-like activation module to binarise"
            )
        sign, logabsdet = torch.linalg.slogdet(kernel)
        if float(sign) == 0.0:
            raise UndefinedScoreError(
                "nwot: the activation kernel is singular (duplicate samples or identical "
                "activation patterns), log|K| = -inf"
            )
        return float(logabsdet)
