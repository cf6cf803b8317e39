"""Multi-scale dilated temporal blocks, with branch types from a registry.

Branch types are ``basic``, ``bottleneck`` and ``mbconv`` (the ``block_type`` values).
A temporal block with s scales runs s parallel branches on (N, C, T, V); branch j (1-based)
uses a k x 1 convolution with dilation j and the block's stride, so every branch outputs
(N, C, ceil(T / stride), V). With s > 1 the branches are concatenated and fused by a 1x1
convolution + BN (+ an optional "outer" squeeze-excitation). The block output is
``act(fused + block shortcut + module shortcut)``.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import torch
from torch import nn

from gcn_models.layers import (
    Registry,
    conv_bn,
    make_nonlinearity,
    make_shortcut,
    maybe_se,
    reduced_width,
)

logger = logging.getLogger(__name__)


class TemporalBranch(nn.Module):
    """Base of one temporal branch: (N, C, T, V) -> (N, C, ceil(T / stride), V).

    Args:
        channels: C (input and output width).
        kernel_size: Temporal kernel k (odd).
        stride: Temporal stride.
        dilation: Temporal dilation (the branch's scale index j).
        expansion: ``bottleneck_factor``: reduction for bottleneck, expansion for mbconv.
        se_ratio: Ratio of the inner squeeze-excitation, or ``None`` for none.
        nonlinearity: ``nonlinearity`` value.
    """

    def __init__(
        self,
        channels: int,
        *,
        kernel_size: int,
        stride: int,
        dilation: int,
        expansion: int,
        se_ratio: int | None,
        nonlinearity: str,
    ) -> None:
        super().__init__()

    @classmethod
    def outer_se_ratio(
        cls, requested: int | None, expansion: int, *, mbconv_quirk: bool
    ) -> int | None:
        """Ratio of the SE after the fusion of several branches of this type, or ``None``.

        Args:
            requested: The outer SE ratio of the module, ``None`` when outer SE is off.
            expansion: ``bottleneck_factor``.
            mbconv_quirk: Reproduce the original's forced outer SE of mbconv blocks.
        """
        return requested


#: ``block_type`` value -> temporal branch class.
TEMPORAL_BRANCHES: Registry[type[TemporalBranch]] = Registry("temporal block type")


@TEMPORAL_BRANCHES.register("basic")
class BasicTemporalBranch(TemporalBranch):
    """k x 1 dilated convolution (with bias) -> BN -> [SE]; no activation inside."""

    def __init__(
        self,
        channels: int,
        *,
        kernel_size: int,
        stride: int,
        dilation: int,
        expansion: int,
        se_ratio: int | None,
        nonlinearity: str,
    ) -> None:
        super().__init__(
            channels,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            expansion=expansion,
            se_ratio=se_ratio,
            nonlinearity=nonlinearity,
        )
        self.conv = conv_bn(
            channels, channels, kernel_size=kernel_size, stride=stride, dilation=dilation
        )
        self.se = maybe_se(channels, se_ratio, nonlinearity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C, ceil(T / stride), V)."""
        y = self.conv(x)
        return y if self.se is None else self.se(y)


@TEMPORAL_BRANCHES.register("bottleneck")
class BottleneckTemporalBranch(TemporalBranch):
    """1x1 reduce to C // bf -> act -> k x 1 dilated conv -> BN -> act -> 1x1 expand -> [SE].

    The original's dropout (p = 0) is the identity and is left out.
    """

    def __init__(
        self,
        channels: int,
        *,
        kernel_size: int,
        stride: int,
        dilation: int,
        expansion: int,
        se_ratio: int | None,
        nonlinearity: str,
    ) -> None:
        super().__init__(
            channels,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            expansion=expansion,
            se_ratio=se_ratio,
            nonlinearity=nonlinearity,
        )
        inner = reduced_width(channels, expansion, "bottleneck temporal branch")
        self.reduce = conv_bn(channels, inner)
        self.reduce_act = make_nonlinearity(nonlinearity)
        self.conv = conv_bn(
            inner, inner, kernel_size=kernel_size, stride=stride, dilation=dilation
        )
        self.conv_act = make_nonlinearity(nonlinearity)
        self.expand = conv_bn(inner, channels)
        self.se = maybe_se(channels, se_ratio, nonlinearity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C, ceil(T / stride), V)."""
        y = self.reduce_act(self.reduce(x))
        y = self.expand(self.conv_act(self.conv(y)))
        return y if self.se is None else self.se(y)


@TEMPORAL_BRANCHES.register("mbconv")
class MBConvTemporalBranch(TemporalBranch):
    """Inverted-residual temporal branch.

    1x1 expand to C * bf -> act -> depthwise k x 1 dilated conv -> BN -> act -> [SE on the
    expanded width] -> 1x1 project to C. No biases; no minimum expanded width.
    """

    def __init__(
        self,
        channels: int,
        *,
        kernel_size: int,
        stride: int,
        dilation: int,
        expansion: int,
        se_ratio: int | None,
        nonlinearity: str,
    ) -> None:
        super().__init__(
            channels,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            expansion=expansion,
            se_ratio=se_ratio,
            nonlinearity=nonlinearity,
        )
        expanded = channels * expansion
        self.expand = conv_bn(channels, expanded, bias=False)
        self.expand_act = make_nonlinearity(nonlinearity)
        self.conv = conv_bn(
            expanded,
            expanded,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            groups=expanded,
            bias=False,
        )
        self.conv_act = make_nonlinearity(nonlinearity)
        self.se = maybe_se(expanded, se_ratio, nonlinearity)
        self.project = conv_bn(expanded, channels, bias=False)

    #: Outer-SE ratio the original forces when outer SE is off (see ``outer_se_ratio``).
    quirk_ratio: ClassVar[int] = 1

    @classmethod
    def outer_se_ratio(
        cls, requested: int | None, expansion: int, *, mbconv_quirk: bool
    ) -> int | None:
        """``max(1, r // bf)`` when outer SE is on, as in the original.

        When outer SE is off the original still applies an outer SE of ratio 1 after the
        fusion of an mbconv temporal block (``mbconv_quirk=True``, the faithful default);
        ``mbconv_quirk=False`` builds none.
        """
        if requested is not None:
            return max(1, requested // expansion)
        return cls.quirk_ratio if mbconv_quirk else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C, ceil(T / stride), V)."""
        y = self.expand_act(self.expand(x))
        y = self.conv_act(self.conv(y))
        if self.se is not None:
            y = self.se(y)
        return self.project(y)


class MultiScaleTemporalBlock(nn.Module):
    """s dilated temporal branches, fused, plus shortcuts and the final activation.

    The fusion layers (1x1 convolution with bias + BN, outer SE) exist only when s > 1; the
    original builds them for s = 1 too and never uses them.

    Args:
        channels: C.
        num_scales: s (>= 1); branch j = 1..s has dilation j.
        branch_type: A key of :data:`TEMPORAL_BRANCHES`.
        kernel_size: Temporal kernel k (odd).
        stride: Temporal stride of every branch and of the block shortcut.
        expansion: ``bottleneck_factor``.
        inner_se_ratio: Ratio of the SE inside each branch, ``None`` for none.
        outer_se_ratio: Ratio of the SE after the fusion, ``None`` for none (before the
            branch type's adjustment, see :meth:`TemporalBranch.outer_se_ratio`).
        block_residual: Add a shortcut around the block (identity or strided 1x1 conv + BN).
        nonlinearity: ``nonlinearity`` value.
        mbconv_quirk: Reproduce the original's forced outer SE of mbconv blocks.
    """

    def __init__(
        self,
        channels: int,
        *,
        num_scales: int,
        branch_type: str,
        kernel_size: int,
        stride: int,
        expansion: int,
        inner_se_ratio: int | None,
        outer_se_ratio: int | None,
        block_residual: bool,
        nonlinearity: str,
        mbconv_quirk: bool,
    ) -> None:
        super().__init__()
        if num_scales < 1:
            raise ValueError(f"temporal scales must be >= 1, got {num_scales}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"`temporal_kernel_size` must be a positive odd int, got {kernel_size}"
            )
        branch_cls = TEMPORAL_BRANCHES.get(branch_type)
        self.branches = nn.ModuleList(
            branch_cls(
                channels,
                kernel_size=kernel_size,
                stride=stride,
                dilation=scale,
                expansion=expansion,
                se_ratio=inner_se_ratio,
                nonlinearity=nonlinearity,
            )
            for scale in range(1, num_scales + 1)
        )
        self.fusion: nn.Module | None = None
        self.outer_se: nn.Module | None = None
        if num_scales > 1:
            self.fusion = conv_bn(channels * num_scales, channels)
            ratio = branch_cls.outer_se_ratio(outer_se_ratio, expansion, mbconv_quirk=mbconv_quirk)
            self.outer_se = maybe_se(channels, ratio, nonlinearity)
        self.shortcut = make_shortcut(channels, channels, stride) if block_residual else None
        self.act = make_nonlinearity(nonlinearity)

    def forward(
        self, x: torch.Tensor, module_residual: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Temporal convolution of (N, C, T, V) -> (N, C, ceil(T / stride), V).

        Args:
            x: Input map (N, C, T, V).
            module_residual: The module shortcut (N, C, ceil(T / stride), V), added before the
                final activation, or ``None``.
        """
        if self.fusion is None:
            y = self.branches[0](x)
        else:
            y = self.fusion(torch.cat([branch(x) for branch in self.branches], dim=1))
            if self.outer_se is not None:
                y = self.outer_se(y)
        if self.shortcut is not None:
            y = y + self.shortcut(x)
        if module_residual is not None:
            y = y + module_residual
        return self.act(y)
