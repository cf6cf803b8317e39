"""Which parameters a per-weight proxy sums over: the layer set.

The reference implementations (zero-cost-nas, NASLib) sum per-weight scores over the
``.weight`` of every ``nn.Conv2d`` and ``nn.Linear`` module only (zero_cost_proxies.md §1.1):
biases, normalisation parameters and free ``nn.Parameter`` tensors such as ST-GCN edge-importance
masks are left out. A :class:`LayerSet` makes that choice explicit. Presets, by name:

============  ==========================================  =====  =====  =====
preset        module types whose ``weight`` counts        bias   norm   other
============  ==========================================  =====  =====  =====
``default``   ``Conv1d``, ``Conv2d``, ``Linear``          no     no     no
``reference`` ``Conv2d``, ``Linear`` (the published set)  no     no     no
``all``       ``Conv1d``, ``Conv2d``, ``Conv3d``, ``Linear``  yes    yes    yes
============  ==========================================  =====  =====  =====

"norm" means the affine parameters of BatchNorm, LayerNorm, GroupNorm and InstanceNorm;
"other" is every remaining trainable tensor (edge-importance masks, ``in_proj_weight`` of
``nn.MultiheadAttention``, parameters set directly on custom modules). Module types match with
``isinstance``, as in the reference code, so subclasses (``out_proj`` of attention) count.
Every selected tensor enters a proxy's sum on its own: a per-layer norm is a per-tensor norm.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from torch import nn

logger = logging.getLogger(__name__)

# Normalisation layers whose affine parameters form the "norm" kind.
NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._BatchNorm,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.modules.instancenorm._InstanceNorm,
)


@dataclass(frozen=True)
class SelectedParameter:
    """One parameter tensor a proxy sums over.

    Attributes:
        name: Qualified parameter name, as in ``model.named_parameters()``.
        tensor: The parameter itself (of the model the selection was made on).
        module: The module that owns it.
        kind: ``weight``, ``bias``, ``norm`` or ``other``.
    """

    name: str
    tensor: nn.Parameter
    module: nn.Module
    kind: str


@dataclass(frozen=True)
class LayerSet:
    """Which parameters count in per-weight proxies.

    Attributes:
        name: Label used in logs and messages.
        module_types: Modules whose ``weight`` counts (and whose ``bias`` counts when
            ``include_bias``). They are also the layers of fisher's per-channel sum.
        include_bias: Also sum over the biases of ``module_types``.
        include_norm: Also sum over normalisation affine parameters.
        include_other: Also sum over every other trainable tensor (edge-importance masks ...).
    """

    name: str
    module_types: tuple[type[nn.Module], ...]
    include_bias: bool = False
    include_norm: bool = False
    include_other: bool = False

    def layer_modules(self, model: nn.Module) -> list[nn.Module]:
        """Modules of ``module_types`` that have a weight, in ``named_modules`` order."""
        return [
            module
            for _, module in model.named_modules()
            if isinstance(module, self.module_types)
            and isinstance(getattr(module, "weight", None), nn.Parameter)
        ]

    def select(self, model: nn.Module) -> list[SelectedParameter]:
        """Parameters of ``model`` in this set, each once, in ``named_parameters`` order."""
        owners = dict(_owned_parameters(model))
        selected = []
        for name, param in model.named_parameters():
            module, attr = owners[name]
            kind = self._kind(module, attr)
            if kind is not None:
                selected.append(SelectedParameter(name, param, module, kind))
        return selected

    def _kind(self, module: nn.Module, attr: str) -> str | None:
        if isinstance(module, self.module_types) and attr == "weight":
            return "weight"
        if isinstance(module, self.module_types) and attr == "bias":
            return "bias" if self.include_bias else None
        if isinstance(module, NORM_TYPES):
            return "norm" if self.include_norm else None
        return "other" if self.include_other else None


def _owned_parameters(model: nn.Module) -> Iterator[tuple[str, tuple[nn.Module, str]]]:
    """Map each qualified parameter name to its owning module and attribute name."""
    for module_name, module in model.named_modules():
        for attr, _ in module.named_parameters(recurse=False):
            yield (f"{module_name}.{attr}" if module_name else attr), (module, attr)


LAYER_SETS: dict[str, LayerSet] = {
    "default": LayerSet("default", (nn.Conv1d, nn.Conv2d, nn.Linear)),
    "reference": LayerSet("reference", (nn.Conv2d, nn.Linear)),
    "all": LayerSet(
        "all",
        (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear),
        include_bias=True,
        include_norm=True,
        include_other=True,
    ),
}


def resolve_layer_set(layers: str | LayerSet) -> LayerSet:
    """Return a :class:`LayerSet` given a preset name or an instance.

    Raises:
        ValueError: For an unknown preset name, listing the valid ones.
    """
    if isinstance(layers, LayerSet):
        return layers
    try:
        return LAYER_SETS[layers]
    except KeyError:
        raise ValueError(
            f"unknown layer set `{layers}`; valid presets: {', '.join(LAYER_SETS)} "
            "(or pass a zero_cost.layers.LayerSet)"
        ) from None
