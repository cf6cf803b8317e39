"""Small shared pieces of the GCN builder: registries, nonlinearities, conv+BN, shortcuts, SE.

Tensor axes follow ST-GCN: N batch, C channels, T frames, V joints; feature maps are
(N, C, T, V).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import torch
from torch import nn

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ArchitectureWarning(UserWarning):
    """An architecture outside the shipped space needed an adjustment to be buildable."""


def reduced_width(channels: int, divisor: int, what: str) -> int:
    """``channels // divisor``, at least 1 (with an :class:`ArchitectureWarning` when clamped).

    The original would build a layer of width 0 in that case; no value of the shipped space
    gets there.
    """
    width = channels // divisor
    if width < 1:
        warnings.warn(
            f"{what}: {channels} channels // {divisor} is 0; using width 1 (choose fewer "
            "reduction or more channels)",
            ArchitectureWarning,
            stacklevel=3,
        )
    return max(1, width)


class Registry(Generic[T]):
    """A name -> implementation table with helpful errors.

    Args:
        kind: What the entries are, for messages (for example ``"spatial block"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that adds an entry under ``name``.

        Raises:
            ValueError: If the name is already taken.
        """

        def decorator(entry: T) -> T:
            self.add(name, entry)
            return entry

        return decorator

    def add(self, name: str, entry: T) -> None:
        """Add an entry under ``name``.

        Raises:
            ValueError: If the name is already taken.
        """
        if name in self._entries:
            raise ValueError(f"{self.kind} `{name}` is already registered")
        self._entries[name] = entry

    def get(self, name: str) -> T:
        """Look an entry up.

        Raises:
            ValueError: For an unknown name, listing the registered ones.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ValueError(
                f"unknown {self.kind} {name!r}; valid values: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)


#: ``nonlinearity`` choice value -> activation module class (swish is x * sigmoid(x)).
NONLINEARITIES: Registry[type[nn.Module]] = Registry("nonlinearity")
NONLINEARITIES.add("relu", nn.ReLU)
NONLINEARITIES.add("swish", nn.SiLU)


def make_nonlinearity(name: str) -> nn.Module:
    """A fresh activation module for a ``nonlinearity`` value (``relu`` or ``swish``)."""
    return NONLINEARITIES.get(name)()


def conv_bn(
    in_channels: int,
    out_channels: int,
    *,
    kernel_size: int = 1,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    bias: bool = True,
) -> nn.Sequential:
    """A temporal (k x 1) convolution followed by BatchNorm2d.

    The kernel spans ``kernel_size`` frames and one joint; padding keeps the length at stride 1
    (``dilation * (kernel_size - 1) / 2`` frames each side) and gives ceil(T / stride) frames
    otherwise. Input (N, in_channels, T, V) -> (N, out_channels, ceil(T / stride), V).
    """
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=(kernel_size, 1),
            stride=(stride, 1),
            padding=(padding, 0),
            dilation=(dilation, 1),
            groups=groups,
            bias=bias,
        ),
        nn.BatchNorm2d(out_channels),
    )


def make_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Residual path: identity when shapes agree, else a strided 1x1 convolution + BN.

    Input (N, in_channels, T, V) -> (N, out_channels, ceil(T / stride), V).
    """
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return conv_bn(in_channels, out_channels, stride=stride)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., CVPR 2018) over the channels of a (N, C, T, V) map.

    Mean over (T, V), a linear reduction to ``C // ratio`` features, the nonlinearity, a linear
    expansion back to C, a sigmoid, and channel-wise rescaling. Both linear layers have no
    bias, as in the original.

    Args:
        channels: C.
        ratio: Reduction ratio r (>= 1). The reduced width is ``C // r``, at least 1 (see
            :func:`reduced_width`).
        nonlinearity: ``nonlinearity`` value used between the two layers.
    """

    def __init__(self, channels: int, ratio: int, nonlinearity: str) -> None:
        super().__init__()
        if ratio < 1:
            raise ValueError(f"SE ratio must be >= 1, got {ratio}")
        reduced = reduced_width(channels, ratio, "squeeze-excitation")
        self.reduce = nn.Linear(channels, reduced, bias=False)
        self.act = make_nonlinearity(nonlinearity)
        self.expand = nn.Linear(reduced, channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rescale channels: (N, C, T, V) -> (N, C, T, V)."""
        squeezed = x.mean(dim=(2, 3))
        scale = torch.sigmoid(self.expand(self.act(self.reduce(squeezed))))
        return x * scale[:, :, None, None]


def maybe_se(channels: int, ratio: int | None, nonlinearity: str) -> SqueezeExcitation | None:
    """An SE layer, or ``None`` when ``ratio`` is ``None`` (SE off at this position)."""
    return None if ratio is None else SqueezeExcitation(channels, ratio, nonlinearity)
