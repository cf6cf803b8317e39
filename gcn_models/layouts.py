"""Skeleton layouts as data: joint names, bones, centre joint, trunk and parents.

A layout is everything the data layer and the graph builder need to know about a skeleton.
Layouts live in a registry (name -> :class:`SkeletonLayout`). The shipped ones are JSON files
next to this module; users add their own with a small JSON or YAML file::

    name: my_layout
    joints: [head, neck, pelvis]
    edges: [[head, neck], [neck, pelvis]]   # names or 0-based indices
    center: neck
    trunk: [neck, pelvis]                   # optional: upper and lower trunk joint
    parents: [1, 1, 1]                      # optional: derived from the edges when absent
"""

from __future__ import annotations

import logging
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcn_models.mapping_file import read_mapping_file

logger = logging.getLogger(__name__)

_LAYOUT_DIR = Path(__file__).with_name("layouts")


class LayoutWarning(UserWarning):
    """A layout that works but is probably not what was meant (e.g. joints without a bone)."""


_REGISTRY: dict[str, SkeletonLayout] = {}


@dataclass(frozen=True)
class SkeletonLayout:
    """A skeleton: named joints and the bones between them.

    Attributes:
        name: Registry name of the layout.
        joints: Joint names; the position in this tuple is the joint index ``v`` of (C, T, V).
        edges: Undirected bones as pairs of joint indices.
        center: Index of the centre joint (used by the spatial graph partition).
        trunk: Indices of the (upper, lower) trunk joints used to centre, rotate and scale
            poses, or ``None`` when the layout has no trunk.
        parents: Parent index of every joint for bone features; the root is its own parent,
            so its bone vector is zero.
        description: Free text shown by the CLI.
    """

    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    center: int
    trunk: tuple[int, int] | None = None
    parents: tuple[int, ...] = field(default=())
    description: str = ""

    def __post_init__(self) -> None:
        _validate_layout(self)
        if not self.parents:
            object.__setattr__(self, "parents", _parents_from_edges(self))

    @property
    def num_joints(self) -> int:
        """Number of joints V."""
        return len(self.joints)

    def index(self, joint: str | int) -> int:
        """Return the index of a joint given by name or index.

        Raises:
            ValueError: If the joint is not part of the layout.
        """
        if isinstance(joint, int):
            if not 0 <= joint < self.num_joints:
                raise ValueError(
                    f"joint index {joint} is outside layout `{self.name}` "
                    f"(valid: 0..{self.num_joints - 1})"
                )
            return joint
        try:
            return self.joints.index(joint)
        except ValueError:
            raise ValueError(
                f"joint `{joint}` is not in layout `{self.name}`; joints are: "
                f"{', '.join(self.joints)}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description (the layout file format)."""
        return {
            "name": self.name,
            "description": self.description,
            "joints": list(self.joints),
            "edges": [list(e) for e in self.edges],
            "center": self.joints[self.center],
            "trunk": None if self.trunk is None else [self.joints[i] for i in self.trunk],
            "parents": list(self.parents),
        }


def _validate_layout(layout: SkeletonLayout) -> None:
    v = len(layout.joints)
    if v == 0:
        raise ValueError(f"layout `{layout.name}` has no joints")
    if len(set(layout.joints)) != v:
        dupes = sorted({j for j in layout.joints if layout.joints.count(j) > 1})
        raise ValueError(f"layout `{layout.name}` repeats joint names: {dupes}")
    for a, b in layout.edges:
        if not (0 <= a < v and 0 <= b < v):
            raise ValueError(f"layout `{layout.name}`: edge ({a}, {b}) is outside 0..{v - 1}")
        if a == b:
            raise ValueError(f"layout `{layout.name}`: edge ({a}, {b}) is a self-loop")
    if not 0 <= layout.center < v:
        raise ValueError(f"layout `{layout.name}`: centre {layout.center} outside 0..{v - 1}")
    if layout.trunk is not None:
        if len(layout.trunk) != 2 or not all(0 <= j < v for j in layout.trunk):
            raise ValueError(
                f"layout `{layout.name}`: `trunk` must be two joint indices in 0..{v - 1}, "
                f"got {layout.trunk}"
            )
        if layout.trunk[0] == layout.trunk[1]:
            raise ValueError(f"layout `{layout.name}`: the two `trunk` joints must differ")
    bad_parents = [p for p in layout.parents if not 0 <= p < v]
    if bad_parents:
        raise ValueError(
            f"layout `{layout.name}`: `parents` entries {bad_parents} are outside 0..{v - 1}"
        )
    if layout.parents and len(layout.parents) != v:
        raise ValueError(
            f"layout `{layout.name}`: `parents` has {len(layout.parents)} entries, expected {v}"
        )


def _parents_from_edges(layout: SkeletonLayout) -> tuple[int, ...]:
    """Parents by breadth-first search from the centre joint; unreachable joints are roots."""
    neighbours: dict[int, list[int]] = {i: [] for i in range(layout.num_joints)}
    for a, b in layout.edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    parents = list(range(layout.num_joints))
    seen = {layout.center}
    queue = deque([layout.center])
    while queue:
        node = queue.popleft()
        for nxt in sorted(neighbours[node]):
            if nxt not in seen:
                seen.add(nxt)
                parents[nxt] = node
                queue.append(nxt)
    if len(seen) != layout.num_joints:
        missing = [layout.joints[i] for i in range(layout.num_joints) if i not in seen]
        warnings.warn(
            f"layout `{layout.name}`: joints not connected to the centre get no bone: {missing}",
            LayoutWarning,
            stacklevel=3,
        )
    return tuple(parents)


def layout_from_dict(data: dict[str, Any], *, source: str = "<dict>") -> SkeletonLayout:
    """Build a layout from the file format described in the module docstring.

    Args:
        data: Parsed JSON/YAML mapping.
        source: Where the mapping came from, for error messages.

    Raises:
        ValueError: Naming `source` and the field that is missing or malformed.
    """
    for key in ("name", "joints", "edges", "center"):
        if key not in data:
            raise ValueError(f"{source}: layout field `{key}` is missing")
    joints = tuple(str(j) for j in data["joints"])

    def resolve(value: Any, what: str) -> int:
        if isinstance(value, bool):
            raise ValueError(f"{source}: {what} must be a joint name or index, got {value!r}")
        if isinstance(value, int):
            if not 0 <= value < len(joints):
                raise ValueError(f"{source}: {what} index {value} outside 0..{len(joints) - 1}")
            return value
        if isinstance(value, str) and value in joints:
            return joints.index(value)
        raise ValueError(f"{source}: {what} `{value}` is not one of the layout's joints")

    try:
        edges = tuple((resolve(e[0], "edge"), resolve(e[1], "edge")) for e in data["edges"])
    except (TypeError, IndexError, KeyError):
        raise ValueError(f"{source}: `edges` must be a list of [joint, joint] pairs") from None
    trunk_raw = data.get("trunk")
    trunk = None
    if trunk_raw is not None:
        if not isinstance(trunk_raw, Sequence) or len(trunk_raw) != 2:
            raise ValueError(f"{source}: `trunk` must be [upper_joint, lower_joint]")
        trunk = (resolve(trunk_raw[0], "trunk joint"), resolve(trunk_raw[1], "trunk joint"))
    parents = tuple(resolve(p, "parent") for p in data.get("parents") or ())
    return SkeletonLayout(
        name=str(data["name"]),
        joints=joints,
        edges=edges,
        center=resolve(data["center"], "center"),
        trunk=trunk,
        parents=parents,
        description=str(data.get("description", "")),
    )


def load_layout_file(path: str | Path) -> SkeletonLayout:
    """Read a layout from a JSON or YAML file.

    Raises:
        ValueError: If the file cannot be parsed or misses a field (the message names the file).
    """
    data = read_mapping_file(path, "layout")
    return layout_from_dict(data, source=str(path))


def register_layout(layout: SkeletonLayout, *, overwrite: bool = False) -> SkeletonLayout:
    """Add a layout to the registry.

    Raises:
        ValueError: If the name is taken and `overwrite` is false.
    """
    if layout.name in _REGISTRY and not overwrite:
        raise ValueError(f"layout `{layout.name}` is already registered")
    _REGISTRY[layout.name] = layout
    return layout


def list_layouts() -> list[str]:
    """Names of all registered layouts, sorted."""
    return sorted(_REGISTRY)


def get_layout(name_or_path: str | SkeletonLayout) -> SkeletonLayout:
    """Look a layout up by registry name, or load it from a JSON/YAML file path.

    Raises:
        ValueError: For an unknown name, listing the valid names.
    """
    if isinstance(name_or_path, SkeletonLayout):
        return name_or_path
    if name_or_path in _REGISTRY:
        return _REGISTRY[name_or_path]
    path = Path(name_or_path)
    if path.suffix.lower() in {".json", ".yaml", ".yml"} and path.is_file():
        return load_layout_file(path)
    raise ValueError(
        f"unknown layout `{name_or_path}`; registered layouts: {', '.join(list_layouts())} "
        "(or pass the path of a JSON/YAML layout file)"
    )


def _register_builtin_layouts() -> None:
    for file in sorted(_LAYOUT_DIR.glob("*.json")):
        register_layout(load_layout_file(file), overwrite=True)


_register_builtin_layouts()
