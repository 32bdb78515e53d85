"""EvalPerf (Liu et al., COLM 2024) in its JSONL layout, for ``--objective speed``.

Fields used: ``task_id``, ``entry_point``, ``prompt``, ``reference`` (solutions of graded
efficiency), ``scores`` (one per reference, higher is faster; optional) and ``pe_input`` (the
performance-exercising input: a list of argument lists, or that list as a JSON string). The
baseline (``reference_solution``) is the slowest reference; the workload (``perf_tests``) is the
first performance input, kept in the test setup (``_cm_pe_input``) so prompts stay short.
EvalPerf ships no unit tests: a hidden test checks the candidate against the baseline on that
input, in the harness, as EvalPlus's loader does. Both stay hidden (a failing visible test would
quote the call, and so the input, in its feedback): in the loop a candidate is checked by the
measurement itself, whose workload expects the baseline's outputs and names inputs by size only.
(EvalPerf counts instructions with ``perf``; codemend measures CPU time or, with ``--cost
instructions``, counts them under valgrind: see ``codemend.optimise``. MBPP inputs in EvalPerf's own
serialisation of sets and tuples are taken as plain JSON.) A record's other fields holding a
string, a number or a boolean are kept as the problem's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codemend.benchmarks.calls import literal
from codemend.errors import ProblemFileError
from codemend.problems import AssertTest, PerfTest, Problem
from codemend.problems.jsonl import field, iter_jsonl, record_errors

_SETUP = """import copy as _cm_copy

_cm_reference_scope = {"__name__": "reference"}
exec(compile(_CM_REFERENCE, "reference.py", "exec"), _cm_reference_scope)
_cm_reference = _cm_reference_scope[_CM_ENTRY]
"""


def _inputs(record: dict[str, Any], name: str, line: int) -> list[Any]:
    raw = record.get("pe_input")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise ProblemFileError(
                name, "is not JSON (or nested too deeply)", line=line, field="pe_input"
            ) from None
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], list):
        raise ProblemFileError(
            name, "must be a non-empty list of argument lists", line=line, field="pe_input"
        )
    return raw


def _slowest(record: dict[str, Any], name: str, line: int) -> str:
    references = field(record, "reference", list, name, line)
    if not references or not all(isinstance(r, str) for r in references):
        raise ProblemFileError(name, "must be a non-empty list of programs", line=line, field="reference")
    scores = record.get("scores")
    if isinstance(scores, list) and len(scores) == len(references):
        return str(min(zip(scores, references, strict=True), key=lambda pair: pair[0])[1])
    return str(references[0])


_USED = {"task_id", "entry_point", "prompt", "reference", "scores", "pe_input"}


def own_fields(record: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """The record's scalar fields that building the problem did not use."""
    kept = (str, int, float, bool)
    return {k: v for k, v in record.items() if k not in used and isinstance(v, kept) and v != ""}


def load_evalperf(path: str | Path) -> list[Problem]:
    """The problems of an EvalPerf JSON Lines file, timed against their slowest reference solution;
    a malformed record raises ``ProblemFileError`` naming its line and field."""
    name = str(path)
    problems = []
    for line, record in iter_jsonl(path):
        with record_errors(name, line):
            task_id = field(record, "task_id", str, name, line)
            entry = field(record, "entry_point", str, name, line)
            prompt = field(record, "prompt", str, name, line)
            reference = _slowest(record, name, line)
            if f"def {entry}" not in reference:  # a body completing the prompt
                reference = prompt + reference
            args = _inputs(record, name, line)[0]
            setup = (
                f"_CM_REFERENCE = {reference!r}\n_CM_ENTRY = {entry!r}\n_cm_pe_input = {literal(args)}\n"
                + _SETUP
            )
            check = (
                f"assert {entry}(*_cm_copy.deepcopy(_cm_pe_input)) == "
                "_cm_reference(*_cm_copy.deepcopy(_cm_pe_input))"
            )
            problems.append(
                Problem(
                    id=task_id,
                    prompt=prompt,
                    entry_point=entry,
                    starter_code=prompt if prompt.lstrip().startswith(("def ", "from ", "import ")) else "",
                    test_setup_code=setup,
                    tests=[AssertTest(code=check, visibility="hidden")],
                    reference_solution=reference,
                    perf_tests=[PerfTest(call=f"{entry}(*_cm_pe_input)", visibility="hidden")],
                    metadata=own_fields(record, _USED),
                )
            )
    return problems
