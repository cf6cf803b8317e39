"""Build a PyTorch network from an architecture of the search space.

The network follows the infant cerebral-palsy framework (MovementOutcome, Groos et al. 2022):

::

    x (N, C, T, V) -> BatchNorm over every (joint, channel) pair
      -> B input branches (C / B channels each: positions, velocities, bones), each a chain of
         ``num_input_modules`` modules at stride 1 (+ attention after every module)
      -> concatenation and a 1x1 fusion convolution + BN to the main width W (skipped, B = 1)
      -> ``num_main_levels`` levels of ``num_main_level_modules`` modules; the first module of
         each level has temporal stride 2, level l has width W * 2**l
      -> head: global or spatial pooling to logits (N, num_classes)

A module is a spatial graph-convolution block, a multi-scale dilated temporal block, optional
squeeze-excitation (inner and/or outer), residual paths per block and/or per module, and an
optional attention block. See :class:`ModelOptions` for the deviations of the original that
the default reproduces and the fixes on offer.

Modules the original builds but never runs are not built, so
:func:`gcn_models.cost.count_parameters` counts the parameters that take part in the forward
pass (and receive a gradient).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from gcn_models.attention import make_attention
from gcn_models.blocks import SPATIAL_BLOCKS
from gcn_models.graphs import graph_pair
from gcn_models.heads import HEADS
from gcn_models.layers import conv_bn, make_shortcut
from gcn_models.layouts import SkeletonLayout, get_layout
from gcn_models.space import SearchSpace, default_space
from gcn_models.temporal import MultiScaleTemporalBlock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelOptions:
    """Switches between the original's behaviour (default) and documented fixes.

    Attributes:
        spatial_partition_true_distance: ``False`` (faithful) reproduces the original's
            spatial partition, whose distance to the centre joint is computed only up to one
            hop, so bones between joints two or more hops away fall into the
            "centripetal + equal" subset in both directions (non-zeros 19/27/9 on the 19-joint
            layout). ``True`` uses true hop distances (19/18/18), the partition ST-GCN
            describes.
        mbconv_outer_se_quirk: ``True`` (faithful) reproduces the original's mbconv temporal
            blocks with several scales, which always apply an outer squeeze-excitation of
            ratio 1 after the fusion, even when ``se`` is ``null`` or ``inner``. ``False``
            applies an outer SE only when ``se`` asks for one. Either way an outer SE that is
            asked for has ratio ``max(1, r // bottleneck_factor)`` in mbconv blocks.
        num_input_branches: Number of input branches B; the input channels are split into B
            equal groups (3: positions, velocities, bones). The original crashes with one
            branch; here B = 1 feeds the whole input to one branch and skips the fusion.
    """

    spatial_partition_true_distance: bool = False
    mbconv_outer_se_quirk: bool = True
    num_input_branches: int = 3

    def __post_init__(self) -> None:
        if self.num_input_branches < 1:
            raise ValueError(f"`num_input_branches` must be >= 1, got {self.num_input_branches}")


# ----------------------------------------------------------------------------- value tables

#: ``residual`` / ``initial_residual`` value -> (shortcut per block, shortcut per module).
RESIDUAL_MODES: dict[str, tuple[bool, bool]] = {
    "null": (False, False),
    "block": (True, False),
    "module": (False, True),
    "dense": (True, True),
}

#: ``se`` value -> (inner SE in spatial block and temporal branches, outer SE after fusion).
SE_POSITIONS: dict[str, tuple[bool, bool]] = {
    "null": (False, False),
    "inner": (True, False),
    "outer": (False, True),
    "both": (True, True),
}

#: ``se_type`` value -> SE ratio at main level l (0-based) given the base ratio r.
SE_RATIO_SCHEDULES: dict[str, Callable[[int, int], int]] = {
    "relative": lambda ratio, level: ratio * 2**level,
    "absolute": lambda ratio, level: ratio,
}

#: Word values of the temporal-scale choices -> number of scales of module/level i (0-based).
SCALE_SCHEDULES: dict[str, Callable[[int], int]] = {
    "linear": lambda index: index + 1,
}


def _lookup(table: Mapping[str, Any], choice: str, value: Any) -> Any:
    try:
        return table[value]
    except (KeyError, TypeError):
        raise ValueError(
            f"invalid value {value!r} for `{choice}`; valid values: {', '.join(table)}"
        ) from None


def _num_scales(choice: str, value: int | str, index: int) -> int:
    if isinstance(value, str):
        return _lookup(SCALE_SCHEDULES, choice, value)(index)
    return int(value)


def _positive_int(arch: Mapping[str, Any], choice: str) -> int:
    value = arch[choice]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{choice}` must be a positive int, got {value!r}")
    return value


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class ModulePlan:
    """Shape and settings of one module.

    Attributes:
        in_channels: Input width.
        out_channels: Output width.
        stride: Temporal stride (1, or 2 for the first module of a main level).
        block_type: Spatial block and temporal branch type.
        residual: ``residual`` value of the module.
        num_scales: Number of temporal scales.
        inner_se_ratio: Ratio of the inner SE layers, ``None`` for none.
        outer_se_ratio: Ratio of the outer SE layer, ``None`` for none.
        stage: ``"input"`` or ``"main"`` (which adjacency the module uses).
    """

    in_channels: int
    out_channels: int
    stride: int
    block_type: str
    residual: str
    num_scales: int
    inner_se_ratio: int | None
    outer_se_ratio: int | None
    stage: str


@dataclass(frozen=True)
class NetworkPlan:
    """Every module of a network, before anything is built.

    Attributes:
        branch_modules: The modules of one input branch (all branches are alike).
        fusion: (in, out) widths of the fusion convolution, ``None`` with one branch.
        main_modules: The modules of the main stream, level by level.
        feature_channels: Width C' of the final feature map.
    """

    branch_modules: tuple[ModulePlan, ...]
    fusion: tuple[int, int] | None
    main_modules: tuple[ModulePlan, ...]
    feature_channels: int


def plan_network(
    arch: Mapping[str, Any], *, in_channels: int, options: ModelOptions
) -> NetworkPlan:
    """Work out widths, strides, scales and SE ratios of every module of an architecture.

    Args:
        arch: Architecture (canonical or raw: inert values are ignored).
        in_channels: C of the network input.
        options: Model options.

    Raises:
        ValueError: For invalid values or a C that is not divisible by the branch count.
    """
    branches = options.num_input_branches
    if in_channels < branches or in_channels % branches:
        raise ValueError(
            f"`in_channels` = {in_channels} must be a positive multiple of the "
            f"{branches} input branches (each branch takes in_channels / {branches} channels)"
        )
    expansion = _positive_int(arch, "bottleneck_factor")
    input_width = _positive_int(arch, "input_width")
    main_width = _positive_int(arch, "initial_main_width")
    inner_on, outer_on = _lookup(SE_POSITIONS, "se", arch["se"])
    ratio = _positive_int(arch, "se_ratio") if inner_on or outer_on else None
    # se_type is None when inert (one main level, or no SE that depends on it).
    schedule = _lookup(SE_RATIO_SCHEDULES, "se_type", arch["se_type"] or "absolute")

    def widened(block_type: str, base: int) -> int:
        block_cls = _lookup(SPATIAL_BLOCKS, "block_type", block_type)
        return base * expansion if block_cls.widens else base

    def se_ratios(level_ratio: int | None) -> tuple[int | None, int | None]:
        return (level_ratio if inner_on else None, level_ratio if outer_on else None)

    branch_modules = []
    width = in_channels // branches
    for index in range(_positive_int(arch, "num_input_modules")):
        block_type = arch["initial_block_type"] if index == 0 else arch["block_type"]
        out = widened(block_type, input_width)
        inner, outer = se_ratios(ratio)
        branch_modules.append(
            ModulePlan(
                in_channels=width,
                out_channels=out,
                stride=1,
                block_type=block_type,
                residual=arch["initial_residual"] if index == 0 else arch["residual"],
                num_scales=_num_scales(
                    "input_temporal_scales", arch["input_temporal_scales"], index
                ),
                inner_se_ratio=inner,
                outer_se_ratio=outer,
                stage="input",
            )
        )
        width = out

    level_width = widened(arch["block_type"], main_width)
    fusion = None
    if branches > 1:
        fusion = (branches * width, level_width)
        width = level_width

    main_modules = []
    for level in range(_positive_int(arch, "num_main_levels")):
        out = level_width * 2**level
        inner, outer = se_ratios(None if ratio is None else schedule(ratio, level))
        scales = _num_scales("main_temporal_scales", arch["main_temporal_scales"], level)
        for index in range(_positive_int(arch, "num_main_level_modules")):
            main_modules.append(
                ModulePlan(
                    in_channels=width,
                    out_channels=out,
                    stride=2 if index == 0 else 1,
                    block_type=arch["block_type"],
                    residual=arch["residual"],
                    num_scales=scales,
                    inner_se_ratio=inner,
                    outer_se_ratio=outer,
                    stage="main",
                )
            )
            width = out
    return NetworkPlan(tuple(branch_modules), fusion, tuple(main_modules), width)


# ----------------------------------------------------------------------------- modules


class STGCNModule(nn.Module):
    """Spatial block -> multi-scale temporal block (+ module shortcut) -> optional attention.

    Args:
        plan: Widths, stride and settings of the module.
        num_subsets: K of the adjacency the module is called with.
        num_joints: V.
        kernel_size: Temporal kernel k.
        expansion: ``bottleneck_factor``.
        attention: ``attention`` value.
        nonlinearity: ``nonlinearity`` value.
        options: Model options.
    """

    def __init__(
        self,
        plan: ModulePlan,
        *,
        num_subsets: int,
        num_joints: int,
        kernel_size: int,
        expansion: int,
        attention: str,
        nonlinearity: str,
        options: ModelOptions,
    ) -> None:
        super().__init__()
        block_residual, module_residual = _lookup(RESIDUAL_MODES, "residual", plan.residual)
        self.module_shortcut = (
            make_shortcut(plan.in_channels, plan.out_channels, plan.stride)
            if module_residual
            else None
        )
        spatial_cls = _lookup(SPATIAL_BLOCKS, "block_type", plan.block_type)
        self.spatial = spatial_cls(
            plan.in_channels,
            plan.out_channels,
            num_subsets=num_subsets,
            num_joints=num_joints,
            expansion=expansion,
            se_ratio=plan.inner_se_ratio,
            block_residual=block_residual,
            nonlinearity=nonlinearity,
        )
        self.temporal = MultiScaleTemporalBlock(
            plan.out_channels,
            num_scales=plan.num_scales,
            branch_type=plan.block_type,
            kernel_size=kernel_size,
            stride=plan.stride,
            expansion=expansion,
            inner_se_ratio=plan.inner_se_ratio,
            outer_se_ratio=plan.outer_se_ratio,
            block_residual=block_residual,
            nonlinearity=nonlinearity,
            mbconv_quirk=options.mbconv_outer_se_quirk,
        )
        self.attention = make_attention(
            attention,
            plan.out_channels,
            num_joints=num_joints,
            kernel_size=kernel_size,
            nonlinearity=nonlinearity,
        )

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """(N, C_in, T, V), adjacency (K, V, V) -> (N, C_out, ceil(T / stride), V)."""
        residual = None if self.module_shortcut is None else self.module_shortcut(x)
        y = self.temporal(self.spatial(x, adjacency), residual)
        return y if self.attention is None else self.attention(y)


class SearchGCN(nn.Module):
    """A network of the search space for one skeleton layout and input width.

    Prefer :func:`build_model`, which validates and canonicalises the architecture.

    Args:
        arch: Architecture dict with all 20 choices (inert ones may be ``None``).
        layout: Skeleton layout or its registry name; gives V and the graphs.
        in_channels: C of the input (a multiple of ``options.num_input_branches``).
        num_classes: Number of logits.
        options: Faithful-vs-fixed switches, see :class:`ModelOptions`.

    Attributes:
        arch: The architecture it was built from.
        options: The model options.
        plan: The :class:`NetworkPlan` (widths, strides, scales, SE ratios).
        feature_channels: C' of the feature map returned next to the logits.

    Example::

        model = build_model(default_space().sample(0), layout="infant19", in_channels=6,
                            num_classes=2)
        logits, features = model(torch.randn(4, 6, 150, 19))  # (4, 2), (4, C', 38 or 75, 19)
    """

    def __init__(
        self,
        arch: Mapping[str, Any],
        *,
        layout: SkeletonLayout | str,
        in_channels: int,
        num_classes: int,
        options: ModelOptions | None = None,
    ) -> None:
        super().__init__()
        options = options or ModelOptions()
        layout = get_layout(layout)
        missing = [name for name in default_space().names if name not in arch]
        if missing:
            raise ValueError(
                f"architecture misses choice(s) {', '.join(missing)} (inactive ones may be None)"
            )
        if num_classes < 1:
            raise ValueError(f"`num_classes` must be >= 1, got {num_classes}")
        self.arch = dict(arch)
        self.options = options
        self.layout_name = layout.name
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_joints = layout.num_joints
        self.plan = plan_network(arch, in_channels=in_channels, options=options)
        self.feature_channels = self.plan.feature_channels

        input_graph, main_graph = graph_pair(
            arch["graph"], layout, true_distance=options.spatial_partition_true_distance
        )
        self.register_buffer("adjacency_input", input_graph)
        self.register_buffer("adjacency_main", main_graph)

        kernel_size = _positive_int(arch, "temporal_kernel_size")
        expansion = _positive_int(arch, "bottleneck_factor")

        def make_module(plan: ModulePlan, graph: torch.Tensor) -> STGCNModule:
            return STGCNModule(
                plan,
                num_subsets=graph.shape[0],
                num_joints=layout.num_joints,
                kernel_size=kernel_size,
                expansion=expansion,
                attention=arch["attention"],
                nonlinearity=arch["nonlinearity"],
                options=options,
            )

        self.data_bn = nn.BatchNorm1d(in_channels * layout.num_joints)
        self.input_branches = nn.ModuleList(
            nn.ModuleList(make_module(p, input_graph) for p in self.plan.branch_modules)
            for _ in range(options.num_input_branches)
        )
        self.fusion = None if self.plan.fusion is None else conv_bn(*self.plan.fusion)
        self.main_stream = nn.ModuleList(
            make_module(p, main_graph) for p in self.plan.main_modules
        )
        head_cls = _lookup(HEADS, "pool", arch["pool"])
        self.head = head_cls(self.feature_channels, layout.num_joints, num_classes)
        self._initialise_weights()

    def _initialise_weights(self) -> None:
        """Kaiming-normal (fan-out) convolution and linear weights; BN weight 1, bias 0.

        Biases keep PyTorch's default; edge-importance masks start at ones.
        """
        # TODO(zcnas): the original tags each layer with a gain of 1 or sqrt(2); which layers
        # get 1 was not recoverable from the description, so all use sqrt(2) (PyTorch's
        # default for kaiming_normal_). Check against the original code to make it exact.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f"expected input of shape (N, C, T, V), got {tuple(x.shape)}")
        n, c, _, v = x.shape
        if c != self.in_channels or v != self.num_joints:
            raise ValueError(
                f"input has C = {c}, V = {v}; this model was built for C = {self.in_channels} "
                f"channels and V = {self.num_joints} joints (layout `{self.layout_name}`)"
            )
        if self.training and n < 2:
            raise ValueError(
                "training needs a batch of at least 2 samples (BatchNorm statistics over a "
                "single sample are undefined, and attention layers normalise pooled "
                f"per-sample maps); got batch size {n}. Use model.eval() for single samples."
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The final feature map: (N, C, T, V) -> (N, C', T', V), T' = T / 2**levels rounded up.

        Raises:
            ValueError: For a wrongly shaped input, or batch size 1 in training mode.
        """
        self._check_input(x)
        n, c, t, v = x.shape
        # Normalise every (joint, channel) pair over batch and time; feature index v * C + c.
        y = self.data_bn(x.permute(0, 3, 1, 2).reshape(n, v * c, t))
        y = y.view(n, v, c, t).permute(0, 2, 3, 1)

        per_branch = c // len(self.input_branches)
        outputs = []
        for i, branch in enumerate(self.input_branches):
            z = y[:, i * per_branch : (i + 1) * per_branch]
            for module in branch:
                z = module(z, self.adjacency_input)
            outputs.append(z)
        y = outputs[0] if self.fusion is None else self.fusion(torch.cat(outputs, dim=1))
        for module in self.main_stream:
            y = module(y, self.adjacency_main)
        return y

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits from the feature map: (N, C', T', V) -> (N, num_classes)."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (N, num_classes) and the final feature map (N, C', T', V) of x (N, C, T, V)."""
        features = self.forward_features(x)
        return self.forward_head(features), features

    def output_length(self, num_frames: int) -> int:
        """T' of the feature map for an input of ``num_frames`` frames."""
        length = num_frames
        for plan in self.plan.main_modules:
            length = math.ceil(length / plan.stride)
        return length

    def extra_repr(self) -> str:
        """Layout, widths and options, shown by ``print(model)``."""
        return (
            f"layout={self.layout_name}, in_channels={self.in_channels}, "
            f"num_classes={self.num_classes}, feature_channels={self.feature_channels}, "
            f"options={asdict(self.options)}"
        )


def build_model(
    arch: Mapping[str, Any],
    *,
    layout: SkeletonLayout | str,
    in_channels: int,
    num_classes: int,
    options: ModelOptions | None = None,
    space: SearchSpace | None = None,
) -> SearchGCN:
    """Validate an architecture, put it in canonical form and build its network.

    Args:
        arch: Architecture dict of the search space (raw or canonical).
        layout: Skeleton layout or its registry name / file path.
        in_channels: C of the input, a multiple of the number of input branches (3).
        num_classes: Number of logits.
        options: Faithful-vs-fixed switches (default: faithful).
        space: The space ``arch`` comes from; default :func:`default_space`, in which case
            values outside its lists are accepted if the builder supports them (extended
            spaces).

    Returns:
        A :class:`SearchGCN` whose ``arch`` is the canonical dict;
        ``model(x)`` maps (N, C, T, V) to (logits (N, num_classes), features (N, C', T', V)).

    Raises:
        ValueError: For unknown choices or values, or an unsupported input width.
    """
    canonical = (space or default_space()).canonical(arch, allow_unlisted=space is None)
    model = SearchGCN(
        canonical,
        layout=layout,
        in_channels=in_channels,
        num_classes=num_classes,
        options=options,
    )
    logger.debug("built %s", canonical)
    return model


def check_space_builds(
    space: SearchSpace,
    *,
    layout: SkeletonLayout | str,
    in_channels: int,
    num_classes: int,
    seed: int = 0,
    source: str | None = None,
) -> None:
    """Build one network per value of every choice, so a bad space fails before any search.

    Each value is placed into one sampled architecture (values that are inactive there are
    skipped: nothing to build), so a restricted or extended space with a value the builder
    does not know, or one the layout or input cannot take, is found in about 60 builds.

    Args:
        space: The space to check.
        layout: Skeleton layout (or its registry name / file path) of the data.
        in_channels: C of the input.
        num_classes: Number of logits.
        seed: Seed of the base architecture.
        source: Where the space came from (a file), named in the error.

    Raises:
        ValueError: Naming the first choice and value that does not build, and why.
    """
    base = {k: v for k, v in space.sample(np.random.default_rng(seed)).items() if v}
    for name, values in space.choices.items():
        for value in values:
            try:
                arch = space.canonical({**base, name: value})
            except ValueError:
                continue  # inactive in this combination: nothing to build
            try:
                build_model(arch, layout=layout, in_channels=in_channels, num_classes=num_classes)
            except (ValueError, KeyError, TypeError, RuntimeError) as exc:
                where = f" (from {source})" if source else ""
                raise ValueError(
                    f"search space{where} holds values the network builder rejects (found "
                    f"while building {name}={value!r}): {exc}"
                ) from None
