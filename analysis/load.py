"""Read result sets (one Parquet file per trial) into one pandas table.

A result set is written as ``<root>/<study>/trials/trial-<id>.parquet`` plus a
``<root>/<study>/study.json`` metadata file. :func:`load_results` accepts a directory at any
level (a root holding several studies, one study, or its ``trials`` folder), single Parquet
files, and URIs such as ``s3://bucket/root`` (through ``pyarrow.fs.FileSystem.from_uri``).
Hidden files (names starting with ``.`` or ``_``, e.g. half-written temporary files) are
ignored, as are non-Parquet files inside directories.

Conditional search-space choices make columns come and go between files, so the per-file
schemas are unified (``promote_options="permissive"``: int64 and double become double, a
column of nulls takes the type of the other files) before the files are read as one
``pyarrow.dataset``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from analysis.columns import REQUIRED_COLUMNS, expected_kind, proxy_names

logger = logging.getLogger(__name__)

PARQUET_SUFFIX = ".parquet"
HIDDEN_PREFIXES = (".", "_")
#: Column added by the loader: where each row was read from (path or URI).
SOURCE_COLUMN = "source_file"

PathLike = str | os.PathLike


@dataclass(frozen=True)
class _ResultFile:
    """One Parquet file to read.

    Attributes:
        filesystem: The pyarrow filesystem holding the file.
        path: Path of the file inside ``filesystem``.
        display: Path or URI shown to users and stored in ``source_file``.
    """

    filesystem: pafs.FileSystem
    path: str
    display: str


def load_results(paths: PathLike | Sequence[PathLike]) -> pd.DataFrame:
    """Read one or more result directories or files into one table, one row per trial.

    Args:
        paths: A path or URI, or a sequence of them. Each may be a directory (searched
            recursively for ``*.parquet``) or a Parquet file.

    Returns:
        All rows of all files. Columns are the union over files (missing ones are null), plus
        ``source_file`` (where the row came from). ``study`` is derived from the directory name
        (``<study>/trials/trial-*.parquet``, ``study=<name>/`` or the parent folder) where
        the files lack it or hold nulls.

    Raises:
        FileNotFoundError: A path does not exist, or a directory holds no Parquet file.
        ValueError: A file is not Parquet, lacks a required column, holds a known column with
            the wrong type, or two files disagree on a column's type; the message names the
            file and the column.
    """
    inputs = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not inputs:
        raise ValueError("no result path given: pass at least one directory or Parquet file")

    files = _unique(file for item in inputs for file in _discover(item))
    # TODO(zcnas): read footers in a thread pool; one file per trial reads ~200-500 files/s
    # here, so 100,000 trial files take minutes (compacting them into shards avoids that).
    schemas = [_read_schema(file) for file in files]
    _check_file_schemas(files, schemas)
    unified = _unify(files, schemas)

    table = _read_all(files, unified)
    frame = table.to_pandas()
    frame = _fill_study(frame)
    logger.info(
        "read %d rows from %d files (%d studies)",
        len(frame),
        len(files),
        frame["study"].nunique(dropna=True),
    )
    return frame


def _discover(item: PathLike) -> list[_ResultFile]:
    """Return the Parquet files named by one path, URI or directory."""
    text = os.fspath(item)
    if "://" in text:
        filesystem, root = pafs.FileSystem.from_uri(text)
        scheme = text[: text.index("://") + 3]
    else:
        filesystem = pafs.LocalFileSystem()
        root = os.path.abspath(os.path.expanduser(text))
        scheme = ""

    info = filesystem.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{text}: no such file or directory")
    if info.type == pafs.FileType.File:
        return [_ResultFile(filesystem, root, scheme + root)]

    selector = pafs.FileSelector(root, recursive=True)
    found = []
    for entry in filesystem.get_file_info(selector):
        if entry.type != pafs.FileType.File or not entry.path.endswith(PARQUET_SUFFIX):
            continue
        relative = PurePosixPath(entry.path).relative_to(PurePosixPath(root))
        if any(part.startswith(HIDDEN_PREFIXES) for part in relative.parts):
            continue
        found.append(_ResultFile(filesystem, entry.path, scheme + entry.path))
    if not found:
        raise FileNotFoundError(
            f"{text}: no Parquet result files (*{PARQUET_SUFFIX}) in this directory or below"
        )
    return sorted(found, key=lambda file: file.display)


def _unique(files) -> list[_ResultFile]:
    """Drop files reached twice (e.g. a root and one of its studies were both given)."""
    seen: dict[tuple[str, str], _ResultFile] = {}
    for file in files:
        seen.setdefault((file.filesystem.type_name, file.path), file)
    return list(seen.values())


def _read_schema(file: _ResultFile) -> pa.Schema:
    """Read one file's schema from its footer; raise a ValueError naming a non-Parquet file."""
    try:
        fragment = pads.ParquetFileFormat().make_fragment(file.path, file.filesystem)
        return fragment.physical_schema
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{file.display}: not a readable Parquet file ({exc})") from exc


