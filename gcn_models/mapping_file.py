"""Reading a small JSON or YAML file that must hold a mapping (layouts, search spaces)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_mapping_file(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a ``.json``, ``.yaml`` or ``.yml`` file holding a mapping.

    Args:
        path: The file.
        what: What the file describes (``layout``, ``search-space``), for error messages.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be parsed or holds no mapping; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{path}: cannot parse {what} file: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a {what} file must hold a mapping, got {type(data).__name__}")
    return data
