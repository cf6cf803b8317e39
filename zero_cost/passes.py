"""Passes several proxies share: computed once per scoring run by :class:`ScoringContext`.

* :func:`compute_train_forward`: one forward of the scoring batch through the ``train`` copy,
  with gradients enabled for the parameters *and* the input, and the recorders proxies asked
  for (layer outputs for fisher, the rectifier-code kernel for nwot). Both backward passes
  below start from it (the first one keeps the graph only when the other is still to come);
  params reads which parameters it reached.
* :func:`compute_loss_gradients`: the backward of the mean cross-entropy from that forward.
  Used by grad_norm, snip, plain, fisher, grasp (its gradient and the graph of its
  Hessian-vector product).
* :func:`compute_input_jacobian`: the backward of the summed logits to the input from the same
  forward. Used by jacob_cov and epe_nas.

The forward values, and so every score, are the same whichever of these passes a run needs.
What a run asks for is declared by the proxies (``BaseProxy.captures``) and collected in
``ScoringContext.captures``: ``layer_outputs``, ``loss_graph``, ``activation_kernel``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from zero_cost.activations import KernelRecorder
from zero_cost.batchnorm import use_fast_double_backward_batch_norm
from zero_cost.layers import SelectedParameter
from zero_cost.model_io import logits_of

if TYPE_CHECKING:
    from zero_cost.context import ScoringContext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainForward:
    """Result of the shared forward pass.

    Attributes:
        model: The ``train`` working copy it ran on.
        x: The scoring inputs as a leaf that requires grad, shape (N, C, T, V).
        logits: The logits (N, classes), attached to the graph.
        layer_outputs: ``(module, output)`` of every layer-set module call, attached, when
            ``layer_outputs`` was captured; else empty.
        activation_kernel: Summed agreement kernel (N, N) of the rectifier input codes when
            ``activation_kernel`` was captured and rectifiers ran; else ``None``.
        rectifier_calls: Rectifier calls seen by the kernel recorder.
    """

    model: nn.Module
    x: torch.Tensor
    logits: torch.Tensor
    layer_outputs: list[tuple[nn.Module, torch.Tensor]]
    activation_kernel: torch.Tensor | None
    rectifier_calls: int


@dataclass(frozen=True)
class ChannelSaliency:
    """Per-sample, per-channel activation-gradient products of one layer call.

    s[n, c] = sum over positions of a[n, c, ...] * dL/da[n, c, ...], with a the output of a
    layer-set module (before normalisation or activation): the first-order Taylor saliency of
    channel c on sample n (Molchanov et al. 2017; Theis et al. 2018), from which fisher is
    built. Channels are dim 1 of a convolution output and the last dim of a linear output.

    Attributes:
        module: The module (of the shared ``train`` working copy).
        per_sample: s, shape (N, C_out), float64; zeros when L does not depend on the output.
    """

    module: nn.Module
    per_sample: torch.Tensor


@dataclass(frozen=True)
class LossGradients:
    """Result of the shared loss backward.

    Attributes:
        model: The ``train`` working copy the pass ran on.
        selected: The layer set's parameters of that copy.
        gradients: dL/dW for each selected tensor (detached; ``None`` if L does not depend on it).
        graph_gradients: The same gradients still attached to their autograd graph (for a
            Hessian-vector product), or ``None`` unless ``loss_graph`` was captured.
        channel_saliency: One entry per recorded layer call, empty unless ``layer_outputs``
            was captured. Reduced while the backward runs, so the gradients of the layer
            outputs are never all held in memory at once.
        loss: The mean cross-entropy L of the batch (nats).
    """

    model: nn.Module
    selected: list[SelectedParameter]
    gradients: list[torch.Tensor | None]
    graph_gradients: list[torch.Tensor | None] | None
    channel_saliency: list[ChannelSaliency]
    loss: float


def _record_output(
    records: list[tuple[nn.Module, torch.Tensor, int]],
    copy_downstream: bool,
    module: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    output: torch.Tensor,
) -> torch.Tensor | None:
    """Forward hook: keep a layer's output (and its version counter).

    With ``copy_downstream`` the hook hands a copy downstream, so in-place operations that
    follow (``ReLU(inplace=True)``) modify the copy and the recorded tensor and its gradient
    stay those of the layer output itself.
    """
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        return None
    records.append((module, output, output._version))
    return output.clone() if copy_downstream else None


def _forward_recording(
    ctx: ScoringContext, model: nn.Module, copy_downstream: bool
) -> tuple[torch.Tensor, torch.Tensor, list, KernelRecorder]:
    records: list[tuple[nn.Module, torch.Tensor, int]] = []
    handles = []
    kernel = KernelRecorder()
    if "layer_outputs" in ctx.captures:
        hook = partial(_record_output, records, copy_downstream)
        handles = [m.register_forward_hook(hook) for m in ctx.layers.layer_modules(model)]
    if "activation_kernel" in ctx.captures:
        kernel.attach(model)
    x = ctx.x.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            logits = logits_of(model(x))
    finally:
        for handle in handles:
            handle.remove()
        kernel.detach()
    return x, logits, records, kernel


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


def compute_train_forward(ctx: ScoringContext) -> TrainForward:
    """Forward the scoring batch through the ``train`` copy, recording what was asked for.

    Layer outputs are recorded without copying them; if an in-place operation changed one
    later in the forward (its version counter moved), the forward is run again with copies
    handed downstream, so the recorded outputs are always the layers' own. When grasp runs, the
    copy's BatchNorm layers get the cheaper double backward of :mod:`zero_cost.batchnorm`.
    """
    model = ctx.working_copy("train")
    if "loss_graph" in ctx.captures:  # grasp differentiates this forward twice
        use_fast_double_backward_batch_norm(model)
    x, logits, records, kernel = _forward_recording(ctx, model, copy_downstream=False)
    if any(output._version != version for _, output, version in records):
        logger.debug("a layer output is modified in place downstream; recording copies")
        x, logits, records, kernel = _forward_recording(ctx, model, copy_downstream=True)
    layer_outputs = [(module, output) for module, output, _ in records]
    return TrainForward(model, x, logits, layer_outputs, kernel.kernel, kernel.calls)


def _channel_products(
    activation: torch.Tensor, module: nn.Module, grad: torch.Tensor
) -> torch.Tensor:
    """s[n, c] = sum over positions of activation * grad, float64, shape (N, C)."""
    product = activation.detach() * grad.detach()
    if isinstance(module, nn.Linear):
        product = product.movedim(-1, 1)  # channels of a linear output are its last dim
    # Sum over positions in the activations' precision, then continue in float64.
    return product.reshape(product.shape[0], product.shape[1], -1).sum(dim=2).to(torch.float64)


def compute_loss_gradients(ctx: ScoringContext) -> LossGradients:
    """Backpropagate the mean cross-entropy of the shared forward once.

    Gradients are taken with :func:`torch.autograd.grad`, so no ``.grad`` attribute is set.
    Recorded layer outputs get tensor hooks that reduce their gradient to per-channel
    saliencies as soon as the backward reaches them.

    When ``loss_graph`` is captured (grasp runs), the backward builds its own graph
    (``create_graph=True``), so grasp's Hessian-vector product reuses this forward and backward
    instead of repeating them. Such a backward rounds some float32 operations differently:
    gradients then agree with a plain backward to about 1e-6 relative, not bit for bit. It is
    not the default because it costs up to twice a plain backward (grouped convolutions).
    """
    forward = ctx.train_forward()
    keep_graph = "loss_graph" in ctx.captures
    selected = ctx.layers.select(forward.model)
    with torch.enable_grad():
        loss = F.cross_entropy(forward.logits, ctx.y)
    if not loss.requires_grad:
        raise RuntimeError("the loss does not depend on any trainable parameter")
    saliency: list[torch.Tensor | None] = [None] * len(forward.layer_outputs)

    def reduce_into(
        index: int, module: nn.Module, output: torch.Tensor, grad: torch.Tensor
    ) -> None:
        saliency[index] = _channel_products(output, module, grad)

    handles = [
        output.register_hook(partial(reduce_into, index, module, output))
        for index, (module, output) in enumerate(forward.layer_outputs)
    ]
    try:
        grads = torch.autograd.grad(
            loss,
            [p.tensor for p in selected],
            allow_unused=True,
            retain_graph=keep_graph or ctx.will_need("input_jacobian"),
            create_graph=keep_graph,
        )
    finally:
        for handle in handles:
            handle.remove()
    channel_saliency = []
    for (module, output), values in zip(forward.layer_outputs, saliency, strict=True):
        if values is None:
            channels = output.shape[-1] if isinstance(module, nn.Linear) else output.shape[1]
            values = torch.zeros(
                (output.shape[0], channels), dtype=torch.float64, device=output.device
            )
        channel_saliency.append(ChannelSaliency(module, values))
    return LossGradients(
        model=forward.model,
        selected=selected,
        gradients=[_detached(g) for g in grads],
        graph_gradients=list(grads) if keep_graph else None,
        channel_saliency=channel_saliency,
        loss=float(loss.detach()),
    )


def compute_input_jacobian(ctx: ScoringContext) -> torch.Tensor:
    """Input gradient of the summed logits of the shared forward, one row per sample.

    J[n] = d(sum_{m,k} logits[m, k]) / d x[n], flattened (Mellor et al. 2020, v1 "Jacobian
    covariance"). With BatchNorm in train mode a row also carries cross-sample terms, as in the
    reference code. A model whose logits do not depend on the input gives zero rows.

    Returns:
        J, shape (N, D) with D = C*T*V, float64, on the batch's device.
    """
    forward = ctx.train_forward()
    x = forward.x
    jacobian = None
    if forward.logits.requires_grad:
        (jacobian,) = torch.autograd.grad(
            forward.logits.sum(),
            x,
            allow_unused=True,
            # keep the forward graph while the loss backward, or grasp's double backward
            # through it, is still to come
            retain_graph=ctx.will_need("loss_gradients")
            or ("loss_graph" in ctx.captures and ctx.pending("loss_gradients") > 0),
        )
    if jacobian is None:
        jacobian = torch.zeros_like(x)
    return jacobian.reshape(x.shape[0], -1).to(torch.float64)
