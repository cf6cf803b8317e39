"""Passes several proxies share: computed once per scoring run by :class:`ScoringContext`.

* :func:`compute_loss_gradients`: one forward + one backward of the mean cross-entropy on the
  scoring batch (``train`` policy). Used by grad_norm, snip, plain, fisher (which also needs the
  recorded layer outputs), grasp (its gradient and the graph of its Hessian-vector product)
  and params.
* :func:`compute_input_jacobian`: one forward + one backward of the summed logits with respect
  to the input (``train`` policy). Used by jacob_cov and epe_nas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from zero_cost.layers import SelectedParameter
from zero_cost.model_io import count_used_parameters, logits_of

if TYPE_CHECKING:
    from zero_cost.context import ScoringContext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerOutput:
    """One call of a layer-set module recorded during the shared loss pass.

    Attributes:
        module: The module (of the shared ``train`` working copy).
        activation: Its output, detached: (N, C_out, *spatial) for convolutions,
            (N, ..., C_out) for linear layers; before any normalisation or activation.
        gradient: dL/d(activation), same shape, or ``None`` when the loss does not depend on it.
    """

    module: nn.Module
    activation: torch.Tensor
    gradient: torch.Tensor | None


@dataclass(frozen=True)
class LossGradients:
    """Result of the shared loss pass.

    Attributes:
        model: The ``train`` working copy the pass ran on.
        selected: The layer set's parameters of that copy.
        gradients: dL/dW for each selected tensor (detached; ``None`` if L does not depend on it).
        graph_gradients: The same gradients still attached to their autograd graph (for a
            Hessian-vector product), or ``None`` unless a proxy asked for them.
        layer_outputs: Recorded layer outputs, empty unless a proxy asked for them.
        used_parameters: Scalar parameters the logits depend on (see ``count_used_parameters``).
        loss: The mean cross-entropy L of the batch (nats).
    """

    model: nn.Module
    selected: list[SelectedParameter]
    gradients: list[torch.Tensor | None]
    graph_gradients: list[torch.Tensor | None] | None
    layer_outputs: list[LayerOutput]
    used_parameters: int
    loss: float


def _record_output(
    records: list[tuple[nn.Module, torch.Tensor]],
    module: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    output: torch.Tensor,
) -> torch.Tensor | None:
    """Forward hook: keep the output and hand a copy downstream.

    Downstream in-place operations (``ReLU(inplace=True)``) then modify the copy, so the
    recorded tensor and its gradient stay those of the layer output itself.
    """
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        return None
    records.append((module, output))
    return output.clone()


def _detached(tensor: torch.Tensor | None) -> torch.Tensor | None:
    return None if tensor is None else tensor.detach()


def cross_entropy_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of a model's logits on (x, y), with gradients enabled.

    Raises:
        RuntimeError: If the loss does not depend on any parameter.
    """
    with torch.enable_grad():
        loss = F.cross_entropy(logits_of(model(x)), y)
    if not loss.requires_grad:
        raise RuntimeError("the loss does not depend on any trainable parameter")
    return loss


def compute_loss_gradients(ctx: ScoringContext) -> LossGradients:
    """Forward the scoring batch, backpropagate the mean cross-entropy once.

    Gradients are taken with :func:`torch.autograd.grad`, so no ``.grad`` attribute is set.
    The backward always builds its own graph (``create_graph=True``): then grasp can reuse it
    for its Hessian-vector product instead of repeating the forward and backward, and the
    gradients every other proxy sees are the same float values whether grasp runs or not.
    The graph is kept only when ``ctx.keep_loss_graph`` is set.
    """
    model = ctx.working_copy("train")
    selected = ctx.layers.select(model)
    records: list[tuple[nn.Module, torch.Tensor]] = []
    handles = []
    if ctx.capture_layer_outputs:
        for module in ctx.layers.layer_modules(model):
            handles.append(module.register_forward_hook(partial(_record_output, records)))
    try:
        with torch.enable_grad():
            logits = logits_of(model(ctx.x))
            loss = F.cross_entropy(logits, ctx.y)
    finally:
        for handle in handles:
            handle.remove()
    if not loss.requires_grad:
        raise RuntimeError("the loss does not depend on any trainable parameter")
    used = count_used_parameters(logits, model)
    targets = [p.tensor for p in selected] + [activation for _, activation in records]
    grads = torch.autograd.grad(loss, targets, allow_unused=True, create_graph=True)
    n_params = len(selected)
    layer_outputs = [
        LayerOutput(module, activation.detach(), _detached(grad))
        for (module, activation), grad in zip(records, grads[n_params:], strict=True)
    ]
    return LossGradients(
        model=model,
        selected=selected,
        gradients=[_detached(g) for g in grads[:n_params]],
        graph_gradients=list(grads[:n_params]) if ctx.keep_loss_graph else None,
        layer_outputs=layer_outputs,
        used_parameters=used,
        loss=float(loss.detach()),
    )


def compute_input_jacobian(ctx: ScoringContext) -> torch.Tensor:
    """Input gradient of the summed logits, one row per sample.

    J[n] = d(sum_{m,k} logits[m, k]) / d x[n], flattened (Mellor et al. 2020, v1 "Jacobian
    covariance"). With BatchNorm in train mode a row also carries cross-sample terms, as in the
    reference code. A model whose logits do not depend on the input gives zero rows.

    Returns:
        J, shape (N, D) with D = C*T*V, float64, on the batch's device.
    """
    model = ctx.working_copy("train")
    x = ctx.x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = logits_of(model(x))
    jacobian = None
    if logits.requires_grad:
        (jacobian,) = torch.autograd.grad(logits.sum(), x, allow_unused=True)
    if jacobian is None:
        jacobian = torch.zeros_like(x)
    return jacobian.reshape(x.shape[0], -1).to(torch.float64)
