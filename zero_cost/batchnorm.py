"""Training-mode BatchNorm with a cheaper double backward, for grasp's working copy.

grasp differentiates the loss backward once more (a Hessian-gradient product). Through a
training-mode BatchNorm, PyTorch's native double backward (``NativeBatchNormBackwardBackward0``)
evaluates its closed form with some twenty unfused full-size operations; on the search space's
networks at 150 frames that was 40-45 % of grasp's time on the CPU.

Here the forward and the first backward are PyTorch's own fused kernels
(``native_batch_norm`` and ``native_batch_norm_backward``, so values and running-statistic
updates are the native ones), and the second backward is written out for the three incoming
gradients ``ggI``, ``ggG``, ``ggB`` (of the first backward's input, weight and bias gradients),
reusing the fused backward kernel for the part that has its form. Per channel, with
``M`` values, ``x_hat = (x - mean) * r``, ``r = 1 / sqrt(var + eps)``, weight ``g``, and the
first backward's ``a = mean(dy)`` and ``b = mean(dy * x_hat)``:

* ``dL/d dy = g r (ggI - mean(ggI) - x_hat mean(ggI x_hat)) + ggG x_hat + ggB``
* ``dL/dx = -g r^2 (x_hat (e - a c - 3 b d) + d (dy - a) + b (ggI - c))``
  ``+ ggG r (dy - a - x_hat b)``
* ``dL/dg = r M (e - a c - b d)``

where ``c = mean(ggI)``, ``d = mean(ggI x_hat)`` and ``e = mean(ggI dy)``. Tests check all
three against the native double backward in float64.

Only working copies are converted (:func:`use_fast_double_backward_batch_norm` changes the class
of their BatchNorm modules in place), never the caller's model. Outside training mode (running
statistics), the native forward runs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable

_SUBCLASSES: dict[type, type] = {}


def _channel_view(values: torch.Tensor, dims: int) -> torch.Tensor:
    """Per-channel values (C,) as (1, C, 1, ...) for inputs with ``dims`` dimensions."""
    return values.view(1, -1, *([1] * (dims - 2)))


def _reduce_dims(x: torch.Tensor) -> list[int]:
    return [0, *range(2, x.dim())]


class _BatchNormSecondBackward(torch.autograd.Function):
    """The first backward of a training BatchNorm, with a hand-written backward of its own."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        grad_out: torch.Tensor,
        x: torch.Tensor,
        weight: torch.Tensor | None,
        mean: torch.Tensor,
        invstd: torch.Tensor,
        eps: float,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        grad_x, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
            grad_out, x, weight, None, None, mean, invstd, True, eps, [True, True, True]
        )
        ctx.save_for_backward(grad_out, x, weight, mean, invstd, grad_weight, grad_bias)
        ctx.eps = eps
        ctx.affine = weight is not None
        if weight is None:
            return grad_x, None, None
        return grad_x, grad_weight, grad_bias

    @staticmethod
    @once_differentiable
    def backward(  # type: ignore[override]
        ctx: Any,
        gg_x: torch.Tensor | None,
        gg_weight: torch.Tensor | None,
        gg_bias: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, ...]:
        grad_out, x, weight, mean, invstd, sum_dy_xhat, sum_dy = ctx.saved_tensors
        dims = x.dim()
        count = x.numel() // x.shape[1]
        gamma = weight if weight is not None else torch.ones_like(invstd)
        r = invstd
        a = sum_dy / count
        b = sum_dy_xhat / count
        xhat = (x - _channel_view(mean, dims)) * _channel_view(r, dims)

        grad_dy = torch.zeros_like(grad_out)
        coef_xhat = torch.zeros_like(r)
        coef_dy = torch.zeros_like(r)
        coef_gg = torch.zeros_like(r)
        offset = torch.zeros_like(r)
        grad_weight = None
        if gg_x is not None:
            # The first backward is symmetric in (dy, ggI): its fused kernel gives d(loss)/d(dy)
            # and the sums of ggI * x_hat and ggI.
            grad_dy, sum_gg_xhat, sum_gg = torch.ops.aten.native_batch_norm_backward(
                gg_x, x, weight, None, None, mean, invstd, True, ctx.eps, [True, True, True]
            )
            c = sum_gg / count
            d = sum_gg_xhat / count
            e = (gg_x * grad_out).sum(dim=_reduce_dims(x)) / count
            s = -gamma * r * r
            coef_xhat = s * (e - a * c - 3 * b * d)
            coef_dy = s * d
            coef_gg = s * b
            offset = -s * (d * a + b * c)
            if ctx.affine and ctx.needs_input_grad[2]:
                grad_weight = r * count * (e - a * c - b * d)
        if gg_weight is not None and ctx.affine:
            grad_dy = grad_dy + xhat * _channel_view(gg_weight, dims)
            coef_xhat = coef_xhat - gg_weight * r * b
            coef_dy = coef_dy + gg_weight * r
            offset = offset - gg_weight * r * a
        if gg_bias is not None and ctx.affine:
            grad_dy = grad_dy + _channel_view(gg_bias, dims)
        grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = (
                xhat * _channel_view(coef_xhat, dims)
                + grad_out * _channel_view(coef_dy, dims)
                + _channel_view(offset, dims)
            )
            if gg_x is not None:
                grad_x = grad_x + gg_x * _channel_view(coef_gg, dims)
        grad_dy = grad_dy if ctx.needs_input_grad[0] else None
        return grad_dy, grad_x, grad_weight, None, None, None


