"""Binary activation codes: which modules are rectifiers, and the agreement kernel of their codes.

Used by nwot (NASWOT, Mellor et al. ICML 2021, eq. 2). A rectifier-like activation module's
*input* (the pre-activation) is binarised as c = 1[x > 0]; for ReLU this is the reference's
pattern, and it extends the definition to Swish/SiLU, GELU, Mish and the like, which the
reference (hooks on modules named "ReLU") misses. Gates such as Sigmoid and Softmax are not
rectifiers.
"""

from __future__ import annotations

import torch
from torch import nn

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

# Sums of 0/1 or +-1 products are exact integers in float32 up to 2**24.
_EXACT_FLOAT32 = 2**24


def is_rectifier(module: nn.Module) -> bool:
    """Whether a module is a rectifier-like activation whose input nwot binarises.

    True for the types in ``RECTIFIER_TYPES`` and for any module whose class name contains
    "relu", "swish", "silu", "gelu" or "mish" (custom Swish modules).
    """
    if isinstance(module, RECTIFIER_TYPES):
        return True
    class_name = type(module).__name__.lower()
    return any(part in class_name for part in RECTIFIER_NAME_PARTS)


def agreement_kernel(codes: torch.Tensor) -> torch.Tensor:
    """Units on which each pair of samples agrees: c c^T + (1 - c)(1 - c)^T.

    Computed with one product of +-1 codes: with s = 2c - 1, s s^T = agreements minus
    disagreements, so K = (U + s s^T) / 2 = U - Hamming distance.

    Args:
        codes: Binary codes, shape (N, U), values 0/1 (bool or numbers).

    Returns:
        K, shape (N, N), float64, exact integers.
    """
    units = codes.shape[1]
    dtype = torch.float32 if units < _EXACT_FLOAT32 else torch.float64
    signs = codes.to(dtype) * 2 - 1
    return ((signs @ signs.T).to(torch.float64) + units) / 2


class KernelRecorder:
    """Forward pre-hooks that add each rectifier input's agreement kernel to a running sum.

    A pre-hook sees the input before an ``inplace=True`` activation overwrites it.

    Attributes:
        kernel: The summed kernel (N, N), float64, or ``None`` before any rectifier ran.
        calls: Rectifier calls seen.
    """

    def __init__(self) -> None:
        self.kernel: torch.Tensor | None = None
        self.calls = 0
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def attach(self, model: nn.Module) -> None:
        """Hook every rectifier module of ``model``."""
        for module in model.modules():
            if is_rectifier(module):
                self._handles.append(module.register_forward_pre_hook(self._record))

    def detach(self) -> None:
        """Remove the hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _record(self, module: nn.Module, inputs: tuple) -> None:
        x = inputs[0].detach()
        kernel = agreement_kernel((x > 0).reshape(x.shape[0], -1))
        self.kernel = kernel if self.kernel is None else self.kernel + kernel
        self.calls += 1
