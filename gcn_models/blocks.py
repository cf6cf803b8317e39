"""Spatial graph-convolution blocks (``basic``, ``bottleneck``, ``mbconv``), by registry.

Every block maps (N, C_in, T, V) -> (N, C_out, T, V) given an adjacency tensor (K, V, V) at
call time, and owns the learnable edge-importance mask (K, V, V) of its module, initialised to
ones and multiplied into the adjacency before aggregation.

Widths follow the original framework: a module of base width w outputs ``w * bf`` channels for
``basic`` and ``bottleneck`` (``bf`` = ``bottleneck_factor``) and ``w`` channels for ``mbconv``;
see :attr:`SpatialBlock.widens`.
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


class GraphConv(nn.Module):
    """Graph convolution over K adjacency subsets with a learnable edge-importance mask.

    A 1x1 convolution maps C_in to C_out * K channels, read as (N, K, C_out, T, V), and each
    subset is aggregated over joints: ``out[n, c, t, w] = sum_k sum_v y[n, k, c, t, v] *
    (A * M)[k, v, w]`` (row v of A is the source joint, column w the target).

    In ``depthwise`` mode (mbconv) the convolution has ``groups = C_in`` and no bias, and
    C_out must equal C_in. The original reads its output as (N, K, C, T, V) like the dense
    case, although PyTorch orders grouped outputs group-major; so subset k of channel c comes
    from input channel ``(k * C + c) // K``, not c. This default reproduces that.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        num_subsets: K.
        num_joints: V.
        depthwise: Grouped convolution without bias (mbconv).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_subsets: int,
        num_joints: int,
        depthwise: bool = False,
    ) -> None:
        super().__init__()
        if depthwise and in_channels != out_channels:
            raise ValueError(
                f"depthwise graph convolution needs equal widths, got {in_channels} -> "
                f"{out_channels}"
            )
        self.num_subsets = num_subsets
        self.out_channels = out_channels
        self.conv = nn.Conv2d(
            in_channels,
            out_channels * num_subsets,
            kernel_size=1,
            groups=in_channels if depthwise else 1,
            bias=not depthwise,
        )
        self.edge_importance = nn.Parameter(torch.ones(num_subsets, num_joints, num_joints))

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """Aggregate: (N, C_in, T, V) with adjacency (K, V, V) -> (N, C_out, T, V)."""
        n, _, t, v = x.shape
        # TODO(zcnas): in depthwise mode this (K, C) reading mixes input channels across
        # subsets (faithful to the original); a ModelOptions switch reading (C, K) instead
        # would make it truly depthwise.
        y = self.conv(x).view(n, self.num_subsets, self.out_channels, t, v)
        return torch.einsum("nkctv,kvw->nctw", y, adjacency * self.edge_importance)


