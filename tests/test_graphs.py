"""Adjacency builders: partitions, hop matrices and normalisation against independent checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import shortest_path

from gcn_models.graphs import (
    GRAPH_PRESETS,
    build_adjacency,
    graph_pair,
    list_adjacency_strategies,
)
from gcn_models.layouts import get_layout, list_layouts

INFANT = get_layout("infant19")


def hop_distances(layout) -> np.ndarray:
    """Breadth-first hop distances by scipy (independent of the builder's matrix powers)."""
    v = layout.num_joints
    adjacency = np.zeros((v, v))
    for a, b in layout.edges:
        adjacency[a, b] = adjacency[b, a] = 1
    return shortest_path(adjacency, unweighted=True, directed=False)


def name_pairs(matrix: torch.Tensor, layout) -> set[tuple[str, str]]:
    sources, targets = torch.nonzero(matrix, as_tuple=True)
    return {
        (layout.joints[s], layout.joints[t])
        for s, t in zip(sources.tolist(), targets.tolist(), strict=True)
        if s != t
    }


def test_registry_lists_both_strategies() -> None:
    assert list_adjacency_strategies() == ["disentangled", "spatial"]


def test_unknown_strategy_and_graph_names_list_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="registered: disentangled, spatial"):
        build_adjacency("distance", INFANT)
    with pytest.raises(ValueError, match="valid graphs: spatial, dis2, dis4, dis42"):
        graph_pair("dis3", INFANT)


@pytest.mark.parametrize("layout_name", list_layouts())
@pytest.mark.parametrize("true_distance", [False, True])
def test_spatial_partition_columns_average_the_neighbourhood(layout_name, true_distance):
    layout = get_layout(layout_name)
    adjacency = build_adjacency("spatial", layout, true_distance=true_distance)
    v = layout.num_joints
    assert adjacency.shape == (3, v, v) and adjacency.dtype == torch.float32
    # Every target column sums to 1 over all subsets, each entry being 1 / (degree + 1).
    torch.testing.assert_close(adjacency.sum(dim=(0, 1)), torch.ones(v))
    degree = np.zeros(v)
    for a, b in layout.edges:
        degree[a] += 1
        degree[b] += 1
    expected_self = torch.tensor(1.0 / (degree + 1), dtype=torch.float32)
    torch.testing.assert_close(torch.diagonal(adjacency[0]), expected_self)


def test_spatial_partition_faithful_spot_values_and_centrifugal_edges() -> None:
    a = build_adjacency("spatial", INFANT)
    # thorax (8) has 4 bones + itself; upper_neck (4) 2 bones + itself; head_top (0) 1 bone.
    assert a[0, 8, 8].item() == pytest.approx(1 / 5)
    assert a[1, 4, 8].item() == pytest.approx(1 / 5)  # neck -> thorax, centripetal
    assert a[2, 8, 4].item() == pytest.approx(1 / 3)  # thorax -> neck, centrifugal
    assert a[1, 0, 1].item() == pytest.approx(1 / 5)  # head_top -> nose (both "far")
    assert a[1, 1, 0].item() == pytest.approx(1 / 2)  # nose -> head_top, also subset 1
    assert name_pairs(a[2], INFANT) == {
        ("upper_neck", "nose"),
        ("thorax", "upper_neck"),
        ("thorax", "right_shoulder"),
        ("thorax", "left_shoulder"),
        ("thorax", "pelvis"),
        ("right_shoulder", "right_elbow"),
        ("left_shoulder", "left_elbow"),
        ("pelvis", "right_hip"),
        ("pelvis", "left_hip"),
    }


@pytest.mark.parametrize("layout_name", list_layouts())
def test_spatial_partition_with_true_distance_splits_every_bone_both_ways(layout_name):
    layout = get_layout(layout_name)
    a = build_adjacency("spatial", layout, true_distance=True)
    to_centre = hop_distances(layout)[:, layout.center]
    closer = {  # (source, target) with the source nearer the centre: centrifugal
        (layout.joints[s], layout.joints[t])
        for s, t in layout.edges + tuple((t, s) for s, t in layout.edges)
        if to_centre[s] < to_centre[t]
    }
    farther = {
        (layout.joints[s], layout.joints[t])
        for s, t in layout.edges + tuple((t, s) for s, t in layout.edges)
        if to_centre[s] > to_centre[t]
    }
    assert name_pairs(a[2], layout) == closer
    assert name_pairs(a[1], layout) == farther
    assert len(closer) == len(farther) == len(layout.edges)


@pytest.mark.parametrize("layout_name", list_layouts())
@pytest.mark.parametrize("num_scales", [1, 2, 4])
def test_disentangled_hops_match_breadth_first_distances(layout_name, num_scales):
    layout = get_layout(layout_name)
    a = build_adjacency("disentangled", layout, num_scales=num_scales).double()
    distances = hop_distances(layout)
    v = layout.num_joints
    assert a.shape == (num_scales, v, v)
    for hop in range(num_scales):
        pattern = (distances == hop) | np.eye(v, dtype=bool)
        assert np.array_equal(a[hop].numpy() != 0, pattern), f"hop {hop}"
        # symmetric normalisation: entry = 1 / sqrt(deg_i deg_j) of the hop pattern
        deg = pattern.sum(axis=1)
        expected = pattern / np.sqrt(np.outer(deg, deg))
        np.testing.assert_allclose(a[hop].numpy(), expected, rtol=1e-6)


def test_disentangled_spot_values() -> None:
    a = build_adjacency("disentangled", INFANT, num_scales=4)
    assert a[0, 0, 0].item() == 1.0
    assert a[2, 0, 4].item() == pytest.approx(1 / math.sqrt(28))
    assert a[2, 0, 0].item() == pytest.approx(0.25)
    assert a[3, 0, 8].item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="num_scales"):
        build_adjacency("disentangled", INFANT, num_scales=0)


@pytest.mark.parametrize("name", list(GRAPH_PRESETS))
def test_graph_pairs_follow_the_presets(name):
    input_graph, main_graph = graph_pair(name, "infant19")
    expected_k = {"spatial": (3, 3), "dis2": (2, 2), "dis4": (4, 4), "dis42": (4, 2)}[name]
    assert (input_graph.shape[0], main_graph.shape[0]) == expected_k


def test_true_distance_override_reaches_only_the_spatial_strategy() -> None:
    faithful, _ = graph_pair("spatial", INFANT)
    fixed, _ = graph_pair("spatial", INFANT, true_distance=True)
    assert not torch.equal(faithful, fixed)
    dis, _ = graph_pair("dis2", INFANT, true_distance=True)
    assert torch.equal(dis, graph_pair("dis2", INFANT)[0])
