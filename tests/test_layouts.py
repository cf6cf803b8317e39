"""Layouts as data: shipped layouts, user layout files, registry and validation."""

from __future__ import annotations

import json

import pytest

from gcn_models import layouts
from gcn_models.layouts import (
    LayoutWarning,
    SkeletonLayout,
    get_layout,
    layout_from_dict,
    list_layouts,
    load_layout_file,
    register_layout,
)


@pytest.fixture
def isolated_registry(monkeypatch):
    """Registry changes made by a test do not leak into other tests."""
    monkeypatch.setattr(layouts, "_REGISTRY", dict(layouts._REGISTRY))


def _is_tree(layout: SkeletonLayout) -> bool:
    """Every joint reaches the root by following parents, and each parent link is a bone."""
    edges = {frozenset(e) for e in layout.edges}
    for v in range(layout.num_joints):
        seen = set()
        while layout.parents[v] != v:
            if v in seen or frozenset((v, layout.parents[v])) not in edges:
                return False
            seen.add(v)
            v = layout.parents[v]
    return True


def test_shipped_layouts_are_registered():
    assert {"infant19", "infant29", "kinect20"} <= set(list_layouts())


def test_infant19_matches_the_in_motion_definition():
    lay = get_layout("infant19")
    assert lay.num_joints == 19 and len(lay.edges) == 18
    assert lay.joints[lay.center] == "thorax"
    assert lay.trunk == (lay.index("thorax"), lay.index("pelvis")) == (8, 12)
    # Parent list from the original framework's description.
    assert lay.parents == (1, 4, 1, 1, 8, 8, 5, 6, 8, 8, 9, 10, 8, 12, 13, 14, 12, 16, 17)
    assert lay.parents[lay.center] == lay.center
    assert _is_tree(lay)


def test_infant29_extends_infant19():
    small, big = get_layout("infant19"), get_layout("infant29")
    assert big.num_joints == 29 and big.joints[:19] == small.joints
    assert set(small.edges) <= set(big.edges) and len(big.edges) == 28
    assert big.parents[19:] == (7, 7, 11, 11, 15, 15, 15, 18, 18, 18)
    assert _is_tree(big)


def test_kinect20_bones_and_derived_parents():
    lay = get_layout("kinect20")
    expected = {
        (19, 2), (2, 0), (2, 1), (2, 3), (3, 6), (6, 4), (6, 5), (0, 7), (7, 9), (9, 11),
        (1, 8), (8, 10), (10, 12), (4, 13), (13, 15), (15, 17), (5, 14), (14, 16), (16, 18),
    }  # fmt: skip
    assert {tuple(e) for e in lay.edges} == expected
    assert lay.joints[lay.center] == "hip_center"
    # Parents derived by breadth-first search from the hip centre.
    assert lay.parents[lay.index("hip_center")] == lay.index("hip_center")
    assert lay.parents[lay.index("spine")] == lay.index("hip_center")
    assert lay.parents[lay.index("neck")] == lay.index("spine")
    assert lay.parents[lay.index("head")] == lay.index("neck")
    assert lay.parents[lay.index("right_foot")] == lay.index("right_ankle")
    assert _is_tree(lay)


def test_user_yaml_layout_file_registers_and_resolves(tmp_path, isolated_registry):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "name: tiny\njoints: [head, neck, pelvis, foot]\n"
        "edges: [[head, neck], [neck, pelvis], [2, 3]]\ncenter: neck\ntrunk: [neck, pelvis]\n"
    )
    lay = load_layout_file(path)
    assert lay.joints == ("head", "neck", "pelvis", "foot")
    assert lay.edges == ((0, 1), (1, 2), (2, 3))
    assert lay.parents == (1, 1, 1, 2)
    assert lay.trunk == (1, 2)
    register_layout(lay)
    assert get_layout("tiny") is lay
    assert get_layout(str(path)).joints == lay.joints  # a file path works without registering
    with pytest.raises(ValueError, match="already registered"):
        register_layout(lay)
    register_layout(lay, overwrite=True)


def test_to_dict_round_trip():
    for name in ("infant19", "infant29", "kinect20"):
        lay = get_layout(name)
        again = layout_from_dict(json.loads(json.dumps(lay.to_dict())))
        assert again == lay


def test_unknown_layout_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown layout `nope`.*infant19.*kinect20"):
        get_layout("nope")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"joints": ["a"], "edges": [], "center": "a"}, "field `name` is missing"),
        ({"name": "x", "joints": ["a", "b"], "edges": [["a", "z"]], "center": "a"}, "`z`"),
        ({"name": "x", "joints": ["a", "a"], "edges": [], "center": "a"}, "repeats joint"),
        ({"name": "x", "joints": ["a", "b"], "edges": [["a", "a"]], "center": "a"}, "self-loop"),
        ({"name": "x", "joints": ["a", "b"], "edges": [[0, 1]], "center": 5}, "outside"),
        (
            {"name": "x", "joints": ["a", "b"], "edges": [[0, 1]], "center": 0, "trunk": ["a"]},
            "trunk",
        ),
        (
            {"name": "x", "joints": ["a", "b"], "edges": [[0, 1]], "center": 0, "parents": [0]},
            "expected 2",
        ),
    ],
)
def test_bad_layout_dicts_name_the_problem(data, message):
    with pytest.raises(ValueError, match=message):
        layout_from_dict(data, source="test.yaml")


def test_bad_layout_file_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: cannot parse"):
        load_layout_file(path)
    path.write_text(json.dumps({"name": "x", "joints": ["a"], "edges": []}))
    with pytest.raises(ValueError, match="broken.json: layout field `center` is missing"):
        load_layout_file(path)


def test_direct_construction_validates_trunk_and_parents():
    with pytest.raises(ValueError, match="trunk"):
        SkeletonLayout("x", ("a", "b"), ((0, 1),), 0, trunk=(0, 7))
    with pytest.raises(ValueError, match="parents"):
        SkeletonLayout("x", ("a", "b"), ((0, 1),), 0, parents=(0, 9))


def test_disconnected_joint_warns_and_is_its_own_root():
    with pytest.warns(LayoutWarning, match="not connected"):
        lay = SkeletonLayout("x", ("a", "b", "c"), ((0, 1),), 0)
    assert lay.parents == (0, 0, 2)


def test_index_by_name_and_number():
    lay = get_layout("infant19")
    assert lay.index("pelvis") == 12 and lay.index(3) == 3
    with pytest.raises(ValueError, match="not in layout"):
        lay.index("tail")
    with pytest.raises(ValueError, match="outside"):
        lay.index(19)
