"""Reading JSON Lines files with errors that name the file, the line and the field.

A benchmark file may also be one JSON document, a list of records (pretty-printed or not) or a
single record, as ``.json`` problem files are: each record is then numbered by the line it
starts on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from codemend.errors import ProblemFileError

T = TypeVar("T")

NESTING_LIMIT = 500
"""Arrays and objects nested deeper than this are refused by name: Python's JSON parser gives
up somewhat further on with a ``RecursionError``."""

_FORMAT = "one JSON object per line, or one JSON array of objects"


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path``; ``ProblemFileError`` when it cannot be read or decoded."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemFileError(str(path), f"cannot read: {exc}") from None


def loads(text: str, path: str, *, line: int | None = None, field: str | None = None) -> Any:
    """``json.loads(text)``; malformed or too deeply nested JSON is a ``ProblemFileError``. ``line``
    is where ``text`` starts in the file (None: ``text`` is the whole file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = exc.lineno if line is None else line + exc.lineno - 1
        raise ProblemFileError(
            path, f"invalid JSON: {exc.msg} (column {exc.colno})", line=at, field=field
        ) from None
    except RecursionError:
        raise too_deep(text, path, line=line, field=field) from None


def too_deep(text: str, path: str, *, line: int | None = None, field: str | None = None) -> ProblemFileError:
    """The error for ``text`` whose arrays and objects nest too deeply to read: at the line where
    the nesting passes ``NESTING_LIMIT`` levels, in the record's field found there."""
    spot = _deep_spot(text)
    at, found = spot if spot is not None else (1, None)
    if line is not None:
        at = line + at - 1
    message = f"arrays or objects nested more than {NESTING_LIMIT} levels deep"
    return ProblemFileError(path, message, line=at, field=field or found)


_PLAIN = re.compile(r'[^"\[\]{},\n]+')
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_SPACE = re.compile(r"\s*")


def _deep_spot(text: str) -> tuple[int, str | None] | None:
    """(line, the record's field) where nesting first passes ``NESTING_LIMIT``, if it does. The
    field is the path down to the first object key: ``tests``, or ``[3].tests`` in a list."""
    keys: list[int | str | None] = []  # per open container: its current index or key
    line, i = 1, 0
    while i < len(text):
        plain = _PLAIN.match(text, i)
        if plain:
            i = plain.end()
            continue
        ch = text[i]
        if ch == '"':
            string = _STRING.match(text, i)
            if string is None:
                return None
            i = string.end()
            after = _SPACE.match(text, i)
            if keys and after and text[after.end() : after.end() + 1] == ":":
                keys[-1] = json.loads(string.group())
            continue
        if ch in "[{":
            keys.append(0 if ch == "[" else None)
            if len(keys) > NESTING_LIMIT:
                return line, _field_path(keys)
        elif ch in "]}" and keys:
            keys.pop()
        elif ch == "," and keys and isinstance(keys[-1], int):
            keys[-1] += 1
        elif ch == "\n":
            line += 1
        i += 1
    return None


def _field_path(keys: list[int | str | None]) -> str | None:
    """``key`` (a record's field) or ``[i].key`` (a field of a list's record i); None when the
    nesting starts above the records' fields."""
    first, second = [*keys, None, None][:2]
    if isinstance(first, str):
        return first
    if isinstance(first, int) and isinstance(second, str):
        return f"[{first}].{second}"
    return None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line; for a file holding one JSON array of
    objects, or one object spread over lines, each object and the line it starts on."""
    name = str(path)
    text = read_text(path)
    if text.lstrip().startswith("["):
        yield from _document(text, name)
        return
    first = True
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            if first and raw.lstrip().startswith("{") and exc.pos >= len(raw.rstrip()):
                yield from _document(text, name)  # the first line ended inside an object
                return
            message = f"invalid JSON: {exc.msg} (column {exc.colno}; expected {_FORMAT})"
            raise ProblemFileError(name, message, line=number) from None
        except RecursionError:
            raise too_deep(raw, name, line=number) from None
        first = False
        if not isinstance(record, dict):
            raise ProblemFileError(name, f"expected a JSON object ({_FORMAT})", line=number)
        yield number, record


def _document(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The records of a file that is one JSON document: an array of objects, or one object."""
    data = loads(text, name)
    if not isinstance(data, list):
        data, starts = [data], [_line_at(text, _skip_space(text, 0))]
    else:
        starts = _item_lines(text)
    for index, (item, number) in enumerate(zip(data, starts, strict=True)):
        if not isinstance(item, dict):
            message = f"item {index}: expected a JSON object ({_FORMAT})"
            raise ProblemFileError(name, message, line=number)
        yield number, item


def _item_lines(text: str) -> list[int]:
    """The line each item of a (valid) top-level JSON array starts on."""
    decoder = json.JSONDecoder()
    i = _skip_space(text, text.index("[") + 1)
    lines = []
    while text[i] != "]":
        lines.append(_line_at(text, i))
        _, i = decoder.raw_decode(text, i)
        i = _skip_space(text, i)
        if text[i] == ",":
            i = _skip_space(text, i + 1)
    return lines


def _skip_space(text: str, i: int) -> int:
    space = _SPACE.match(text, i)
    return space.end() if space else i


def _line_at(text: str, i: int) -> int:
    return text.count("\n", 0, i) + 1


@contextmanager
def record_errors(path: str, line: int) -> Iterator[None]:
    """Turn what building one record's problem may raise into a ``ProblemFileError`` at its line:
    a field pydantic refuses (named), data nested too deeply to process."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"] if p not in ("assert", "io"))
        raise ProblemFileError(path, first["msg"], line=line, field=loc or None) from None
    except (RecursionError, MemoryError) as exc:
        message = f"too deeply nested or too large to process ({type(exc).__name__})"
        raise ProblemFileError(path, message, line=line) from None


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
    except RecursionError:
        raise ProblemFileError(
            path, f"JSON inside the string nested more than {NESTING_LIMIT} levels deep", line=line, field=key
        ) from None


def convert_records(
    path: str | Path, convert: Callable[[dict[str, Any], int], T | None]
) -> tuple[list[T], int]:
    """``convert(record, line)`` of every record of a JSON Lines file, each under
    ``record_errors``: the converted ones in order, and how many ``convert`` skipped (None)."""
    name = str(path)
    converted: list[T] = []
    skipped = 0
    for line, record in iter_jsonl(path):
        with record_errors(name, line):
            item = convert(record, line)
        if item is None:
            skipped += 1
        else:
            converted.append(item)
    return converted, skipped