def _type_kind(data_type: pa.DataType) -> str:
    """Classify an Arrow type as numeric, text, integer-like, time, null or other."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if pa.types.is_null(data_type):
        return "null"
    if pa.types.is_integer(data_type):
        return "integer"
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "numeric"
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    ):
        return "text"
    if pa.types.is_timestamp(data_type) or pa.types.is_date(data_type):
        return "time"
    return "other"


#: Arrow type kinds accepted for each expected column kind (null is always accepted).
_ACCEPTED_KINDS: dict[str, frozenset[str]] = {
    "numeric": frozenset({"integer", "numeric"}),
    "text": frozenset({"text"}),
    "id": frozenset({"text", "integer"}),
    "time": frozenset({"time", "text", "integer", "numeric"}),
}

_KIND_WORDS: dict[str, str] = {
    "numeric": "numbers (integer or floating point)",
    "text": "text",
    "id": "text or integers",
    "time": "timestamps, ISO text or epoch seconds",
}


def _check_file_schemas(files: list[_ResultFile], schemas: list[pa.Schema]) -> None:
    """Raise a ValueError naming the file and column of the first schema problem."""
    proxies = proxy_names({name for schema in schemas for name in schema.names})
    first_file: dict[pa.Schema, _ResultFile] = {}
    for file, schema in zip(files, schemas, strict=True):
        first_file.setdefault(schema, file)  # identical schemas are checked once
    for schema, file in first_file.items():
        for column in REQUIRED_COLUMNS:
            if column not in schema.names:
                raise ValueError(
                    f"{file.display}: column `{column}` is missing; every result file needs "
                    f"{', '.join(f'`{c}`' for c in REQUIRED_COLUMNS)}"
                )
        for field in schema:
            expected = expected_kind(field.name, proxies)
            if expected is None:
                continue
            actual = _type_kind(field.type)
            if actual != "null" and actual not in _ACCEPTED_KINDS[expected]:
                raise ValueError(
                    f"{file.display}: column `{field.name}` has type {field.type}, expected "
                    f"{_KIND_WORDS[expected]}"
                )


def _unify(files: list[_ResultFile], schemas: list[pa.Schema]) -> pa.Schema:
    """Unify the per-file schemas; on a conflict, name the column and two files."""
    distinct = list(dict.fromkeys(schemas))
    try:
        return pa.unify_schemas(distinct, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        first_seen: dict[str, tuple[pa.DataType, str]] = {}
        for file, schema in zip(files, schemas, strict=True):
            for field in schema:
                if _type_kind(field.type) == "null":
                    continue
                if field.name not in first_seen:
                    first_seen[field.name] = (field.type, file.display)
                    continue
                seen_type, seen_file = first_seen[field.name]
                try:
                    pa.unify_schemas(
                        [pa.schema([field]), pa.schema([(field.name, seen_type)])],
                        promote_options="permissive",
                    )
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    raise ValueError(
                        f"column `{field.name}` has type {field.type} in {file.display} but "
                        f"{seen_type} in {seen_file}; write one type for it in every file"
                    ) from exc
        raise ValueError(f"result files have incompatible schemas: {exc}") from exc


def _read_all(files: list[_ResultFile], schema: pa.Schema) -> pa.Table:
    """Read every file with the unified schema and add ``source_file``."""
    tables = []
    groups: dict[int, list[_ResultFile]] = {}
    for file in files:
        groups.setdefault(id(file.filesystem), []).append(file)
    for group in groups.values():
        filesystem = group[0].filesystem
        by_path = {file.path: file.display for file in group}
        dataset = pads.dataset(
            [file.path for file in group], schema=schema, format="parquet", filesystem=filesystem
        )
        try:
            table = dataset.to_table(columns=[*schema.names, "__filename"])
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"could not read the result files: {exc}") from exc
        paths = table.column("__filename").to_pylist()
        source = pa.array([by_path.get(path, path) for path in paths], pa.string())
        table = table.drop_columns(["__filename"]).append_column(
            SOURCE_COLUMN, source.dictionary_encode()
        )
        tables.append(table)
    return pa.concat_tables(tables, promote_options="permissive")


def study_from_path(path: str) -> str:
    """Derive a study name from a result file's location.

    Args:
        path: Path or URI of ``<root>/<study>/trials/trial-<id>.parquet``.

    Returns:
        ``<study>`` for that layout, ``<name>`` for a hive folder ``study=<name>``, otherwise
        the name of the folder holding the file.
    """
    parts = PurePosixPath(path.replace("\\", "/")).parts[:-1]
    for part in reversed(parts):
        if part.startswith("study="):
            return part[len("study=") :]
    if len(parts) >= 2 and parts[-1] == "trials":
        return parts[-2]
    return parts[-1] if parts else ""


def _fill_study(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill missing or null ``study`` values from the directory of each row's file."""
    sources = frame[SOURCE_COLUMN].astype("string")
    derived = sources.map(study_from_path, na_action="ignore")
    if "study" not in frame.columns:
        frame["study"] = derived.astype("string")
    else:
        frame["study"] = frame["study"].astype("string").fillna(derived)
    return frame
