"""Reader for the MSR Action3D skeleton text format (20 joints, 3D, about 15 fps).

A dataset directory holds ``skeleton3D/aAA_sSS_eEE_skeleton3D.txt`` (action AA, subject SS,
repetition EE) and optionally the clean list ``files_used_in_cvpr12_paper.txt``. Every file
is plain text with 4 whitespace-separated numbers ``x y z c`` per row and 20 consecutive rows
(joints in Kinect-v1 order, layout ``kinect20``) per frame; x, y, z are metres (y up), the
confidence ``c`` is not used. Frames whose 20 joints are all exactly zero are untracked and
become missing (NaN).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gcn_models.dataset import LoadSummary, SkeletonDataset
from gcn_models.layouts import SkeletonLayout, get_layout
from gcn_models.preprocess import body3d_preprocessing
from gcn_models.readers.registry import OnError, ProblemLog, ReaderSpec, register_reader

logger = logging.getLogger(__name__)

JOINTS_PER_FRAME = 20
FIELDS = ("x", "y", "z", "c")
CLEAN_LIST = "files_used_in_cvpr12_paper.txt"
FILE_PATTERN = re.compile(r"^a(\d{2})_s(\d{2})_e(\d{2})_skeleton3D\.txt$")
MSR_FPS = 15.0

# Action number (1-based, `AA` in the file name) -> class name.
ACTION_NAMES: dict[int, str] = {
    1: "high_arm_wave", 2: "horizontal_arm_wave", 3: "hammer", 4: "hand_catch",
    5: "forward_punch", 6: "high_throw", 7: "draw_x", 8: "draw_tick", 9: "draw_circle",
    10: "hand_clap", 11: "two_hand_wave", 12: "side_boxing", 13: "bend", 14: "forward_kick",
    15: "side_kick", 16: "jogging", 17: "tennis_swing", 18: "tennis_serve", 19: "golf_swing",
    20: "pick_up_and_throw",
}  # fmt: skip

# Standard cross-subject protocol (Li et al. 2010): odd subjects train, even subjects test.
CROSS_SUBJECT_TRAIN = ("s01", "s03", "s05", "s07", "s09")
CROSS_SUBJECT_TEST = ("s02", "s04", "s06", "s08", "s10")


def _diagnose(path: Path, text: str) -> None:
    """Raise a ValueError naming the first malformed line of an MSR skeleton file."""
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(FIELDS):
            raise ValueError(f"{path}: line {n}: {len(fields)} values, expected 4 (`x y z c`)")
        for j, cell in enumerate(fields):
            try:
                float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}: line {n}, column {j + 1} ({FIELDS[j]}): expected a number, "
                    f"got {cell!r}"
                ) from None


def read_msr_file(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Parse one MSR Action3D skeleton file.

    Returns:
        float32 coordinates (3, T, 20) in metres (NaN for untracked all-zero frames) and
        notes on what was repaired.

    Raises:
        ValueError: For an empty file, a row without 4 numbers, a row count that is not a
            multiple of 20, or a file whose coordinates are all zero; the message names the
            file and line.
    """
    path = Path(path)
    text = path.read_text()
    if not text.strip():
        raise ValueError(f"{path}: file is empty; expected 20 rows of `x y z c` per frame")
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError:
        _diagnose(path, text)
        raise
    if table.shape[1] != len(FIELDS):
        _diagnose(path, text)
    rows = table.shape[0]
    if rows % JOINTS_PER_FRAME:
        complete = rows - rows % JOINTS_PER_FRAME
        raise ValueError(
            f"{path}: {rows} rows is not a multiple of {JOINTS_PER_FRAME} (one row per joint, "
            f"{JOINTS_PER_FRAME} joints per frame); the frame starting at row {complete + 1} "
            f"has only {rows % JOINTS_PER_FRAME} rows"
        )
    xyz = table[:, :3].reshape(-1, JOINTS_PER_FRAME, 3)  # (T, V, 3)
    if not np.any(xyz):
        raise ValueError(f"{path}: all coordinates are zero (no skeleton was tracked)")
    notes: list[str] = []
    untracked = ~xyz.any(axis=(1, 2))
    if untracked.any():
        xyz = xyz.copy()
        xyz[untracked] = np.nan
        notes.append(f"{path}: {int(untracked.sum())} all-zero frame(s) treated as missing")
    return xyz.transpose(2, 0, 1).astype(np.float32), notes


