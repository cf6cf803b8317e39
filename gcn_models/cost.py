"""Size and compute of a network: parameters that take part in the forward pass, and FLOPs."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

logger = logging.getLogger(__name__)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalar parameters.

    The search-space builder never constructs modules that the forward pass skips, so for its
    networks this is the count of parameters that take part in the forward pass (and receive a
    gradient). For arbitrary modules, unused parameters are counted too.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Floating-point operations of one forward pass at batch 1.

    Counted with :class:`torch.utils.flop_counter.FlopCounterMode`, which sees functional ops
    (the adjacency ``einsum``, attention products) as well as modules. A multiply-add counts as
    two FLOPs. The model is copied and put in eval mode, so BatchNorm over pooled (1x1) maps does
    not fail at batch 1 and the caller's model is untouched.

    Args:
        model: Network taking a tensor of shape ``(N, *input_shape[1:])``.
        input_shape: Input shape; its first entry is replaced by 1.

    Returns:
        FLOPs per sample.
    """
    clone = copy.deepcopy(model).eval()
    device = next((p.device for p in clone.parameters()), torch.device("cpu"))
    dtype = next((p.dtype for p in clone.parameters()), torch.float32)
    x = torch.zeros((1, *tuple(input_shape)[1:]), device=device, dtype=dtype)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        clone(x)
    return int(counter.get_total_flops())
