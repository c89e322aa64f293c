"""JSON at the edges: reading a JSON file a user points shanty at (an exported manifest, a W&B table),
with one sentence for every way it can be wrong (missing, a folder, unreadable, not UTF-8, not JSON);
and the plain value of what W&B scripts store (numpy numbers and arrays)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import MalformedError, NotFoundError, StorageError

__all__ = ["plain_json_value", "read_json_file"]


def read_json_file(path: str | Path, advice: str) -> Any:
    """The JSON value in the file at ``path``. NotFoundError (missing, or a folder), StorageError (not
    readable) or MalformedError (not UTF-8 JSON), each one sentence ending with ``advice``."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise NotFoundError(f"No file at {path}; {advice}") from None
    except IsADirectoryError:
        raise NotFoundError(f"{path} is a folder, not a JSON file; {advice}") from None
    except PermissionError:
        raise StorageError(f"{path} cannot be read (permission denied); fix its permissions.") from None
    except UnicodeDecodeError:
        raise MalformedError(f"{path} is not UTF-8 text, so not JSON; {advice}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedError(f"{path} is not valid JSON (line {exc.lineno}); {advice}") from None


def plain_json_value(value: Any) -> Any:
    """``json.dumps``'s ``default``: numpy scalars and arrays (W&B configs and summaries are full of them)
    as plain JSON values; TypeError for anything else."""
    if type(value).__module__ == "numpy" and callable(getattr(value, "tolist", None)):
        return value.tolist()  # a scalar's tolist() is its Python number
    raise TypeError(f"{type(value).__name__} is not JSON")