def _read_clean_list(path: Path) -> set[str]:
    return set(path.read_text().split())  # split() also strips the CRLF line ends


def read_msr_dataset(
    source: str | Path,
    *,
    layout: SkeletonLayout | None = None,
    clean_only: bool = True,
    clean_list: str = CLEAN_LIST,
    actions: Sequence[int] | None = None,
    fps: float = MSR_FPS,
    on_error: OnError = "skip",
) -> SkeletonDataset:
    """Read an MSR Action3D directory (raw metres, not preprocessed).

    Args:
        source: Directory holding ``skeleton3D/``.
        layout: A 20-joint layout in MSR row order; ``kinect20`` when ``None``.
        clean_only: Keep only the sequences in the clean list (557 of 567).
        clean_list: File name of the clean list inside ``source``.
        actions: Action numbers (1..20) to keep, e.g. ``[1, 14]``; all when ``None``. Labels
            are the positions of the kept actions in sorted order.
        fps: Frame rate in frames per second.
        on_error: ``"skip"`` bad files (listed in the summary) or ``"raise"``.

    Raises:
        ValueError: For a missing ``skeleton3D/`` folder or clean list, an invalid action
            number, a layout without 20 joints, or no usable file.
    """
    root = Path(source)
    folder = root / "skeleton3D"
    if not folder.is_dir():
        raise ValueError(f"{root}: expected a folder `skeleton3D/` of MSR Action3D files")
    layout = layout if layout is not None else get_layout("kinect20")
    if layout.num_joints != JOINTS_PER_FRAME:
        raise ValueError(
            f"layout `{layout.name}` has {layout.num_joints} joints; MSR Action3D files have "
            f"{JOINTS_PER_FRAME} per frame (use `kinect20`)"
        )
    selected = sorted(set(actions)) if actions is not None else sorted(ACTION_NAMES)
    bad = [a for a in selected if a not in ACTION_NAMES]
    if bad or not selected:
        raise ValueError(f"`actions` must be numbers in 1..20, got {list(actions or [])}")
    keep: set[str] | None = None
    if clean_only:
        list_path = root / clean_list
        if not list_path.is_file():
            raise ValueError(
                f"{list_path}: clean list not found; pass clean_only=False to read every file"
            )
        keep = _read_clean_list(list_path)

    log = ProblemLog(root, on_error)
    sequences: list[np.ndarray] = []
    labels: list[int] = []
    subjects: list[str] = []
    ids: list[str] = []
    for file in sorted(folder.iterdir()):
        match = FILE_PATTERN.match(file.name)
        if match is None:
            log.fail(
                str(file),
                ValueError(f"{file}: name is not `aAA_sSS_eEE_skeleton3D.txt`"),
            )
            continue
        action, subject, _ = (int(g) for g in match.groups())
        rec = file.name.removesuffix("_skeleton3D.txt")
        if keep is not None and rec not in keep:
            log.skip(str(file), f"not in the clean list {clean_list}")
            continue
        if action not in selected:
            log.skip(str(file), f"not selected: action {action}")
            continue
        try:
            coords, notes = read_msr_file(file)
        except ValueError as exc:
            log.fail(str(file), exc)
            continue
        for note in notes:
            log.note(note)
        sequences.append(coords)
        labels.append(selected.index(action))
        subjects.append(f"s{subject:02d}")
        ids.append(rec)
    if not sequences:
        raise ValueError(f"{folder}: no usable MSR Action3D file ({len(log.skipped)} skipped)")
    log.warn()
    summary = LoadSummary(
        str(root),
        "msr_action3d",
        read=len(sequences),
        skipped=log.skipped,
        issues=log.issues,
        notes=log.notes,
    )
    return SkeletonDataset(
        sequences,
        np.asarray(labels),
        np.asarray(subjects),
        ids,
        layout,
        fps,
        [ACTION_NAMES[a] for a in selected],
        summary,
    )


def _looks_like_msr(source: str | Path) -> bool:
    return Path(source).is_dir() and (Path(source) / "skeleton3D").is_dir()


register_reader(
    ReaderSpec(
        name="msr_action3d",
        read=read_msr_dataset,
        detect=_looks_like_msr,
        default_preprocessing=lambda ds: body3d_preprocessing(ds.layout),
        description="MSR Action3D `skeleton3D/` text files (20 rows `x y z c` per frame)",
    )
)
