"""Classification heads (the ``pool`` choice): ``global`` and ``spatial`` pooling to logits."""

from __future__ import annotations

import logging

import torch
from torch import nn

from gcn_models.layers import Registry

logger = logging.getLogger(__name__)


class GlobalPoolHead(nn.Module):
    """Mean over (T, V), then a 1x1 convolution (with bias) to the class logits.

    Args:
        channels: C of the final feature map.
        num_joints: V (unused; part of the shared head signature).
        num_classes: Number of logits.
    """

    def __init__(self, channels: int, num_joints: int, num_classes: int) -> None:
        super().__init__()
        self.classifier = nn.Conv2d(channels, num_classes, kernel_size=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> logits (N, num_classes)."""
        pooled = features.mean(dim=(2, 3), keepdim=True)
        return self.classifier(pooled).flatten(1)


class SpatialPoolHead(nn.Module):
    """Mean over T only, joints flattened into channels, a linear map back to C, the logits.

    The pooled (N, C, V) map is flattened with index ``c * V + v``, mapped by a 1x1 convolution
    C*V -> C (with bias, no activation, as in the original) and by a 1x1 convolution to the
    logits.

    Args:
        channels: C of the final feature map.
        num_joints: V.
        num_classes: Number of logits.
    """

    def __init__(self, channels: int, num_joints: int, num_classes: int) -> None:
        super().__init__()
        self.joint_mixer = nn.Conv2d(channels * num_joints, channels, kernel_size=1)
        self.classifier = nn.Conv2d(channels, num_classes, kernel_size=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> logits (N, num_classes)."""
        n = features.shape[0]
        pooled = features.mean(dim=2).reshape(n, -1, 1, 1)  # (N, C*V, 1, 1)
        return self.classifier(self.joint_mixer(pooled)).flatten(1)


#: ``pool`` value -> head class ``(channels, num_joints, num_classes)``.
HEADS: Registry[type[nn.Module]] = Registry("pool")
HEADS.add("global", GlobalPoolHead)
HEADS.add("spatial", SpatialPoolHead)
