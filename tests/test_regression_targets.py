"""Regression targets measured on the original implementation (19 joints, C = 6, 2 classes).

Parameter counts are those that receive a gradient in the original; this builder does not
construct unused modules, so ``count_parameters`` must match them exactly with the default
(faithful) options.
"""

from __future__ import annotations

import pytest
import torch

from gcn_models.cost import count_parameters
from gcn_models.graphs import build_adjacency, graph_pair
from gcn_models.network import ModelOptions, build_model
from gcn_models.space import default_space

NAMES = list(default_space().names)

# Values in the order of the table.
TARGETS = {
    "R1": (
        ["spatial", 6, 1, "basic", "null", 1, 6, 1, 1, "basic", 2, "null", 1, 3, "null", 2,
         "absolute", "relu", "null", "global"],
        7_814,
    ),
    "R2": (
        ["dis42", 8, 2, "basic", "block", "linear", 8, 2, 2, "bottleneck", 4, "dense", 2, 5,
         "both", 4, "relative", "swish", "joint", "global"],
        131_030,
    ),
    "R3": (
        ["dis4", 10, 3, "mbconv", "module", 2, 12, 2, 3, "mbconv", 4, "module", "linear", 9,
         "inner", 2, "absolute", "relu", "frame", "spatial"],
        264_611,
    ),
}  # fmt: skip


def target_arch(name: str) -> dict:
    return dict(zip(NAMES, TARGETS[name][0], strict=True))


@pytest.mark.parametrize("name", list(TARGETS))
def test_parameter_counts_match_the_original(name):
    model = build_model(target_arch(name), layout="infant19", in_channels=6, num_classes=2)
    assert count_parameters(model) == TARGETS[name][1]


@pytest.mark.parametrize("name", list(TARGETS))
def test_graph_fix_does_not_change_parameter_counts(name):
    options = ModelOptions(spatial_partition_true_distance=True)
    model = build_model(
        target_arch(name), layout="infant19", in_channels=6, num_classes=2, options=options
    )
    assert count_parameters(model) == TARGETS[name][1]


def test_r1_by_hand() -> None:
    # Independent hand count of R1 (K = 3, V = 19, widths 12 = 6 * bf 2, kernel 3):
    def graph_conv(c_in: int, c_out: int) -> int:
        return c_in * 3 * c_out + 3 * c_out  # 1x1 conv to 3 subsets, with bias

    data_bn = 2 * 6 * 19
    temporal = 12 * 12 * 3 + 12
    bn12 = 2 * 12
    mask = 3 * 19 * 19
    branch_module = graph_conv(2, 12) + bn12 + mask + temporal + bn12
    fusion = 36 * 12 + 12 + bn12
    main_module = graph_conv(12, 12) + bn12 + mask + temporal + bn12
    head = 12 * 2 + 2
    assert data_bn + 3 * branch_module + fusion + main_module + head == TARGETS["R1"][1]


def test_r2_outputs_and_edge_importance_masks() -> None:
    torch.manual_seed(0)
    model = build_model(target_arch("R2"), layout="infant19", in_channels=6, num_classes=2)
    model.eval()
    with torch.no_grad():
        logits, features = model(torch.randn(2, 6, 150, 19))
    assert logits.shape == (2, 2)
    assert features.shape == (2, 64, 38, 19)
    masks = [p for n, p in model.named_parameters() if n.endswith("edge_importance")]
    input_masks = [m for m in masks if m.shape[0] == 4]
    main_masks = [m for m in masks if m.shape[0] == 2]
    assert (len(input_masks), len(main_masks)) == (6, 4)
    assert tuple(model.adjacency_input.shape) == (4, 19, 19)
    assert tuple(model.adjacency_main.shape) == (2, 19, 19)


def nonzero_counts(adjacency: torch.Tensor) -> list[int]:
    return [int(torch.count_nonzero(a)) for a in adjacency]


def test_adjacency_nonzero_counts_on_the_19_joint_layout() -> None:
    assert nonzero_counts(build_adjacency("spatial", "infant19")) == [19, 27, 9]
    assert nonzero_counts(build_adjacency("spatial", "infant19", true_distance=True)) == [
        19,
        18,
        18,
    ]
    assert nonzero_counts(graph_pair("dis2", "infant19")[0]) == [19, 55]
    assert nonzero_counts(graph_pair("dis4", "infant19")[0]) == [19, 55, 67, 71]
    dis42_input, dis42_main = graph_pair("dis42", "infant19")
    assert nonzero_counts(dis42_input) == [19, 55, 67, 71]
    assert nonzero_counts(dis42_main) == [19, 55]
