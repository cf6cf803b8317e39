"""One Parquet file per trial, written atomically, local or on a cloud URI.

Layout of a study (``ROOT`` is ``--storage``, a local directory or a URI such as
``s3://bucket/prefix``)::

    ROOT/NAME/study.json                 run metadata (config, space, versions, git commit)
    ROOT/NAME/scoring_batch.npz          the fixed proxy scoring batch (same for every trial)
    ROOT/NAME/trials/trial-<id>.parquet  one row per trial

A row is written to a hidden temporary name in the same directory and then renamed into place,
so readers (``pyarrow.dataset`` skips names starting with ``.`` or ``_``) never see half a file
and a rewrite of the same trial replaces its file instead of adding a second one. On object
stores, where a single PUT is atomic and rename is a copy, the final name is written directly.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

_OBJECT_STORES = {"s3", "gcs"}


def resolve_filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """Return the pyarrow filesystem and the path inside it for a local path or URI."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(uri))
    return pafs.FileSystem.from_uri(uri)


def join(*parts: str) -> str:
    """Join path parts with ``/`` (pyarrow filesystems use forward slashes everywhere)."""
    return "/".join(p.rstrip("/") for p in parts if p)


class ResultStore:
    """The Parquet record of one study.

    Args:
        root: ``--storage``: a local directory or a URI understood by ``pyarrow.fs``.
        study: Study name; rows live under ``root/study/trials``.
    """

    def __init__(self, root: str, study: str) -> None:
        if not study or "/" in study:
            raise ValueError(f"study name {study!r} must be non-empty and contain no `/`")
        self.root = root
        self.study = study
        self.fs, base = resolve_filesystem(root)
        self.study_dir = join(base, study)
        self.trials_dir = join(self.study_dir, "trials")
        self._atomic_rename = self.fs.type_name not in _OBJECT_STORES

    # -- paths -------------------------------------------------------------------------------
    def trial_path(self, trial_id: str) -> str:
        """Final path of a trial's file."""
        return join(self.trials_dir, f"trial-{trial_id}.parquet")

    def ensure_dirs(self) -> None:
        """Create the study and trials directories (no-op on object stores)."""
        self.fs.create_dir(self.trials_dir, recursive=True)

    # -- rows --------------------------------------------------------------------------------
    def write_row(self, trial_id: str, table: pa.Table) -> str:
        """Write one trial's table atomically under a name fixed by the trial id.

        Returns:
            The final path.
        """
        self.ensure_dirs()
        final = self.trial_path(trial_id)
        if not self._atomic_rename:
            pq.write_table(table, final, filesystem=self.fs)
            return final
        tmp = join(self.trials_dir, f".trial-{trial_id}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            pq.write_table(table, tmp, filesystem=self.fs)
            self.fs.move(tmp, final)
        finally:
            if self.fs.get_file_info(tmp).type != pafs.FileType.NotFound:
                self.fs.delete_file(tmp)
        return final

    def has_row(self, trial_id: str) -> bool:
        """Whether the trial already has its file."""
        return self.fs.get_file_info(self.trial_path(trial_id)).type == pafs.FileType.File

    def read_row(self, trial_id: str) -> dict[str, Any] | None:
        """The stored row of one trial, or ``None`` when there is none."""
        if not self.has_row(trial_id):
            return None
        table = pq.read_table(self.trial_path(trial_id), filesystem=self.fs)
        rows = table.to_pylist()
        return rows[0] if rows else None

    def read_rows(self) -> pd.DataFrame:
        """All rows of the study as one DataFrame (empty when there are none).

        Files are read with one schema unified over all of them, so columns that only some
        trials have (conditional choices, new proxies) are kept.
        """
        return read_parquet_dir(self.fs, self.trials_dir)

    # -- metadata ----------------------------------------------------------------------------
    def write_json(self, name: str, data: Mapping[str, Any]) -> None:
        """Write a JSON document beside the rows (atomically where the filesystem allows)."""
        self.fs.create_dir(self.study_dir, recursive=True)
        payload = json.dumps(data, indent=2, sort_keys=True, default=str).encode()
        final = join(self.study_dir, name)
        tmp = join(self.study_dir, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
        target = tmp if self._atomic_rename else final
        with self.fs.open_output_stream(target) as stream:
            stream.write(payload)
        if self._atomic_rename:
            self.fs.move(tmp, final)

    def read_json(self, name: str) -> dict[str, Any] | None:
        """Read a JSON document written with :meth:`write_json`, or ``None``."""
        path = join(self.study_dir, name)
        if self.fs.get_file_info(path).type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(path) as stream:
            return json.loads(stream.read().decode())

    def write_bytes(self, name: str, payload: bytes) -> None:
        """Write a binary file beside the rows (the scoring batch)."""
        self.fs.create_dir(self.study_dir, recursive=True)
        with self.fs.open_output_stream(join(self.study_dir, name)) as stream:
            stream.write(payload)

    def read_bytes(self, name: str) -> bytes | None:
        """Read a binary file written with :meth:`write_bytes`, or ``None``."""
        path = join(self.study_dir, name)
        if self.fs.get_file_info(path).type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(path) as stream:
            return stream.read()


def read_parquet_dir(fs: pafs.FileSystem, directory: str) -> pd.DataFrame:
    """Read every visible ``*.parquet`` file of a directory with a unified schema.

    Args:
        fs: Filesystem holding the directory.
        directory: Path inside `fs`.

    Returns:
        One DataFrame with the union of all columns; empty when there are no files.
    """
    info = fs.get_file_info(pafs.FileSelector(directory, allow_not_found=True))
    files = sorted(
        f.path
        for f in info
        if f.type == pafs.FileType.File
        and f.base_name.endswith(".parquet")
        and not f.base_name.startswith((".", "_"))
    )
    if not files:
        return pd.DataFrame()
    schemas = [pq.read_schema(path, filesystem=fs) for path in files]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    dataset = ds.dataset(files, schema=schema, filesystem=fs, format="parquet")
    return dataset.to_table().to_pandas()
