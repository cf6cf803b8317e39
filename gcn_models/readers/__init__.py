"""Dataset readers: a registry keyed by format name, and :func:`load_dataset`.

Importing this package registers the built-in formats ``msr_action3d``, ``npz``,
``synthetic`` and ``tracker_csv`` (their detectors exclude each other, so order is moot).
"""

from gcn_models.readers import msr_action3d as _msr  # noqa: F401 - registers
from gcn_models.readers import npz as _npz  # noqa: F401 - registers
from gcn_models.readers import synthetic_reader as _synthetic_reader  # noqa: F401 - registers
from gcn_models.readers import tracker_csv as _tracker_csv  # noqa: F401 - registers
from gcn_models.readers.npz import read_npz_dataset, save_npz
from gcn_models.readers.registry import (
    ReaderSpec,
    detect_format,
    get_reader,
    list_readers,
    load_dataset,
    register_reader,
)

__all__ = [
    "ReaderSpec",
    "detect_format",
    "get_reader",
    "list_readers",
    "load_dataset",
    "read_npz_dataset",
    "register_reader",
    "save_npz",
]
