"""Read problems from JSON (one object or a list) and JSONL files, with precise errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codemend.errors import ProblemFileError
from codemend.problems.jsonl import iter_jsonl, loads, read_text
from codemend.problems.model import Problem


def _field(err: ValidationError) -> tuple[str, str]:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if p not in ("assert", "io"))
    return loc, first["msg"]


def _problem(data: Any, path: str, line: int | None, prefix: str = "") -> Problem:
    if not isinstance(data, dict):
        raise ProblemFileError(path, f"expected a JSON object, got {type(data).__name__}", line=line)
    try:
        return Problem.model_validate(data)
    except ValidationError as exc:
        loc, msg = _field(exc)
        pid = data.get("id") if isinstance(data.get("id"), str) else None
        msg = f"problem {pid!r}: {msg}" if pid else msg
        raise ProblemFileError(path, msg, line=line, field=prefix + loc) from None


def iter_problems(path: str | Path) -> Iterator[Problem]:
    """Yield the problems of a ``.json`` or ``.jsonl`` file; raise ``ProblemFileError`` on bad input."""
    name = str(path)
    if name.endswith(".jsonl"):
        for number, data in iter_jsonl(path):
            yield _problem(data, name, number)
        return
    data = loads(read_text(path), name)
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield _problem(item, name, None, prefix=f"[{index}].")
    else:
        yield _problem(data, name, None)


def load_problems(path: str | Path) -> list[Problem]:
    """Every problem of the file at ``path`` (see ``iter_problems``); ``ProblemFileError`` for a
    malformed one or an id used twice."""
    problems = list(iter_problems(path))
    seen: set[str] = set()
    for p in problems:
        if p.id in seen:
            raise ProblemFileError(str(path), f"duplicate problem id {p.id!r}", field="id")
        seen.add(p.id)
    return problems


def load_problem(path: str | Path) -> Problem:
    """Read a file holding exactly one problem."""
    problems = load_problems(path)
    if len(problems) != 1:
        raise ProblemFileError(str(path), f"expected one problem, found {len(problems)}")
    return problems[0]
