"""Reading JSON Lines files with errors that name the file, the line and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codemend.errors import ProblemFileError


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemFileError(str(path), f"cannot read: {exc}") from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line."""
    name = str(path)
    text = read_text(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ProblemFileError(
                name, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number
            ) from None
        if not isinstance(record, dict):
            raise ProblemFileError(name, "expected a JSON object", line=number)
        yield number, record


def field(record: dict[str, Any], key: str, kind: type | tuple[type, ...], path: str, line: int) -> Any:
    """``record[key]``, which must exist and be of ``kind``."""
    if key not in record:
        raise ProblemFileError(path, "missing", line=line, field=key)
    value = record[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ProblemFileError(path, f"expected {names}, got {type(value).__name__}", line=line, field=key)
    return value


def json_field(record: dict[str, Any], key: str, path: str, line: int) -> Any:
    """A field holding a JSON document as a string (APPS, LiveCodeBench)."""
    text = field(record, key, str, path, line)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemFileError(
            path, f"not valid JSON inside the string: {exc.msg}", line=line, field=key
        ) from None