class _TrainingBatchNorm(torch.autograd.Function):
    """Native training-mode BatchNorm whose backward is :class:`_BatchNormSecondBackward`."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        running_mean: torch.Tensor | None,
        running_var: torch.Tensor | None,
        momentum: float,
        eps: float,
    ) -> torch.Tensor:
        out, mean, invstd = torch.native_batch_norm(
            x, weight, bias, running_mean, running_var, True, momentum, eps
        )
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, weight, mean, invstd = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = _BatchNormSecondBackward.apply(
            grad_out, x, weight, mean, invstd, ctx.eps
        )
        return grad_x, grad_weight, grad_bias, None, None, None, None


class _FastDoubleBackward:
    """Mixin for BatchNorm modules: training-mode forward through :class:`_TrainingBatchNorm`."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - nn.Module's name
        """Normalise ``input`` (N, C, ...) per channel C, as the native module does.

        Args:
            input: Activations of shape (N, C) or (N, C, *spatial).

        Returns:
            The normalised activations, same shape.
        """
        module: nn.modules.batchnorm._BatchNorm = self  # type: ignore[assignment]
        uses_batch_stats = module.training or (
            module.running_mean is None and module.running_var is None
        )
        if not uses_batch_stats:
            return super().forward(input)  # type: ignore[misc]
        module._check_input_dim(input)
        factor = 0.0 if module.momentum is None else module.momentum
        if module.training and module.track_running_stats:
            if module.num_batches_tracked is not None:
                module.num_batches_tracked.add_(1)
                if module.momentum is None:  # cumulative moving average
                    factor = 1.0 / float(module.num_batches_tracked)
        keep_stats = not module.training or module.track_running_stats
        return _TrainingBatchNorm.apply(
            input,
            module.weight,
            module.bias,
            module.running_mean if keep_stats else None,
            module.running_var if keep_stats else None,
            factor,
            module.eps,
        )


def _converted_class(cls: type) -> type:
    if cls not in _SUBCLASSES:
        name = f"FastDoubleBackward{cls.__name__}"
        _SUBCLASSES[cls] = type(name, (_FastDoubleBackward, cls), {})
    return _SUBCLASSES[cls]


def use_fast_double_backward_batch_norm(model: nn.Module) -> int:
    """Switch every BatchNorm1d/2d/3d of a working copy to :class:`_TrainingBatchNorm`, in place.

    Subclasses of the BatchNorm classes (a user's own normalisation) are left as they are.

    Args:
        model: A working copy (never the caller's model).

    Returns:
        How many modules were switched.
    """
    switched = 0
    for module in model.modules():
        if type(module) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
            module.__class__ = _converted_class(type(module))
            switched += 1
    return switched
