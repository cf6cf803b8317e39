"""The canonical NumPy ``.npz`` format that any dataset can be converted to.

Arrays in the archive (no pickled objects):

==================  ===================  =====================================================
key                 shape / dtype        meaning
==================  ===================  =====================================================
``X``               (N, C, T, V) float32 coordinates, NaN-padded after each recording's end
``lengths``         (N,) int64           frames T_i of each recording
``y``               (N,) int64           class index
``subject``         (N,) str             subject id
``ids``             (N,) str             recording id (optional; ``rec<i>`` when absent)
``class_names``     (K,) str             class names (optional; ``"0".."K-1"`` when absent)
``fps``             () float64           frame rate in frames per second
``layout``          () str               layout name
``layout_json``     () str               the full layout (optional; used if the name is unknown)
``preprocessing``   () str               description of the preprocessing already applied
==================  ===================  =====================================================
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from gcn_models.dataset import LoadSummary, SkeletonDataset
from gcn_models.layouts import SkeletonLayout, get_layout, layout_from_dict
from gcn_models.preprocess import Preprocessing, no_preprocessing
from gcn_models.readers.registry import ReaderSpec, register_reader

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
REQUIRED_KEYS = ("X", "lengths", "y", "subject")


def save_npz(ds: SkeletonDataset, path: str | Path) -> Path:
    """Write a dataset to the canonical ``.npz`` format (compressed).

    Returns:
        The path written (``.npz`` appended when missing).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        X=ds.to_padded(),
        lengths=ds.lengths,
        y=ds.labels,
        subject=np.asarray(ds.subjects, dtype=str),
        ids=np.asarray(ds.ids, dtype=str),
        class_names=np.asarray(ds.class_names, dtype=str),
        fps=np.float64(ds.fps),
        layout=np.str_(ds.layout.name),
        layout_json=np.str_(json.dumps(ds.layout.to_dict())),
        preprocessing=np.str_(ds.summary.preprocessing or "none"),
        format_version=np.int64(FORMAT_VERSION),
    )
    logger.info("wrote %d recordings to %s", len(ds), path)
    return path


def _layout_from_archive(path: Path, data: np.lib.npyio.NpzFile) -> SkeletonLayout:
    if "layout" not in data.files:
        raise ValueError(f"{path}: field `layout` is missing; expected the layout name")
    name = str(data["layout"])
    try:
        return get_layout(name)
    except ValueError:
        if "layout_json" not in data.files:
            raise ValueError(
                f"{path}: field `layout`: unknown layout `{name}` and no `layout_json`; "
                "register the layout or pass layout="
            ) from None
    return layout_from_dict(json.loads(str(data["layout_json"])), source=f"{path}:layout_json")


def read_npz_dataset(
    source: str | Path, *, layout: SkeletonLayout | None = None, fps: float | None = None
) -> SkeletonDataset:
    """Read a canonical ``.npz`` archive.

    Args:
        source: The ``.npz`` file.
        layout: Overrides the stored layout (it must have the stored number of joints).
        fps: Frame rate to use when the archive has no ``fps`` field.

    Raises:
        ValueError: If the file is not an archive, a required field is missing, or shapes and
            values disagree (the message names the file and field).
    """
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable .npz archive ({exc})") from exc
    with data:
        missing = [k for k in REQUIRED_KEYS if k not in data.files]
        if missing:
            raise ValueError(
                f"{path}: field(s) {', '.join(f'`{k}`' for k in missing)} missing; expected "
                f"{', '.join(REQUIRED_KEYS)}"
            )
        x = np.asarray(data["X"], dtype=np.float32)
        if x.ndim != 4 or x.shape[1] not in (2, 3):
            raise ValueError(f"{path}: field `X` has shape {x.shape}, expected (N, C=2|3, T, V)")
        n, _, t_max, v = x.shape
        lengths = _int_field(path, data, "lengths", n)
        labels = _int_field(path, data, "y", n)
        if lengths.size and (lengths.min() < 1 or lengths.max() > t_max):
            raise ValueError(f"{path}: field `lengths` must lie in 1..{t_max} (T of `X`)")
        subjects = np.asarray(data["subject"]).astype(str)
        if subjects.shape != (n,):
            raise ValueError(
                f"{path}: field `subject` has shape {subjects.shape}, expected ({n},)"
            )
        ids = (
            [str(i) for i in data["ids"]] if "ids" in data.files else [f"rec{i}" for i in range(n)]
        )
        k = int(labels.max()) + 1 if labels.size else 0
        class_names = (
            [str(c) for c in data["class_names"]]
            if "class_names" in data.files
            else [str(c) for c in range(k)]
        )
        if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise ValueError(
                f"{path}: field `y` must hold class indices 0..{len(class_names) - 1} "
                f"(one per class name), got {sorted(set(labels.tolist()))}"
            )
        if "fps" in data.files:
            fps = float(data["fps"])
        elif fps is None:
            raise ValueError(f"{path}: field `fps` is missing; pass fps= (frames per second)")
        stored = _layout_from_archive(path, data) if layout is None else layout
        if stored.num_joints != v:
            raise ValueError(
                f"{path}: `X` has V = {v} joints but layout `{stored.name}` has "
                f"{stored.num_joints}"
            )
        preprocessing = str(data["preprocessing"]) if "preprocessing" in data.files else ""
    sequences = [x[i, :, : lengths[i]] for i in range(n)]
    summary = LoadSummary(str(path), "npz", read=n, preprocessing=preprocessing)
    return SkeletonDataset(sequences, labels, subjects, ids, stored, fps, class_names, summary)


def _int_field(path: Path, data: np.lib.npyio.NpzFile, key: str, n: int) -> np.ndarray:
    values = np.asarray(data[key])
    if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"{path}: field `{key}` has shape {values.shape} and dtype {values.dtype}, "
            f"expected ({n},) integers (one per recording in `X`)"
        )
    return values.astype(np.int64)


def _default_preprocessing(ds: SkeletonDataset) -> Preprocessing:
    # Archives written by `zcnas data convert` are already preprocessed.
    return no_preprocessing()


register_reader(
    ReaderSpec(
        name="npz",
        read=read_npz_dataset,
        detect=lambda source: str(source).endswith(".npz"),
        default_preprocessing=_default_preprocessing,
        description="canonical NumPy archive (X, lengths, y, subject, layout)",
    )
)
