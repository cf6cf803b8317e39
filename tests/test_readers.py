"""Readers on tiny files written by the tests: tracker CSV, MSR Action3D text, .npz, detection."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from gcn_models.dataset import DataWarning, SkeletonDataset
from gcn_models.layouts import get_layout, layout_from_dict
from gcn_models.readers import detect_format, load_dataset, read_npz_dataset, save_npz
from gcn_models.readers.msr_action3d import read_msr_dataset, read_msr_file
from gcn_models.readers.tracker_csv import (
    read_outcomes,
    read_tracker_csv,
    read_tracker_dataset,
    write_tracker_dataset,
)
from tuning.cli import main as zcnas

INFANT = get_layout("infant19")


def value(t: int, v: int, axis: int) -> float:
    """The coordinate written for frame t, joint v, axis (0 = x, 1 = y): unique and exact."""
    return round(0.001 * t + v / 100 + axis / 1000 + 0.2, 6)


def write_csv(path, *, frames=5, joints=INFANT.joints, columns=None, cells=None, delimiter=","):
    """A tracker CSV; ``columns`` overrides the header, ``cells`` maps (row, col name) -> text."""
    header = columns or ["frame"] + [f"{j}_{a}" for j in joints for a in "xy"]
    rows = []
    for t in range(frames):
        row = []
        for name in header:
            if name == "frame":
                row.append(str(t + 1))
            else:
                joint, _, axis = name.rpartition("_")
                v = INFANT.index(joint) if joint in INFANT.joints else 99
                row.append(f"{value(t, v, 'xy'.index(axis)):.6f}")
        rows.append(row)
    for (r, name), text in (cells or {}).items():
        rows[r][header.index(name)] = text
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_outcomes(path, rows, delimiter=";", header=("id", "outcome")):
    path.write_text("\n".join([delimiter.join(header)] + [delimiter.join(r) for r in rows]) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# Tracker CSV
# ---------------------------------------------------------------------------------------------


def test_columns_are_matched_by_name_not_position(tmp_path):
    header = ["frame"] + [f"{j}_{a}" for j in INFANT.joints for a in "xy"]
    shuffled = [header[0]] + list(np.random.default_rng(0).permutation(header[1:]))
    rec = read_tracker_csv(write_csv(tmp_path / "a.csv", columns=shuffled))
    assert rec.layout.name == "infant19"
    assert rec.coords.shape == (2, 5, 19)
    t, v, c = 3, INFANT.index("left_knee"), 1
    assert rec.coords[c, t, v] == pytest.approx(value(t, v, c), abs=1e-6)
    expected = np.array(
        [[[value(t, v, c) for v in range(19)] for t in range(5)] for c in range(2)]
    )
    np.testing.assert_allclose(rec.coords, expected, atol=1e-6)


def test_frame_aspect_scales_x_only(tmp_path):
    path = write_csv(tmp_path / "a.csv")
    plain, wide = read_tracker_csv(path), read_tracker_csv(path, frame_aspect=16 / 9)
    np.testing.assert_allclose(wide.coords[0], plain.coords[0] * 16 / 9, rtol=1e-6)
    np.testing.assert_array_equal(wide.coords[1], plain.coords[1])


def test_infant29_columns_detect_infant29_and_extra_columns_are_reported(tmp_path):
    big = get_layout("infant29")
    header = ["frame"] + [f"{j}_{a}" for j in big.joints for a in "xy"]
    path = tmp_path / "big.csv"
    path.write_text(",".join(header) + "\n" + ",".join(["1"] + ["0.5"] * 58) + "\n")
    assert read_tracker_csv(path).layout.name == "infant29"
    rec = read_tracker_csv(path, layout=INFANT)
    assert rec.coords.shape == (2, 1, 19)
    assert any("not in layout `infant19` ignored" in i and "left_big_toe" in i for i in rec.issues)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match=r"empty.csv: file is empty; expected a header"):
        read_tracker_csv(path)


def test_header_only_file(tmp_path):
    path = write_csv(tmp_path / "h.csv", frames=0)
    with pytest.raises(ValueError, match=r"h.csv: no data rows after the header"):
        read_tracker_csv(path)


def test_missing_joint_column(tmp_path):
    header = ["frame"] + [f"{j}_{a}" for j in INFANT.joints for a in "xy"]
    header.remove("nose_y")
    path = write_csv(tmp_path / "m.csv", columns=header)
    with pytest.raises(
        ValueError, match=r"m.csv: line 1: joint `nose` has columns .* \(missing `nose_y`\)"
    ):
        read_tracker_csv(path, layout=INFANT)
    header = [h for h in header if not h.startswith("nose")]
    path = write_csv(tmp_path / "m2.csv", columns=header)
    with pytest.raises(ValueError, match=r"m2.csv: line 1: layout `infant19` needs .* nose"):
        read_tracker_csv(path, layout=INFANT)
    with pytest.raises(
        ValueError, match=r"match no registered layout; closest is `infant19`.*nose"
    ):
        read_tracker_csv(path)


def test_duplicated_joint_column(tmp_path):
    header = ["frame"] + [f"{j}_{a}" for j in INFANT.joints for a in "xy"] + ["nose_x"]
    path = write_csv(tmp_path / "d.csv", columns=header)
    with pytest.raises(
        ValueError, match=r"d.csv: line 1: column `nose_x` appears twice \(columns 4 and 40\)"
    ):
        read_tracker_csv(path)


def test_missing_frame_column(tmp_path):
    header = [f"{j}_{a}" for j in INFANT.joints for a in "xy"]
    path = write_csv(tmp_path / "f.csv", columns=header)
    with pytest.raises(ValueError, match=r"f.csv: line 1: no `frame` column"):
        read_tracker_csv(path)


def test_non_numeric_cell_names_line_and_column(tmp_path):
    path = write_csv(tmp_path / "n.csv", cells={(1, "left_wrist_y"): "abc"})
    with pytest.raises(
        ValueError, match=r"n.csv: line 3, column `left_wrist_y`: expected a number, got 'abc'"
    ):
        read_tracker_csv(path)


def test_wrong_field_count_names_line(tmp_path):
    path = write_csv(tmp_path / "w.csv")
    lines = path.read_text().splitlines()
    lines[2] += ",7"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"w.csv: line 3: 40 fields, expected 39"):
        read_tracker_csv(path)


def test_empty_nan_and_inf_cells_become_missing(tmp_path):
    cells = {(1, "nose_x"): "", (2, "nose_y"): "nan", (3, "thorax_x"): "inf"}
    rec = read_tracker_csv(write_csv(tmp_path / "g.csv", cells=cells))
    nose, thorax = INFANT.index("nose"), INFANT.index("thorax")
    assert np.isnan(rec.coords[0, 1, nose]) and np.isnan(rec.coords[1, 2, nose])
    assert np.isnan(rec.coords[0, 3, thorax])
    assert np.isfinite(rec.coords).sum() == rec.coords.size - 3
    assert any("line 5: infinite value in column(s) thorax_x" in i for i in rec.issues)


def test_frame_numbers_skipped_and_decreasing(tmp_path):
    path = write_csv(tmp_path / "s.csv", cells={(3, "frame"): "6", (4, "frame"): "7"})
    rec = read_tracker_csv(path)
    assert rec.coords.shape[1] == 7  # frames 1..7, frames 4 and 5 missing
    assert np.isnan(rec.coords[:, 3:5]).all() and np.isfinite(rec.coords[:, 5:]).all()
    assert any("skip 2 frame(s)" in i for i in rec.issues)
    path = write_csv(tmp_path / "b.csv", cells={(2, "frame"): "1"})
    with pytest.raises(
        ValueError, match=r"b.csv: line 4, column `frame`: frame numbers must increase"
    ):
        read_tracker_csv(path)


def test_outcomes_delimiters_and_columns(tmp_path):
    semi = write_outcomes(tmp_path / "o1.csv", [("a", "0"), ("b", "1")])
    comma = write_outcomes(tmp_path / "o2.csv", [("a", "1")], delimiter=",")
    tab = write_outcomes(
        tmp_path / "o3.csv",
        [("1", "a", "s9")],
        delimiter="\t",
        header=("outcome", "id", "subject"),
    )
    assert {k: v.label for k, v in read_outcomes(semi).items()} == {"a": 0, "b": 1}
    assert read_outcomes(comma)["a"].label == 1
    assert read_outcomes(tab, delimiter="\t")["a"].subject == "s9"
    assert read_outcomes(semi)["b"].subject == "b"  # no subject column: the id


def test_outcome_labels_other_than_the_classes(tmp_path):
    path = write_outcomes(tmp_path / "outcomes.csv", [("a", "0"), ("b", "2")])
    with pytest.raises(
        ValueError, match=r"outcomes.csv: line 3, column `outcome`: expected one of 0, 1, got '2'"
    ):
        read_outcomes(path)
    assert read_outcomes(path, classes=("0", "1", "2"))["b"].label == 2


def test_outcome_duplicate_id_and_empty_file(tmp_path):
    path = write_outcomes(tmp_path / "outcomes.csv", [("a", "0"), ("a", "1")])
    with pytest.raises(ValueError, match=r"line 3, column `id`: id `a` already given on line 2"):
        read_outcomes(path)
    path.write_text("")
    with pytest.raises(ValueError, match=r"outcomes.csv: outcomes file is empty"):
        read_outcomes(path)


def make_tracker_dir(tmp_path, recordings=("a", "b", "c"), outcomes=None, frames=40):
    for rec in recordings:
        write_csv(tmp_path / f"orgcoords_{rec}.csv", frames=frames)
    rows = (
        outcomes if outcomes is not None else [(r, str(i % 2)) for i, r in enumerate(recordings)]
    )
    write_outcomes(tmp_path / "outcomes.csv", rows)
    return tmp_path


def test_dataset_directory_reads_all_recordings(tmp_path):
    root = make_tracker_dir(tmp_path)
    ds = read_tracker_dataset(root)
    assert ds.ids == ["a", "b", "c"] and ds.labels.tolist() == [0, 1, 0]
    assert ds.subjects.tolist() == ["a", "b", "c"] and ds.fps == 30.0
    assert ds.summary.read == 3 and ds.summary.skipped == []
    assert detect_format(root) == "tracker_csv"


def test_outcome_ids_without_recordings_and_recordings_without_outcomes(tmp_path):
    root = make_tracker_dir(tmp_path, outcomes=[("a", "0"), ("b", "1"), ("zz", "1")])
    write_csv(root / "orgcoords_c.csv")  # c has no outcome
    with pytest.warns(DataWarning, match="1 recording\\(s\\) skipped"):
        ds = read_tracker_dataset(root)
    assert ds.ids == ["a", "b"]
    assert [s.source.endswith("orgcoords_c.csv") for s in ds.summary.skipped] == [True]
    assert "recording `c` has no row in outcomes.csv" in ds.summary.skipped[0].reason
    assert any("outcome id `zz` has no recording" in i for i in ds.summary.issues)
    with pytest.raises(ValueError, match="recording `c` has no row in outcomes.csv"):
        read_tracker_dataset(root, on_error="raise")


def test_bad_recording_is_skipped_and_summarised(tmp_path):
    root = make_tracker_dir(tmp_path)
    (root / "orgcoords_b.csv").write_text("")
    with pytest.warns(DataWarning):
        ds = read_tracker_dataset(root)
    assert ds.ids == ["a", "c"] and ds.summary.read == 2
    assert "file is empty" in ds.summary.skipped[0].reason
    assert "skipped: 1" in "\n".join(ds.summary.lines())


def test_short_recording_is_kept_unfiltered_with_an_issue(tmp_path):
    root = make_tracker_dir(tmp_path, recordings=("a",), outcomes=[("a", "1")], frames=20)
    with pytest.warns(DataWarning, match="needs at least 28"):
        ds = load_dataset(root)
    assert ds.sequences[0].shape == (2, 20, 19)
    assert any(
        "a: 20 frames, but the order-8 low-pass filter needs at least 28" in i
        for i in ds.summary.issues
    )


def test_unknown_layout_name(tmp_path):
    root = make_tracker_dir(tmp_path)
    with pytest.raises(
        ValueError, match="unknown layout `infant7`; registered layouts: .*infant19"
    ):
        load_dataset(root, layout="infant7")


def test_unknown_reader_option_and_format(tmp_path):
    root = make_tracker_dir(tmp_path)
    with pytest.raises(ValueError, match="does not take option\\(s\\) clean_only"):
        load_dataset(root, clean_only=True)
    with pytest.raises(ValueError, match="unknown data format `excel`"):
        load_dataset(root, format="excel")
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "nowhere")


def test_synthetic_csv_round_trip_equals_in_memory(tmp_path):
    from gcn_models.synthetic import make_synthetic_dataset

    raw = make_synthetic_dataset(subjects=4, seed=3, duration_s=3.0, raw=True)
    write_tracker_dataset(raw, tmp_path)
    back = load_dataset(tmp_path, preprocessing=None)
    assert back.ids == raw.ids and back.labels.tolist() == raw.labels.tolist()
    for a, b in zip(raw.sequences, back.sequences, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, atol=1e-6, equal_nan=True)
    processed = make_synthetic_dataset(subjects=4, seed=3, duration_s=3.0)
    for a, b in zip(processed.sequences, load_dataset(tmp_path).sequences, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# MSR Action3D text
# ---------------------------------------------------------------------------------------------


def msr_rows(frames: int, offset: float = 0.0) -> list[str]:
    return [
        f"{offset + 0.1 * v:.6f} {0.01 * t:.6f} {2.0 + 0.001 * v:.6f} 1.000000"
        for t in range(frames)
        for v in range(20)
    ]


def make_msr_dir(tmp_path, names=("a01_s01_e01", "a14_s02_e01", "a01_s02_e02"), clean=None):
    folder = tmp_path / "skeleton3D"
    folder.mkdir()
    for i, name in enumerate(names):
        (folder / f"{name}_skeleton3D.txt").write_text("\n".join(msr_rows(3 + i)) + "\n")
    listed = clean if clean is not None else names
    (tmp_path / "files_used_in_cvpr12_paper.txt").write_text("\r\n".join(listed) + "\r\n")
    return tmp_path


def test_msr_file_shape_and_values(tmp_path):
    path = tmp_path / "a01_s01_e01_skeleton3D.txt"
    path.write_text("\n".join(msr_rows(2)) + "\n")
    coords, notes = read_msr_file(path)
    assert coords.shape == (3, 2, 20) and notes == []
    assert coords[0, 1, 7] == pytest.approx(0.7)  # x of joint 8 (left elbow)
    assert coords[1, 1, 0] == pytest.approx(0.01)  # y = 0.01 * frame
    assert coords[2, 0, 19] == pytest.approx(2.019)


def test_msr_wrong_number_of_rows(tmp_path):
    path = tmp_path / "x_skeleton3D.txt"
    path.write_text("\n".join(msr_rows(2) + ["0 0 1 1"]) + "\n")
    with pytest.raises(
        ValueError, match=r"41 rows is not a multiple of 20 .* row 41 has only 1 rows"
    ):
        read_msr_file(path)


def test_msr_bad_rows_name_the_line(tmp_path):
    path = tmp_path / "x_skeleton3D.txt"
    rows = msr_rows(1)
    rows[4] = "0.1 0.2 0.3"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"line 5: 3 values, expected 4"):
        read_msr_file(path)
    rows[4] = "0.1 oops 0.3 1"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"line 5, column 2 \(y\): expected a number, got 'oops'"):
        read_msr_file(path)
    path.write_text("  \n")
    with pytest.raises(ValueError, match="file is empty"):
        read_msr_file(path)


def test_msr_all_zero_frames_and_files(tmp_path):
    path = tmp_path / "x_skeleton3D.txt"
    rows = msr_rows(3)
    rows[20:40] = ["0 0 0 0"] * 20
    path.write_text("\n".join(rows) + "\n")
    coords, notes = read_msr_file(path)
    assert np.isnan(coords[:, 1]).all() and np.isfinite(coords[:, [0, 2]]).all()
    assert "1 all-zero frame(s)" in notes[0]
    path.write_text("\n".join(["0 0 0 0"] * 40) + "\n")
    with pytest.raises(ValueError, match="all coordinates are zero"):
        read_msr_file(path)


def test_msr_directory_clean_list_and_action_subset(tmp_path):
    root = make_msr_dir(tmp_path, clean=("a01_s01_e01", "a14_s02_e01"))
    ds = read_msr_dataset(root)
    assert ds.ids == ["a01_s01_e01", "a14_s02_e01"]
    assert ds.subjects.tolist() == ["s01", "s02"] and ds.num_classes == 20
    assert ds.labels.tolist() == [0, 13] and ds.class_names[13] == "forward_kick"
    assert [s.reason for s in ds.summary.skipped] == [
        "not in the clean list files_used_in_cvpr12_paper.txt"
    ]
    sub = read_msr_dataset(root, clean_only=False, actions=[14, 1])
    assert sub.class_names == ["high_arm_wave", "forward_kick"]
    assert sub.labels.tolist() == [0, 0, 1]
    assert detect_format(root) == "msr_action3d" and ds.layout.name == "kinect20"
    with pytest.raises(ValueError, match="`actions` must be numbers in 1..20"):
        read_msr_dataset(root, actions=[21])


def test_msr_bad_file_is_skipped_or_raised(tmp_path):
    root = make_msr_dir(tmp_path)
    (root / "skeleton3D" / "a14_s02_e01_skeleton3D.txt").write_text("1 2 3 4\n")
    with pytest.warns(DataWarning, match="1 recording"):
        ds = load_dataset(root)
    assert len(ds) == 2 and "1 rows is not a multiple of 20" in ds.summary.skipped[0].reason
    with pytest.raises(ValueError, match="a14_s02_e01_skeleton3D.txt: 1 rows"):
        load_dataset(root, on_error="raise")


def test_msr_default_preprocessing_centres_on_hip_centre(tmp_path):
    ds = load_dataset(make_msr_dir(tmp_path))
    hip = get_layout("kinect20").index("hip_center")
    for seq in ds.sequences:
        np.testing.assert_allclose(seq[:, :, hip], 0.0, atol=1e-7)
        trunk = np.linalg.norm(seq[:, :, 2] - seq[:, :, hip], axis=0)  # neck - hip centre
        assert np.median(trunk) == pytest.approx(0.25, rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Canonical .npz
# ---------------------------------------------------------------------------------------------


def small_dataset(layout=INFANT) -> SkeletonDataset:
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(2, t, layout.num_joints)).astype(np.float32) for t in (5, 8, 3)]
    seqs[1][0, 2, 1] = np.nan
    return SkeletonDataset(
        seqs, [0, 1, 1], ["p", "q", "q"], ["r1", "r2", "r3"], layout, 25.0, ["neg", "pos"]
    )


def test_npz_round_trip(tmp_path):
    ds = small_dataset()
    path = save_npz(ds, tmp_path / "d")
    assert path.name == "d.npz" and detect_format(path) == "npz"
    back = load_dataset(path)
    assert back.ids == ds.ids and back.subjects.tolist() == ["p", "q", "q"]
    assert back.class_names == ["neg", "pos"] and back.fps == 25.0 and back.layout == INFANT
    assert back.labels.tolist() == [0, 1, 1] and back.lengths.tolist() == [5, 8, 3]
    for a, b in zip(ds.sequences, back.sequences, strict=True):
        np.testing.assert_array_equal(a, b)
    with np.load(path) as raw:
        assert raw["X"].shape == (3, 2, 8, 19) and np.isnan(raw["X"][0, :, 5:]).all()


def test_npz_custom_layout_travels_in_the_file(tmp_path):
    tiny = layout_from_dict(
        {
            "name": "tiny_unregistered",
            "joints": ["a", "b", "c"],
            "edges": [[0, 1], [1, 2]],
            "center": 1,
        }
    )
    path = save_npz(small_dataset(tiny), tmp_path / "t.npz")
    assert read_npz_dataset(path).layout == tiny


def test_npz_missing_or_bad_fields(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(
        path, X=np.zeros((2, 2, 4, 19), np.float32), lengths=np.array([4, 4]), y=np.array([0, 1])
    )
    with pytest.raises(ValueError, match=r"bad.npz: field\(s\) `subject` missing"):
        read_npz_dataset(path)
    np.savez(
        path, X=np.zeros((2, 2, 4, 19), np.float32), lengths=np.array([4, 9]), y=np.array([0, 1]),
        subject=np.array(["a", "b"]), layout=np.str_("infant19"), fps=30.0,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"bad.npz: field `lengths` must lie in 1..4"):
        read_npz_dataset(path)
    np.savez(
        path, X=np.zeros((2, 2, 4, 19), np.float32), lengths=np.array([4, 4]), y=np.array([0, 3]),
        subject=np.array(["a", "b"]), layout=np.str_("infant19"), fps=30.0,
        class_names=np.array(["n", "p"]),
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"field `y` must hold class indices 0..1"):
        read_npz_dataset(path)
    np.savez(
        path, X=np.zeros((2, 2, 4, 19), np.float32), lengths=np.array([4, 4]), y=np.array([0, 1]),
        subject=np.array(["a", "b"]), layout=np.str_("infant19"),
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"field `fps` is missing"):
        read_npz_dataset(path)
    assert read_npz_dataset(path, fps=12.5).fps == 12.5
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz archive"):
        read_npz_dataset(tmp_path / "junk.npz")


def test_synthetic_is_detected_by_name():
    assert detect_format("synthetic") == "synthetic"
    ds = load_dataset("synthetic", subjects=3, seed=1, duration_s=2.0)
    assert len(ds) == 3 and ds.layout.name == "infant19"


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def test_cli_check_prints_summary_and_fails_on_skipped(tmp_path, capsys):
    root = make_tracker_dir(tmp_path)
    (root / "orgcoords_b.csv").write_text("frame,nose_x\n1,abc\n")
    assert zcnas(["data", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert "recordings read: 2, skipped: 1" in out
    assert "orgcoords_b.csv: line 1" in out
    assert "classes:" in out and "subjects: 2" in out


def test_cli_convert_and_synth(tmp_path, capsys):
    assert zcnas(["data", "synth", "--out", str(tmp_path / "s"), "--subjects", "5",
                  "--duration", "2", "--format", "csv"]) == 0  # fmt: skip
    assert len(list((tmp_path / "s").glob("orgcoords_*.csv"))) == 5
    assert zcnas(["data", "convert", str(tmp_path / "s"), "--out", str(tmp_path / "s.npz")]) == 0
    ds = load_dataset(tmp_path / "s.npz")
    assert len(ds) == 5 and "trunk centre+rotation" in ds.summary.preprocessing
    capsys.readouterr()
    # With the wrong delimiter no file parses: an error naming the directory, exit code 2.
    assert zcnas(["data", "check", str(tmp_path / "s"), "-o", "delimiter=;"]) == 2
    assert "no usable recording (5 skipped" in capsys.readouterr().err
    assert zcnas(["data", "check", str(tmp_path / "s"), "-o", "bogus=1"]) == 2
    assert "does not take option(s) bogus" in capsys.readouterr().err


def test_cli_names_the_npz_inside_a_synth_directory_and_the_format_flag(tmp_path, capsys):
    assert zcnas(["data", "synth", "--out", str(tmp_path / "s"), "--subjects", "4",
                  "--duration", "2"]) == 0  # fmt: skip
    capsys.readouterr()
    assert zcnas(["data", "check", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "it holds synthetic.npz: pass that file" in err
    assert "`--format`" in err


def test_cli_convert_refuses_an_output_that_is_not_npz(tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert zcnas(["data", "convert", "synthetic", "--out", str(out)]) == 2
    assert "--out must name a .npz file, got" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "x.csv.npz").exists()
