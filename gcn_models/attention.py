"""Attention blocks appended after every module: ``channel``, ``frame`` or ``joint``.

ResGCN-style (Song et al., ACM MM 2020): a weight map ``a`` is computed from the feature map x
(N, C, T, V) and the block returns ``act(BN(x * a) + x)``. The three kinds differ in what ``a``
weighs:

* ``channel``: (N, C, 1, 1), a softmax over channels of a two-layer bottleneck (C -> C // 4 ->
  C) on the (T, V)-pooled map;
* ``frame``: (N, 1, T, 1), a k x 1 convolution of the per-frame mean and max over (C, V);
  there is no sigmoid, so the weights are unbounded (as in the original);
* ``joint``: (N, 1, 1, V), a softmax over joints of a two-layer bottleneck (V -> V // 2 -> V)
  on the per-joint mean over (C, T).

The channel and joint bottlenecks normalise (N, ., 1, 1) maps with BatchNorm, which has one
value per channel at batch size 1: eval mode works, training needs a batch of 2 or more
(``SearchGCN`` refuses batch 1 in training with a clear error).
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from gcn_models.layers import Registry, make_nonlinearity, reduced_width

logger = logging.getLogger(__name__)


class ChannelWeights(nn.Module):
    """Channel weights (N, C, 1, 1) summing to 1 over C, from a (N, C, T, V) map."""

    def __init__(self, channels: int, num_joints: int, kernel_size: int, nonlinearity: str):
        super().__init__()
        reduced = reduced_width(channels, 4, "channel attention")
        self.reduce = nn.Conv2d(channels, reduced, kernel_size=1)
        self.bn = nn.BatchNorm2d(reduced)
        self.act = make_nonlinearity(nonlinearity)
        self.expand = nn.Conv2d(reduced, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C, 1, 1)."""
        pooled = x.mean(dim=(2, 3), keepdim=True)
        return torch.softmax(self.expand(self.act(self.bn(self.reduce(pooled)))), dim=1)


class FrameWeights(nn.Module):
    """Unbounded frame weights (N, 1, T, 1) from the per-frame mean and max over (C, V)."""

    def __init__(self, channels: int, num_joints: int, kernel_size: int, nonlinearity: str):
        super().__init__()
        self.conv = nn.Conv2d(
            2, 1, kernel_size=(kernel_size, 1), padding=((kernel_size - 1) // 2, 0)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, 1, T, 1)."""
        mean = x.mean(dim=(1, 3), keepdim=True)
        peak = x.amax(dim=(1, 3), keepdim=True)
        return self.conv(torch.cat([mean, peak], dim=1))


class JointWeights(nn.Module):
    """Joint weights (N, 1, 1, V) summing to 1 over V, from a (N, C, T, V) map."""

    def __init__(self, channels: int, num_joints: int, kernel_size: int, nonlinearity: str):
        super().__init__()
        reduced = reduced_width(num_joints, 2, "joint attention")
        self.reduce = nn.Conv2d(num_joints, reduced, kernel_size=1)
        self.bn = nn.BatchNorm2d(reduced)
        self.act = make_nonlinearity(nonlinearity)
        self.expand = nn.Conv2d(reduced, num_joints, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, 1, 1, V)."""
        pooled = x.mean(dim=(1, 2))[:, :, None, None]  # (N, V, 1, 1)
        weights = torch.softmax(self.expand(self.act(self.bn(self.reduce(pooled)))), dim=1)
        return weights.view(x.shape[0], 1, 1, -1)


#: ``attention`` value -> weight-map module class (``"null"`` means no attention block).
ATTENTION_WEIGHTS: Registry[type[nn.Module]] = Registry("attention")
ATTENTION_WEIGHTS.add("channel", ChannelWeights)
ATTENTION_WEIGHTS.add("frame", FrameWeights)
ATTENTION_WEIGHTS.add("joint", JointWeights)

#: The ``attention`` value meaning "no attention block".
NO_ATTENTION = "null"


class AttentionBlock(nn.Module):
    """``act(BN(x * a(x)) + x)`` with a registered weight map ``a``.

    Args:
        kind: A key of :data:`ATTENTION_WEIGHTS`.
        channels: C of the input map.
        num_joints: V.
        kernel_size: Temporal kernel of the frame weights (the module's temporal kernel).
        nonlinearity: ``nonlinearity`` value.
    """

    def __init__(
        self, kind: str, channels: int, *, num_joints: int, kernel_size: int, nonlinearity: str
    ) -> None:
        super().__init__()
        self.kind = kind
        weights_cls = ATTENTION_WEIGHTS.get(kind)
        self.weights = weights_cls(channels, num_joints, kernel_size, nonlinearity)
        self.bn = nn.BatchNorm2d(channels)
        self.act = make_nonlinearity(nonlinearity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C, T, V)."""
        return self.act(self.bn(x * self.weights(x)) + x)


def make_attention(
    kind: str, channels: int, *, num_joints: int, kernel_size: int, nonlinearity: str
) -> AttentionBlock | None:
    """An attention block, or ``None`` for the value ``"null"``.

    Raises:
        ValueError: For an unknown kind, listing the valid ones.
    """
    if kind == NO_ATTENTION:
        return None
    if kind not in ATTENTION_WEIGHTS:
        raise ValueError(
            f"unknown attention {kind!r}; valid values: "
            f"{', '.join([NO_ATTENTION, *ATTENTION_WEIGHTS.names()])}"
        )
    return AttentionBlock(
        kind, channels, num_joints=num_joints, kernel_size=kernel_size, nonlinearity=nonlinearity
    )
