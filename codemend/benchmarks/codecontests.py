"""CodeContests (Li et al. 2022, AlphaCode) in its JSON Lines form.

Fields ``name`` (the id, as ``codecontests/NAME``), ``description`` (the task), ``public_tests``,
``private_tests`` and ``generated_tests`` (each ``{"input": [...], "output": [...]}``), and
optionally ``solutions`` (``{"language": [...], "solution": [...]}``), ``time_limit``
(``{"seconds", "nanos"}``), ``memory_limit_bytes``, ``source``, ``difficulty``, ``cf_rating``,
``input_file`` and ``output_file``. Every problem is a whole program on stdin and stdout: the
public tests are visible, and all of them (public, private, generated: the benchmark's own
evaluation runs every one) are hidden. Problems that read or write named files, or have no test,
are skipped (and counted in the log).

The problems are built in the language the run asks for (``bench --language``, Python by default),
and the first correct solution the data holds in that language (CodeContests' ``PYTHON3``,
``CPP`` or ``JAVA``) becomes the problem's reference solution: the baseline of
``--objective speed``, in the candidate's own language. ``source`` and ``difficulty`` (their enum
names, lower-cased; Codeforces' problem letters as such) and ``cf_rating`` are kept as metadata.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from codemend.errors import ProblemFileError
from codemend.languages import LanguageName
from codemend.problems import IOTest, Problem
from codemend.problems.jsonl import convert_records, field

log = logging.getLogger(__name__)

SOLUTION_LANGUAGES: dict[LanguageName, tuple[int | str, ...]] = {
    "python": (3, "PYTHON3"),
    "cpp": (2, "CPP"),
    "java": (4, "JAVA"),
}
"""CodeContests' language values (the enum's number or name) for the languages it has solutions in."""
_SOURCES = ("unknown_source", "codechef", "codeforces", "hackerearth", "codejam", "atcoder", "aizu")
_DIFFICULTIES = ("unknown_difficulty", "easy", "medium", "hard", "harder", "hardest", "external")


def _pairs(record: dict[str, Any], key: str, path: str, line: int) -> list[IOTest]:
    value = record.get(key) or {"input": [], "output": []}
    inputs = value.get("input") if isinstance(value, dict) else None
    outputs = value.get("output") if isinstance(value, dict) else None
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        raise ProblemFileError(path, "needs lists `input` and `output` of one length", line=line, field=key)
    if not all(isinstance(v, str) for v in [*inputs, *outputs]):
        raise ProblemFileError(path, "inputs and outputs must be strings", line=line, field=key)
    return [IOTest(stdin=i, expected_stdout=o) for i, o in zip(inputs, outputs, strict=True)]


def _enum_name(value: object, names: tuple[str, ...], letters: bool = False) -> str | None:
    if isinstance(value, str) and value:
        return value.lower()
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 < value < len(names):
            return names[value]
        if letters and value >= len(names):
            return chr(ord("A") + value - len(names))  # Codeforces' problem letters
    return None


def _metadata(record: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    source = _enum_name(record.get("source"), _SOURCES)
    difficulty = _enum_name(record.get("difficulty"), _DIFFICULTIES, letters=True)
    if source:
        meta["source"] = source
    if difficulty:
        meta["difficulty"] = difficulty
    rating = record.get("cf_rating")
    if isinstance(rating, int) and not isinstance(rating, bool) and rating > 0:
        meta["cf_rating"] = rating
    return meta


def _reference(record: dict[str, Any], language: LanguageName, path: str, line: int) -> str | None:
    wanted = SOLUTION_LANGUAGES.get(language)
    solutions = record.get("solutions")
    if wanted is None or not isinstance(solutions, dict):
        return None
    names, codes = solutions.get("language"), solutions.get("solution")
    if not isinstance(names, list) or not isinstance(codes, list) or len(names) != len(codes):
        raise ProblemFileError(
            path, "needs lists `language` and `solution` of one length", line=line, field="solutions"
        )
    return next((c for n, c in zip(names, codes, strict=True) if n in wanted and isinstance(c, str)), None)


def _limits(record: dict[str, Any]) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    time_limit = record.get("time_limit")
    if isinstance(time_limit, dict):
        seconds = (time_limit.get("seconds") or 0) + (time_limit.get("nanos") or 0) / 1e9
        if isinstance(seconds, float | int) and seconds > 0:
            limits["time_limit_s"] = min(float(seconds), 600.0)
    memory = record.get("memory_limit_bytes")
    if isinstance(memory, int) and not isinstance(memory, bool) and memory > 0:
        limits["memory_limit_mb"] = min(max(memory // (1024 * 1024), 16), 65536)
    return limits


def _problem(record: dict[str, Any], language: LanguageName, path: str, line: int) -> Problem | None:
    """The record's problem; None when it reads or writes named files or has no test."""
    name = field(record, "name", (str, int), path, line)
    description = field(record, "description", str, path, line)
    if record.get("input_file") or record.get("output_file"):
        return None
    public = _pairs(record, "public_tests", path, line)
    hidden = [
        *public,
        *_pairs(record, "private_tests", path, line),
        *_pairs(record, "generated_tests", path, line),
    ]
    if not hidden:
        return None
    return Problem(
        id=f"codecontests/{name}",
        prompt=f"{description}\n\nRead from standard input and write to standard output.\n",
        language=language,
        tests=[
            *(t.model_copy(update={"visibility": "visible"}) for t in public),
            *(t.model_copy(update={"visibility": "hidden"}) for t in hidden),
        ],
        reference_solution=_reference(record, language, path, line),
        metadata=_metadata(record),
        **_limits(record),
    )


def load_codecontests(path: str | Path, language: LanguageName | None = None) -> list[Problem]:
    """The problems of a CodeContests JSON Lines file, in ``language`` (default Python) with its
    reference solution in that language when the data has one; a malformed record raises
    ``ProblemFileError`` naming its line and field."""
    name = str(path)
    chosen = language or "python"
    problems, skipped = convert_records(path, lambda record, line: _problem(record, chosen, name, line))
    if skipped:
        log.info("%s: skipped %d problems with named input/output files or no tests", name, skipped)
    return problems
