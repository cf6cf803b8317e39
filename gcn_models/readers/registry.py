"""Registry of dataset readers (format name -> reader) and :func:`load_dataset`.

A reader turns a source (a path, or the literal ``"synthetic"``) into a raw
:class:`SkeletonDataset`. Each format also names its default preprocessing, which
:func:`load_dataset` applies unless told otherwise. Formats are detected from the path:

=================  ==========================================================
format             detected when the source is
=================  ==========================================================
``synthetic``      the literal string ``"synthetic"``
``npz``            a file ending in ``.npz``
``msr_action3d``   a directory with a ``skeleton3D/`` folder
``tracker_csv``    a directory holding ``*.csv`` files
=================  ==========================================================
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gcn_models.dataset import DataWarning, SkeletonDataset, SkippedRecording
from gcn_models.layouts import SkeletonLayout, get_layout
from gcn_models.preprocess import Preprocessing, get_preprocessing, preprocess_dataset

logger = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]


@dataclass(frozen=True)
class ReaderSpec:
    """One registered format.

    Attributes:
        name: Format name (``tracker_csv``, ...).
        read: ``read(source, *, layout, **options) -> SkeletonDataset`` returning raw data.
        detect: ``detect(source) -> bool``: whether a source looks like this format.
        default_preprocessing: Preset applied by :func:`load_dataset` by default, given the
            raw dataset.
        description: One line for ``zcnas data --help``.
    """

    name: str
    read: Callable[..., SkeletonDataset]
    detect: Callable[[str | Path], bool]
    default_preprocessing: Callable[[SkeletonDataset], Preprocessing]
    description: str = ""


_READERS: dict[str, ReaderSpec] = {}


def register_reader(spec: ReaderSpec, *, overwrite: bool = False) -> ReaderSpec:
    """Add a format to the registry; detection tries formats in registration order.

    Raises:
        ValueError: If the name is taken and ``overwrite`` is false.
    """
    if spec.name in _READERS and not overwrite:
        raise ValueError(f"reader `{spec.name}` is already registered")
    _READERS[spec.name] = spec
    return spec


def list_readers() -> list[str]:
    """Registered format names, in detection order."""
    return list(_READERS)


def get_reader(name: str) -> ReaderSpec:
    """Look a format up by name.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    try:
        return _READERS[name]
    except KeyError:
        raise ValueError(
            f"unknown data format `{name}`; valid formats: {', '.join(_READERS)}"
        ) from None


def detect_format(source: str | Path) -> str:
    """Name of the first registered format whose detector accepts ``source``.

    Raises:
        FileNotFoundError: If the source is a path that does not exist.
        ValueError: If no format recognises it.
    """
    for spec in _READERS.values():
        if spec.detect(source):
            return spec.name
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"{source}: no such file or directory (data is `synthetic`, a directory of tracker "
            "CSVs, an MSR Action3D directory or a `.npz` file)"
        )
    hint = ""
    if path.is_dir():
        archives = sorted(p.name for p in path.glob("*.npz"))
        if archives:
            hint = f"; it holds {', '.join(archives)}: pass that file ({path / archives[0]})"
    raise ValueError(
        f"{source}: cannot tell the data format; expected a directory of tracker CSVs with an "
        "outcomes file, an MSR Action3D directory with `skeleton3D/`, a `.npz` file or "
        f"`synthetic`{hint} (or name the format: `--format` on the command line, `format=` in "
        f"Python; one of: {', '.join(_READERS)})"
    )


def load_dataset(
    source: str | Path,
    *,
    format: str | None = None,
    layout: str | SkeletonLayout | None = None,
    preprocessing: Preprocessing | str | None = "default",
    **reader_options: Any,
) -> SkeletonDataset:
    """Read a dataset with the reader registered for its format, then preprocess it.

    Args:
        source: A path, or ``"synthetic"`` for the embedded generator.
        format: Format name; detected from ``source`` when ``None``.
        layout: Layout name, file or object; readers detect or default it when ``None``.
        preprocessing: ``"default"`` for the format's default (infant pipeline for 2D tracker
            and synthetic data, centring + scaling for MSR, nothing for ``.npz``), a preset
            name (``infant2d``, ``body3d``, ``none``), a :class:`Preprocessing`, or ``None``
            for the raw data.
        **reader_options: Passed to the reader (e.g. ``delimiter``, ``outcomes``,
            ``clean_only``, ``actions``, ``on_error``, ``subjects``, ``seed``).

    Returns:
        The dataset, with ``summary`` saying what was read, skipped and why.

    Raises:
        ValueError: For an unknown format, layout or reader option, and for bad input that
            the reader does not skip (the message names the file, line and field).
    """
    spec = get_reader(format) if format is not None else get_reader(detect_format(source))
    _check_options(spec, reader_options)
    resolved = get_layout(layout) if layout is not None else None
    logger.info("reading %s as %s", source, spec.name)
    ds = spec.read(source, layout=resolved, **reader_options)
    if preprocessing is None:
        return ds
    if isinstance(preprocessing, str):
        config = (
            spec.default_preprocessing(ds)
            if preprocessing == "default"
            else get_preprocessing(preprocessing, ds.layout)
        )
    else:
        config = preprocessing
    if config == Preprocessing(max_gap_s=None):
        return ds
    return preprocess_dataset(ds, config, stacklevel=3)


def _check_options(spec: ReaderSpec, options: dict[str, Any]) -> None:
    params = inspect.signature(spec.read).parameters
    allowed = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY and n != "layout"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"reader `{spec.name}` does not take option(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(allowed) or 'none'}"
        )


class ProblemLog:
    """Collects skipped recordings and issues while a reader runs, honouring ``on_error``.

    With ``on_error="raise"`` the first bad recording raises its ``ValueError``; with
    ``"skip"`` it is recorded and reading goes on. :meth:`warn` emits one
    :class:`DataWarning` summarising everything at the end.
    """

    def __init__(self, source: str | Path, on_error: OnError) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"`on_error` must be 'raise' or 'skip', got {on_error!r}")
        self.source = str(source)
        self.on_error = on_error
        self.skipped: list[SkippedRecording] = []
        self.issues: list[str] = []
        self.notes: list[str] = []

    def fail(self, recording: str, error: ValueError) -> None:
        """Handle a bad recording: re-raise, or record it as skipped."""
        if self.on_error == "raise":
            raise error
        self.skipped.append(SkippedRecording(recording, str(error)))

    def skip(self, recording: str, reason: str) -> None:
        """Record a recording left out on purpose (not an error)."""
        self.skipped.append(SkippedRecording(recording, reason, deliberate=True))

    def note(self, line: str) -> None:
        """Record a routine repair that needs no attention (no warning)."""
        self.notes.append(line)

    def issue(self, line: str) -> None:
        """Record a problem that did not stop a recording from loading."""
        self.issues.append(line)

    def warn(self, *, stacklevel: int = 4) -> None:
        """Emit one :class:`DataWarning` if anything went wrong.

        Args:
            stacklevel: The default points at the caller of :func:`load_dataset`.
        """
        errors = [s for s in self.skipped if not s.deliberate]
        if not errors and not self.issues:
            return
        example = errors[0].reason if errors else self.issues[0]
        warnings.warn(
            f"{self.source}: {len(errors)} recording(s) skipped for errors and "
            f"{len(self.issues)} issue(s), e.g. {example!r}; see `dataset.summary`",
            DataWarning,
            stacklevel=stacklevel,
        )
