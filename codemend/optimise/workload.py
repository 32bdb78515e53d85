"""The workload a speed measurement runs: the problem's performance inputs, their expected
outputs computed once by running the baseline (the reference solution) in the sandbox.

A call's expected output is kept as a SHA-256 digest of its ``repr`` (a large list stays out of
the test code); the harness compares the candidate's digest with it, so the check runs in the
trusted harness, never in the candidate. Without performance inputs the workload is the
problem's visible tests.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from codemend.errors import UserError
from codemend.problems import AssertTest, IOTest, PerfTest, Problem
from codemend.sandbox import Sandbox

DIGEST_SETUP = """
import hashlib as _cm_hashlib


def _cm_digest(value):
    return _cm_hashlib.sha256(repr(value).encode()).hexdigest()
"""
_CLIPPED = " more characters]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    problem: Problem
    """The problem as the measured runs see it (with the digest helper in its setup)."""
    tests: list[AssertTest | IOTest]
    inputs: list[str]
    """What each test feeds the code, shortened, for feedback and records."""


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(test: PerfTest) -> str:
    return short(test.call) if test.call is not None else f"stdin {short(test.stdin or '', 60)!r}"


def prepare_workload(sandbox: Sandbox, problem: Problem, baseline: str) -> Workload:
    """The measured tests of ``problem``; with performance inputs, their expected outputs are
    what ``baseline`` gives (run once here). ``UserError`` if the baseline fails on them."""
    if not problem.perf_tests:
        tests = problem.visible_tests()
        if not tests:
            raise UserError(f"problem {problem.id}: no performance inputs and no visible tests to time")
        labels = [
            short(t.code) if isinstance(t, AssertTest) else f"stdin {short(t.stdin, 60)!r}" for t in tests
        ]
        return Workload(problem=problem, tests=tests, inputs=labels)
    setup = f"{problem.test_setup_code}\n{DIGEST_SETUP}" if problem.test_setup_code else DIGEST_SETUP
    measured = problem.model_copy(update={"test_setup_code": setup})
    probes: list[AssertTest | IOTest] = [
        AssertTest(code=f"assert _cm_digest({t.call}) == None")
        if t.call is not None
        else IOTest(stdin=t.stdin or "", expected_stdout="\x00")
        for t in problem.perf_tests
    ]
    report = sandbox.run(measured, baseline, probes)
    resolved: list[AssertTest | IOTest] = []
    for test, result in zip(problem.perf_tests, report.results, strict=True):
        label = _label(test)
        if test.expected_stdout is not None:
            resolved.append(IOTest(stdin=test.stdin or "", expected_stdout=test.expected_stdout))
            continue
        actual = result.actual
        if result.status != "failed" or actual is None or actual.endswith(_CLIPPED):
            why = result.detail or result.exc_message or result.status
            raise UserError(f"problem {problem.id}: the baseline gives no usable output on {label}: {why}")
        if test.call is not None:
            resolved.append(
                AssertTest(code=f"assert _cm_digest({test.call}) == {ast.literal_eval(actual)!r}")
            )
        else:
            resolved.append(IOTest(stdin=test.stdin or "", expected_stdout=actual))
    return Workload(problem=measured, tests=resolved, inputs=[_label(t) for t in problem.perf_tests])