class SpatialBlock(nn.Module):
    """Base of the spatial blocks: the shared constructor signature and width rule.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        num_subsets: K of the adjacency this block will be called with.
        num_joints: V.
        expansion: ``bottleneck_factor``: reduction for bottleneck, expansion for mbconv.
        se_ratio: Ratio of the inner squeeze-excitation, or ``None`` for none.
        block_residual: Add a shortcut around the block (identity or 1x1 conv + BN).
        nonlinearity: ``nonlinearity`` value.
    """

    #: Whether the block's output width is the base width times ``bottleneck_factor``.
    widens: ClassVar[bool] = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_subsets: int,
        num_joints: int,
        expansion: int,
        se_ratio: int | None,
        block_residual: bool,
        nonlinearity: str,
    ) -> None:
        super().__init__()
        self.shortcut = make_shortcut(in_channels, out_channels, 1) if block_residual else None
        self.act = make_nonlinearity(nonlinearity)

    def transform(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """The block body before the shortcut and the final activation."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """(N, C_in, T, V), adjacency (K, V, V) -> (N, C_out, T, V)."""
        y = self.transform(x, adjacency)
        if self.shortcut is not None:
            y = y + self.shortcut(x)
        return self.act(y)


#: ``block_type`` value -> spatial block class.
SPATIAL_BLOCKS: Registry[type[SpatialBlock]] = Registry("spatial block type")


@SPATIAL_BLOCKS.register("basic")
class BasicSpatialBlock(SpatialBlock):
    """GraphConv(C_in -> C_out) -> BN -> [SE] (+ shortcut) -> act.

    The original also builds 1x1 reduce/expand layers that its forward pass never uses; they
    are not built here, so every parameter takes part in the forward pass.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_subsets: int,
        num_joints: int,
        expansion: int,
        se_ratio: int | None,
        block_residual: bool,
        nonlinearity: str,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            num_subsets=num_subsets,
            num_joints=num_joints,
            expansion=expansion,
            se_ratio=se_ratio,
            block_residual=block_residual,
            nonlinearity=nonlinearity,
        )
        self.gcn = GraphConv(
            in_channels, out_channels, num_subsets=num_subsets, num_joints=num_joints
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.se = maybe_se(out_channels, se_ratio, nonlinearity)

    def transform(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """GraphConv, BN and the optional SE."""
        y = self.bn(self.gcn(x, adjacency))
        return y if self.se is None else self.se(y)


@SPATIAL_BLOCKS.register("bottleneck")
class BottleneckSpatialBlock(SpatialBlock):
    """1x1 reduce to C_out // bf -> act -> GraphConv -> BN -> act -> 1x1 expand -> [SE]."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_subsets: int,
        num_joints: int,
        expansion: int,
        se_ratio: int | None,
        block_residual: bool,
        nonlinearity: str,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            num_subsets=num_subsets,
            num_joints=num_joints,
            expansion=expansion,
            se_ratio=se_ratio,
            block_residual=block_residual,
            nonlinearity=nonlinearity,
        )
        inner = reduced_width(out_channels, expansion, "bottleneck spatial block")
        self.reduce = conv_bn(in_channels, inner)
        self.reduce_act = make_nonlinearity(nonlinearity)
        self.gcn = GraphConv(inner, inner, num_subsets=num_subsets, num_joints=num_joints)
        self.bn = nn.BatchNorm2d(inner)
        self.gcn_act = make_nonlinearity(nonlinearity)
        self.expand = conv_bn(inner, out_channels)
        self.se = maybe_se(out_channels, se_ratio, nonlinearity)

    def transform(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """Reduce, aggregate, expand, optional SE."""
        y = self.reduce_act(self.reduce(x))
        y = self.gcn_act(self.bn(self.gcn(y, adjacency)))
        y = self.expand(y)
        return y if self.se is None else self.se(y)


@SPATIAL_BLOCKS.register("mbconv")
class MBConvSpatialBlock(SpatialBlock):
    """Inverted residual block over the graph.

    1x1 expand to ``max(C_in * bf, 12)`` -> act -> depthwise GraphConv -> BN -> act -> [SE on
    the expanded width] -> 1x1 project to C_out (+ shortcut) -> act. The expansion and
    projection convolutions have no bias. Unlike EfficientNet there is an activation after the
    shortcut addition (as in the original).
    """

    widens: ClassVar[bool] = False
    #: Smallest expanded width of the spatial mbconv block (the temporal one has none).
    min_expanded: ClassVar[int] = 12

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_subsets: int,
        num_joints: int,
        expansion: int,
        se_ratio: int | None,
        block_residual: bool,
        nonlinearity: str,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            num_subsets=num_subsets,
            num_joints=num_joints,
            expansion=expansion,
            se_ratio=se_ratio,
            block_residual=block_residual,
            nonlinearity=nonlinearity,
        )
        expanded = max(in_channels * expansion, self.min_expanded)
        self.expand = conv_bn(in_channels, expanded, bias=False)
        self.expand_act = make_nonlinearity(nonlinearity)
        self.gcn = GraphConv(
            expanded, expanded, num_subsets=num_subsets, num_joints=num_joints, depthwise=True
        )
        self.bn = nn.BatchNorm2d(expanded)
        self.gcn_act = make_nonlinearity(nonlinearity)
        self.se = maybe_se(expanded, se_ratio, nonlinearity)
        self.project = conv_bn(expanded, out_channels, bias=False)

    def transform(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """Expand, depthwise aggregate, optional SE, project."""
        y = self.expand_act(self.expand(x))
        y = self.gcn_act(self.bn(self.gcn(y, adjacency)))
        if self.se is not None:
            y = self.se(y)
        return self.project(y)
