"""APPS (Hendrycks et al. 2021) in its JSONL form.

Fields ``problem_id``, ``question``, ``input_output`` (a JSON string: ``inputs``, ``outputs``
and, for call-based problems, ``fn_name``), ``starter_code``, and ``difficulty`` (introductory,
interview, competition) and ``url``, kept as the problem's metadata. Standard-input problems become
I/O tests; call-based ones assertion tests (``Solution().fn`` when the starter code is a
class). The first test is visible, all of them are hidden. Problems without tests are skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from codemend.benchmarks.calls import call_test
from codemend.errors import ProblemFileError
from codemend.problems import AssertTest, IOTest, Problem
from codemend.problems.jsonl import convert_records, field, json_field

log = logging.getLogger(__name__)


def _text(value: object) -> str:
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def _tests(
    io: dict[str, object], starter: str, path: str, line: int
) -> tuple[str | None, list[AssertTest | IOTest]]:
    inputs, outputs = io.get("inputs"), io.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        raise ProblemFileError(
            path, "needs lists `inputs` and `outputs` of one length", line=line, field="input_output"
        )
    fn = io.get("fn_name")
    tests: list[AssertTest | IOTest] = []
    if isinstance(fn, str):
        method = "class Solution" in starter
        for args, out in zip(inputs, outputs, strict=True):
            args = args if isinstance(args, list) else [args]
            tests.append(AssertTest(code=call_test(fn, args, out, method=method, unwrap=True)))
        return ("Solution" if method else fn), tests
    tests = [IOTest(stdin=_text(i), expected_stdout=_text(o)) for i, o in zip(inputs, outputs, strict=True)]
    return None, tests


def _problem(record: dict[str, Any], name: str, line: int) -> Problem | None:
    """The record's problem; None when it has no tests."""
    pid = field(record, "problem_id", (int, str), name, line)
    question = field(record, "question", str, name, line)
    starter = record.get("starter_code") or ""
    if not record.get("input_output"):
        return None
    io = json_field(record, "input_output", name, line)
    if not isinstance(io, dict):
        raise ProblemFileError(name, "expected a JSON object", line=line, field="input_output")
    entry, tests = _tests(io, starter, name, line)
    if not tests:
        return None
    style = "Use call-based format." if entry else "Use standard input format."
    return Problem(
        id=f"apps/{pid}",
        prompt=f"{question}\n\n{style}\n" + (f"\n{starter}\n" if starter else ""),
        entry_point=entry,
        starter_code=starter,
        tests=[
            tests[0].model_copy(update={"visibility": "visible"}),
            *(t.model_copy(update={"visibility": "hidden"}) for t in tests),
        ],
        metadata={k: v for k in ("difficulty", "url") if isinstance(v := record.get(k), str) and v},
    )


def load_apps(path: str | Path) -> list[Problem]:
    """The problems of an APPS JSON Lines file; problems without tests are skipped (and counted in
    the log), a malformed record raises ``ProblemFileError`` naming its line."""
    name = str(path)
    problems, skipped = convert_records(path, lambda record, line: _problem(record, name, line))
    if skipped:
        log.info("%s: skipped %d problems without tests", name, skipped)
    return problems
