"""How proxies call a model: output unpacking, working copies and their mode policies.

Proxies never touch the caller's model. They work on deep copies moved to the batch's device and
put into one of the mode policies below (zero_cost_proxies.md §1.3):

=========  ==================================================================================
policy     meaning
=========  ==================================================================================
``train``  ``model.train()`` (BatchNorm uses batch statistics) with every Dropout in eval mode,
           so a score does not depend on a dropout draw. The reference code keeps the caller's
           mode, which is train mode for a freshly built network.
``eval``   ``model.eval()``: BatchNorm uses its running statistics (the identity map on a fresh
           network) and works at batch 1, e.g. on pooled 1x1 maps.
=========  ==================================================================================

Synflow's "BatchNorm bypassed" (BN replaced by the identity, as in the reference) is built on
top of ``eval`` in :mod:`zero_cost.proxies.synflow`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

import torch
from torch import nn

logger = logging.getLogger(__name__)


def _train_without_dropout(model: nn.Module) -> None:
    model.train()
    for module in model.modules():
        if isinstance(module, (nn.modules.dropout._DropoutNd, nn.AlphaDropout)):
            module.eval()


def _eval(model: nn.Module) -> None:
    model.eval()


MODE_POLICIES: dict[str, Callable[[nn.Module], None]] = {
    "train": _train_without_dropout,
    "eval": _eval,
}


def working_copy(model: nn.Module, device: torch.device, policy: str) -> nn.Module:
    """Deep-copy ``model`` onto ``device`` under a mode policy, every parameter trainable.

    Gradients are enabled on every floating-point parameter of the copy, so a layer frozen by
    the caller still takes part in the gradient proxies.

    Raises:
        ValueError: For an unknown policy.
    """
    try:
        apply_policy = MODE_POLICIES[policy]
    except KeyError:
        raise ValueError(
            f"unknown mode policy `{policy}`; valid: {', '.join(MODE_POLICIES)}"
        ) from None
    clone = copy.deepcopy(model).to(device)
    for param in clone.parameters():
        if param.is_floating_point():
            param.requires_grad_(True)
    apply_policy(clone)
    return clone


def logits_of(output: object) -> torch.Tensor:
    """The logits of a model output: the tensor itself, or the first entry of a tuple or list.

    Networks of the search space return ``(logits, features)``; proxies use the logits.

    Raises:
        TypeError: If the output holds no tensor where the logits should be.
    """
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TypeError(
        "the model must return a logits tensor (N, classes) or a tuple whose first entry is "
        f"one, got {type(output).__name__}"
    )


def features_of(output: object) -> torch.Tensor:
    """The pre-pooling feature map of a model output.

    This is the second entry of a ``(logits, features)`` tuple; a model that returns a single
    tensor has no separate features, and its output is used instead.
    """
    if (
        isinstance(output, (tuple, list))
        and len(output) > 1
        and isinstance(output[1], torch.Tensor)
    ):
        return output[1]
    return logits_of(output)


def first_tensor(output: object) -> torch.Tensor | None:
    """The first tensor in a module output (a tensor, or nested tuples/lists), else ``None``."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def count_used_parameters(output: torch.Tensor, model: nn.Module) -> int:
    """Number of scalar parameters of ``model`` that ``output`` depends on through autograd.

    Walks the autograd graph from ``output`` to its leaves, so parameters of modules that are
    built but skipped by the forward pass are not counted. ``output`` must have been computed
    with gradients enabled on the parameters.
    """
    reached: set[int] = set()
    seen: dict[int, object] = {}  # holds the nodes too, so their ids stay unique
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        variable = getattr(node, "variable", None)
        if variable is not None:
            reached.add(id(variable))
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return sum(p.numel() for p in model.parameters() if id(p) in reached)
