"""Feedback text built from the constraints and the visible-test report: short and concrete.

The failing call, expected against actual, the exception with its traceback trimmed to the last
lines. Hidden results are never read, even when the report holds them.
"""

from __future__ import annotations

from codemend.agents.constraints import visible_results
from codemend.languages import language
from codemend.problems import AssertTest, IOTest, Problem
from codemend.records import Constraint, TestReport, TestResult

MAX_FAILURES = 3
MAX_VALUE_CHARS = 200
TRACEBACK_LINES = 8


def feedback_text(problem: Problem, constraints: list[Constraint], report: TestReport) -> str:
    """The feedback a repair prompt shows: why the code does not parse, or its structural faults and
    up to ``MAX_FAILURES`` failing visible tests, then how many visible tests pass."""
    by_name = {c.name: c for c in constraints if c.name != "tests"}
    if "compiles" in by_name:
        return _program_feedback(problem, by_name["compiles"], report)
    parses = by_name["parses"]
    if not parses.satisfied:
        return f"The code does not parse: {parses.evidence}. Reply with valid Python."
    lines = [_structural(c) for c in (by_name["entry_point"], by_name["imports"]) if not c.satisfied]
    results = visible_results(report)
    failing = [r for r in results if not r.passed]
    lines.extend(_describe(problem, r) for r in failing[:MAX_FAILURES])
    if len(failing) > MAX_FAILURES:
        lines.append(f"({len(failing) - MAX_FAILURES} more failing test(s) not shown.)")
    if parses.evidence and failing:  # e.g. "'tuple' object is not callable; perhaps you missed a comma?"
        lines.append(f"Note: {parses.evidence}.")
    lines.append(_tally(results, failing))
    return "\n\n".join(lines)


def _tally(results: list[TestResult], failing: list[TestResult]) -> str:
    if results and not failing:
        return f"All {len(results)} visible test(s) pass."
    return f"{len(results) - len(failing)} of {len(results)} visible test(s) pass."


def _program_feedback(problem: Problem, compiles: Constraint, report: TestReport) -> str:
    """Feedback on a program in another language: why it does not compile (the diagnostics), or
    its failing visible tests, with the compiler's warnings as a note."""
    shown = language(problem.language).display
    if not compiles.satisfied:
        return f"The code does not compile as {shown}:\n{compiles.evidence}\n\nReply with valid {shown}."
    results = visible_results(report)
    failing = [r for r in results if not r.passed]
    lines = [_describe(problem, r) for r in failing[:MAX_FAILURES]]
    if len(failing) > MAX_FAILURES:
        lines.append(f"({len(failing) - MAX_FAILURES} more failing test(s) not shown.)")
    if failing and compiles.evidence.startswith("the compiler warns"):
        lines.append(f"Note: {compiles.evidence}")
    lines.append(_tally(results, failing))
    return "\n\n".join(lines)


def _structural(constraint: Constraint) -> str:
    if constraint.name == "entry_point":
        return f"Wrong or missing entry point: {constraint.evidence}."
    return f"Import not allowed: {constraint.evidence}. Solve it without these modules."


def _clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _visible_test(problem: Problem, index: int) -> AssertTest | IOTest | None:
    tests = problem.visible_tests()  # the list the report's indices point into
    return tests[index] if index < len(tests) else None


def _stdin(problem: Problem, index: int) -> str:
    test = _visible_test(problem, index)
    return test.stdin if isinstance(test, IOTest) else ""


def _source(problem: Problem, r: TestResult) -> str | None:
    test = _visible_test(problem, r.index)
    return r.assertion or (test.code if isinstance(test, AssertTest) else None)


def _describe(problem: Problem, r: TestResult) -> str:
    source = _source(problem, r)
    head = f"Test `{_clip(source)}`" if source else f"Test {r.index} ({r.kind})"
    body: list[str] = []
    if r.call:
        body.append(f"call: {_clip(r.call)}")
    if r.kind == "io" and not r.call:  # a call test shows its call instead
        body.append(f"stdin: {_clip(repr(_stdin(problem, r.index)))}")
    if r.status == "failed":
        head += " failed"
        if r.expected is not None:
            body.append(f"expected: {_clip(r.expected)}")
        if r.actual is not None:
            body.append(f"actual:   {_clip(r.actual)}")
    elif r.status == "error" and r.exc_type is None and r.kind == "io":  # a program's exit status
        head += " ended with an error"
    elif r.status == "error":
        head += f" raised {r.exc_type or 'an exception'}: {_clip(r.exc_message or '')}"
    elif r.status == "timeout":
        head += f" did not finish within {problem.time_limit_s:g}s (infinite loop or too slow?)"
    elif r.status == "memory":
        head += f" ran out of memory (limit {problem.memory_limit_mb} MB)"
    else:
        head += " crashed the process"
    if r.detail:
        body.append(f"detail: {_clip(r.detail)}")
    if r.traceback:
        frames = [line for line in r.traceback.strip().splitlines() if not line.startswith("Traceback (")]
        tail = frames[-TRACEBACK_LINES:]
        body.append("traceback (last lines):\n" + "\n".join("    " + line for line in tail))
    return head + "".join(f"\n  {line}" for line in body)
