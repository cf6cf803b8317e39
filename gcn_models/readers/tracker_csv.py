"""Reader for tracker CSV recordings (one file per recording) plus an outcomes table.

Layout of a dataset directory::

    data/
      orgcoords_baby01.csv      # frame,head_top_x,head_top_y,nose_x,nose_y,...
      orgcoords_baby02.csv
      outcomes.csv              # id;outcome[;subject]   (header row; delimiter configurable)

A recording file has a header row with a ``frame`` column and one ``<joint>_x`` and
``<joint>_y`` (optionally ``<joint>_z``) column per joint; columns are matched to the layout
by name, not by position. Empty cells and ``nan`` are missing values; ``inf`` is reported and
treated as missing. Frame numbers must increase; skipped frame numbers become missing frames.
The recording id is the file name without the ``.csv`` suffix and without ``prefix``.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gcn_models.dataset import LoadSummary, SkeletonDataset
from gcn_models.layouts import SkeletonLayout, get_layout, list_layouts
from gcn_models.preprocess import Preprocessing, body3d_preprocessing, infant_preprocessing
from gcn_models.readers.registry import OnError, ProblemLog, ReaderSpec, register_reader

logger = logging.getLogger(__name__)

FRAME_COLUMN = "frame"
AXES = ("x", "y", "z")
_OUTCOME_DELIMITERS = (";", ",", "\t")


@dataclass(frozen=True)
class TrackerRecording:
    """One parsed tracker CSV.

    Attributes:
        coords: float32 (C, T, V) in the file's units, NaN where missing.
        layout: The layout its columns were matched to.
        issues: Problems that did not stop parsing, prefixed with the file and line.
    """

    coords: np.ndarray
    layout: SkeletonLayout
    issues: list[str]


def _header_columns(path: Path, header: list[str]) -> tuple[int, dict[str, dict[str, int]]]:
    """Map the header to the frame column index and {joint: {axis: column index}}."""
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise ValueError(
                f"{path}: line 1: column `{name}` appears twice (columns {seen[name] + 1} and "
                f"{j + 1}); expected one column per joint coordinate"
            )
        seen[name] = j
    if FRAME_COLUMN not in seen:
        raise ValueError(
            f"{path}: line 1: no `{FRAME_COLUMN}` column; expected a header "
            f"`{FRAME_COLUMN},<joint>_x,<joint>_y,...`, got {','.join(names[:6])}..."
        )
    joints: dict[str, dict[str, int]] = {}
    for j, name in enumerate(names):
        if name == FRAME_COLUMN:
            continue
        joint, _, axis = name.rpartition("_")
        if not joint or axis not in AXES:
            raise ValueError(
                f"{path}: line 1, column {j + 1}: `{name}` is not `<joint>_x`, `<joint>_y` or "
                "`<joint>_z`"
            )
        joints.setdefault(joint, {})[axis] = j
    return seen[FRAME_COLUMN], joints


def detect_layout(path: Path, joints: Sequence[str]) -> SkeletonLayout:
    """The registered layout whose joints all appear in ``joints``; exact matches first.

    Raises:
        ValueError: If no layout is covered, naming the closest one and its missing joints.
    """
    present = set(joints)
    candidates = [get_layout(name) for name in list_layouts()]
    covered = [lay for lay in candidates if set(lay.joints) <= present]
    if covered:
        exact = [lay for lay in covered if set(lay.joints) == present]
        return exact[0] if exact else max(covered, key=lambda lay: lay.num_joints)
    closest = max(candidates, key=lambda lay: len(set(lay.joints) & present))
    missing = [j for j in closest.joints if j not in present]
    raise ValueError(
        f"{path}: line 1: the joint columns match no registered layout; closest is "
        f"`{closest.name}`, which also needs {', '.join(f'{j}_x/_y' for j in missing[:8])}"
        f"{' ...' if len(missing) > 8 else ''} (pass layout= or register a layout file)"
    )


def _parse_cell(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if text == "" or text.lower() == "nan":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{path}: line {line}, column `{column}`: expected a number, got {cell!r}"
        ) from None


def read_tracker_csv(
    path: str | Path,
    *,
    layout: SkeletonLayout | None = None,
    delimiter: str = ",",
    frame_aspect: float = 1.0,
) -> TrackerRecording:
    """Parse one tracker CSV into (C, T, V) coordinates ordered as the layout's joints.

    Args:
        path: The CSV file.
        layout: Layout to match columns to; detected from the joint columns when ``None``.
        delimiter: Field separator.
        frame_aspect: Video width / height. Trackers write x / width and y / height; x is
            multiplied by this so that both axes are in units of the frame height and angles
            and lengths are not distorted (1.0 leaves x unchanged).

    Raises:
        ValueError: For an empty file, a missing ``frame`` column, missing or duplicated
            joint columns, a wrong number of fields, a non-numeric cell or non-increasing frame
            numbers; the message names the file, line and column.
    """
    path = Path(path)
    with path.open(newline="") as handle:
        rows = [(n, row) for n, row in enumerate(csv.reader(handle, delimiter=delimiter), 1)]
    rows = [(n, row) for n, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(
            f"{path}: file is empty; expected a header `frame,<joint>_x,<joint>_y,...` and one "
            "row per frame"
        )
    header_line, header = rows[0]
    frame_col, joint_cols = _header_columns(path, header)
    if layout is None:
        layout = detect_layout(path, list(joint_cols))
    missing = [j for j in layout.joints if j not in joint_cols]
    if missing:
        raise ValueError(
            f"{path}: line {header_line}: layout `{layout.name}` needs columns for joint(s) "
            f"{', '.join(missing)}; they are missing"
        )
    axes = [a for a in AXES if a in joint_cols[layout.joints[0]]]
    if axes not in (["x", "y"], ["x", "y", "z"]):
        raise ValueError(
            f"{path}: line {header_line}: joint `{layout.joints[0]}` has columns for axes "
            f"{axes}; expected x and y (and optionally z)"
        )
    for joint in layout.joints:
        have = [a for a in AXES if a in joint_cols[joint]]
        if have != axes:
            need = ", ".join(f"`{joint}_{a}`" for a in axes if a not in have)
            raise ValueError(
                f"{path}: line {header_line}: joint `{joint}` has columns for axes {have}, "
                f"expected {axes}" + (f" (missing {need})" if need else "")
            )
    issues: list[str] = []
    extra = sorted(set(joint_cols) - set(layout.joints))
    if extra:
        issues.append(
            f"{path}: line {header_line}: columns of joint(s) not in layout `{layout.name}` "
            f"ignored: {', '.join(extra)}"
        )

    columns = [[joint_cols[j][a] for j in layout.joints] for a in axes]  # (C, V) column indices
    names = [h.strip() for h in header]
    width = len(header)
    frames: list[int] = []
    values: list[list[float]] = []
    for line, row in rows[1:]:
        if len(row) != width:
            raise ValueError(
                f"{path}: line {line}: {len(row)} fields, expected {width} as in the header"
            )
        try:
            numbers = [float(cell) for cell in row]
        except ValueError:
            numbers = [_parse_cell(path, line, names[j], cell) for j, cell in enumerate(row)]
        frame = numbers[frame_col]
        if not math.isfinite(frame) or frame != int(frame):
            raise ValueError(
                f"{path}: line {line}, column `{FRAME_COLUMN}`: expected an integer frame "
                f"number, got {row[frame_col]!r}"
            )
        if frames and frame <= frames[-1]:
            raise ValueError(
                f"{path}: line {line}, column `{FRAME_COLUMN}`: frame numbers must increase; "
                f"{int(frame)} follows {frames[-1]}"
            )
        infinite = [names[j] for j, v in enumerate(numbers) if math.isinf(v)]
        if infinite:
            issues.append(
                f"{path}: line {line}: infinite value in column(s) {', '.join(infinite)}: "
                "treated as missing"
            )
        frames.append(int(frame))
        values.append(numbers)
    if not values:
        raise ValueError(f"{path}: no data rows after the header; expected one row per frame")

    table = np.asarray(values, dtype=np.float64)  # (T_rows, columns)
    table[np.isinf(table)] = np.nan
    coords_rows = np.stack([table[:, cols] for cols in columns])  # (C, T_rows, V)
    frame_index = np.asarray(frames) - frames[0]
    t = int(frame_index[-1]) + 1
    coords = np.full((len(axes), t, layout.num_joints), np.nan)
    coords[:, frame_index] = coords_rows
    coords[0] *= frame_aspect
    if t != len(frames):
        issues.append(
            f"{path}: frame numbers skip {t - len(frames)} frame(s) between {frames[0]} and "
            f"{frames[-1]}: those frames are missing"
        )
    return TrackerRecording(coords.astype(np.float32), layout, issues)


@dataclass(frozen=True)
class Outcome:
    """One row of the outcomes table.

    Attributes:
        label: Class index.
        subject: Subject id (the recording id unless the table has a ``subject`` column).
        line: Line number in the outcomes file.
    """

    label: int
    subject: str
    line: int


def _sniff_delimiter(path: Path, header: str) -> str:
    for candidate in _OUTCOME_DELIMITERS:
        if candidate in header:
            return candidate
    raise ValueError(
        f"{path}: line 1: cannot find a delimiter (tried "
        f"{', '.join(map(repr, _OUTCOME_DELIMITERS))}); expected a header like `id;outcome`"
    )


def read_outcomes(
    path: str | Path,
    *,
    delimiter: str | None = None,
    classes: Sequence[str] = ("0", "1"),
    log: ProblemLog | None = None,
) -> dict[str, Outcome]:
    """Parse an outcomes table: a header row, then ``id``, ``outcome`` and optional ``subject``.

    Columns are found by the header names ``id``, ``outcome`` and ``subject``
    (case-insensitive); without those names the first two columns are id and outcome.

    Args:
        path: The outcomes file.
        delimiter: Field separator; detected from the header (``;``, ``,``, tab) when ``None``.
        classes: The allowed outcome values; the position of a value is its class index.
        log: With ``on_error="skip"``, bad rows are recorded here instead of raising.

    Raises:
        ValueError: For an empty file, a missing column, a duplicated id or an outcome outside
            ``classes``, naming the file, line and column.
    """
    path = Path(path)
    text = path.read_text()
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise ValueError(f"{path}: outcomes file is empty; expected a header `id;outcome`")
    sep = delimiter if delimiter is not None else _sniff_delimiter(path, lines[0][1])
    header = [h.strip().lower() for h in next(csv.reader([lines[0][1]], delimiter=sep))]
    if "id" in header and "outcome" in header:
        id_col, out_col = header.index("id"), header.index("outcome")
    elif len(header) >= 2:
        id_col, out_col = 0, 1
        logger.info("%s: no `id`/`outcome` header names; using columns 1 and 2", path)
    else:
        raise ValueError(
            f"{path}: line {lines[0][0]}: header has {len(header)} column(s) with delimiter "
            f"{sep!r}; expected at least `id` and `outcome`"
        )
    subject_col = header.index("subject") if "subject" in header else None
    allowed = [str(c) for c in classes]
    outcomes: dict[str, Outcome] = {}
    for line, raw in lines[1:]:
        row = [cell.strip() for cell in next(csv.reader([raw], delimiter=sep))]
        need = max(id_col, out_col, subject_col or 0) + 1
        try:
            if len(row) < need:
                raise ValueError(
                    f"{path}: line {line}: {len(row)} field(s), expected at least {need} "
                    f"(delimiter {sep!r})"
                )
            rec_id, value = row[id_col], row[out_col]
            if rec_id in outcomes:
                raise ValueError(
                    f"{path}: line {line}, column `id`: id `{rec_id}` already given on line "
                    f"{outcomes[rec_id].line}"
                )
            if value not in allowed:
                raise ValueError(
                    f"{path}: line {line}, column `outcome`: expected one of "
                    f"{', '.join(allowed)}, got {value!r}"
                )
        except ValueError as exc:
            if log is None:
                raise
            log.fail(f"{path}:{line}", exc)
            continue
        subject = row[subject_col] if subject_col is not None and row[subject_col] else rec_id
        outcomes[rec_id] = Outcome(allowed.index(value), subject, line)
    return outcomes


def recording_id(path: Path, prefix: str) -> str:
    """The recording id of a CSV file: its stem without ``prefix``."""
    stem = path.stem
    return stem[len(prefix) :] if prefix and stem.startswith(prefix) else stem


def read_tracker_dataset(
    source: str | Path,
    *,
    layout: SkeletonLayout | None = None,
    outcomes: str | Path = "outcomes.csv",
    delimiter: str = ",",
    outcomes_delimiter: str | None = None,
    classes: Sequence[str] = ("0", "1"),
    prefix: str = "orgcoords_",
    fps: float = 30.0,
    frame_aspect: float = 1.0,
    on_error: OnError = "skip",
) -> SkeletonDataset:
    """Read a directory of tracker CSVs and its outcomes table (raw, not preprocessed).

    Args:
        source: The directory.
        layout: Layout of all recordings; detected from the first file's columns when ``None``.
        outcomes: Outcomes file, relative to ``source`` or absolute.
        delimiter: Field separator of the recording CSVs.
        outcomes_delimiter: Field separator of the outcomes file (detected when ``None``).
        classes: Allowed outcome values, in class-index order; they are the class names.
        prefix: File-name prefix stripped to get the recording id.
        fps: Frame rate of the recordings in frames per second.
        frame_aspect: Video width / height; x is multiplied by it (see :func:`read_tracker_csv`).
        on_error: ``"skip"`` to skip bad recordings (listed in the summary, one warning) or
            ``"raise"`` to stop at the first one.

    Raises:
        ValueError: If the directory or outcomes file is missing, or no recording is usable.
    """
    # TODO(zcnas): one frame rate for all recordings; per-recording rates (an `fps` column in
    # the outcomes table, resampled on reading) would cover mixed cameras.
    root = Path(source)
    if not root.is_dir():
        raise ValueError(f"{root}: expected a directory of tracker CSV files")
    if not frame_aspect > 0:
        raise ValueError(f"`frame_aspect` (width / height) must be positive, got {frame_aspect}")
    outcomes_path = Path(outcomes) if Path(outcomes).is_absolute() else root / outcomes
    if not outcomes_path.is_file():
        raise ValueError(
            f"{outcomes_path}: outcomes file not found; expected a table `id;outcome` "
            "(set `outcomes=` to its name)"
        )
    log = ProblemLog(root, on_error)
    table = read_outcomes(outcomes_path, delimiter=outcomes_delimiter, classes=classes, log=log)
    files = sorted(p for p in root.glob("*.csv") if p.resolve() != outcomes_path.resolve())
    if not files:
        raise ValueError(f"{root}: no recording `*.csv` files besides {outcomes_path.name}")

    sequences: list[np.ndarray] = []
    labels: list[int] = []
    subjects: list[str] = []
    ids: list[str] = []
    num_coords: int | None = None
    for file in files:
        rec = recording_id(file, prefix)
        if rec not in table:
            log.fail(
                str(file),
                ValueError(f"{file}: recording `{rec}` has no row in {outcomes_path.name}"),
            )
            continue
        try:
            parsed = read_tracker_csv(
                file, layout=layout, delimiter=delimiter, frame_aspect=frame_aspect
            )
            if num_coords is not None and parsed.coords.shape[0] != num_coords:
                raise ValueError(
                    f"{file}: {parsed.coords.shape[0]} coordinates per joint, but earlier files "
                    f"have {num_coords}"
                )
        except ValueError as exc:
            log.fail(str(file), exc)
            continue
        layout = parsed.layout
        num_coords = parsed.coords.shape[0]
        for issue in parsed.issues:
            log.issue(issue)
        sequences.append(parsed.coords)
        labels.append(table[rec].label)
        subjects.append(table[rec].subject)
        ids.append(rec)
    orphans = sorted(set(table) - {recording_id(f, prefix) for f in files})
    for rec in orphans:
        log.issue(
            f"{outcomes_path}: line {table[rec].line}: outcome id `{rec}` has no recording "
            f"`{prefix}{rec}.csv`"
        )
    if not sequences or layout is None:
        reasons = "; ".join(s.reason for s in log.skipped[:3])
        raise ValueError(f"{root}: no usable recording ({len(log.skipped)} skipped: {reasons})")
    log.warn()
    summary = LoadSummary(
        str(root),
        "tracker_csv",
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
        [str(c) for c in classes],
        summary,
    )


def write_tracker_dataset(
    ds: SkeletonDataset,
    out_dir: str | Path,
    *,
    prefix: str = "orgcoords_",
    outcomes: str = "outcomes.csv",
) -> Path:
    """Write a dataset as tracker CSVs plus a semicolon-separated outcomes table.

    Each recording becomes ``<prefix><id>.csv`` with a 1-based ``frame`` column and
    ``<joint>_x``, ``<joint>_y`` (and ``_z``) columns; missing values are empty cells. The
    outcomes table has the columns ``id;outcome;subject`` with the class names as outcomes, so
    :func:`read_tracker_dataset` with ``classes=ds.class_names`` reads it back.

    Returns:
        The directory written.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    axes = AXES[: ds.num_coords]
    header = [FRAME_COLUMN] + [f"{j}_{a}" for j in ds.layout.joints for a in axes]
    for rec, seq in zip(ds.ids, ds.sequences, strict=True):
        table = seq.transpose(1, 2, 0).reshape(seq.shape[1], -1)  # (T, V*C), joint-major
        with (root / f"{prefix}{rec}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for t, row in enumerate(table, 1):
                writer.writerow([t, *("" if np.isnan(v) else f"{v:.6f}" for v in row)])
    with (root / outcomes).open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["id", "outcome", "subject"])
        for rec, label, subject in zip(ds.ids, ds.labels, ds.subjects, strict=True):
            writer.writerow([rec, ds.class_names[label], subject])
    logger.info("wrote %d tracker CSVs and %s to %s", len(ds), outcomes, root)
    return root


def _looks_like_tracker_dir(source: str | Path) -> bool:
    path = Path(source)
    return path.is_dir() and any(path.glob("*.csv")) and not (path / "skeleton3D").is_dir()


def _default_preprocessing(ds: SkeletonDataset) -> Preprocessing:
    if ds.num_coords == 2:
        return infant_preprocessing()
    return body3d_preprocessing(ds.layout)


register_reader(
    ReaderSpec(
        name="tracker_csv",
        read=read_tracker_dataset,
        detect=_looks_like_tracker_dir,
        default_preprocessing=_default_preprocessing,
        description="directory of per-recording tracker CSVs plus an outcomes table",
    )
)
