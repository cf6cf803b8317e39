"""Skeleton data layer and the GCN search space's network builder."""

from gcn_models.layouts import (
    SkeletonLayout,
    get_layout,
    list_layouts,
    load_layout_file,
    register_layout,
)

__all__ = [
    "SkeletonLayout",
    "get_layout",
    "list_layouts",
    "load_layout_file",
    "register_layout",
]
