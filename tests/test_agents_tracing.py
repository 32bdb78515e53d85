"""The trace's text (``agents.tracing``): within its token budget, first and last blocks kept,
where the test diverged at the end; a trace not available leaves the feedback as it was."""

from __future__ import annotations

import asyncio

from repair_helpers import asserts_problem

from codemend.agents import make_executor
from codemend.agents.tracing import TRACE_TOKEN_BUDGET, render_trace, untraceable, with_trace
from codemend.problems import Problem
from codemend.records import Critique, TestReport, TestResult, Trace, TraceBlock
from codemend.sandbox import LocalSandbox

CODE = "def f(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n"


def _result(**fields: object) -> TestResult:
    return TestResult.model_validate({"index": 0, "kind": "assert", "visibility": "visible", **fields})


def _blocks(count: int, value: str = "1") -> list[TraceBlock]:
    return [
        TraceBlock(first_line=3, last_line=4, function="f", lines=[3, 4], values={"i": str(i), "v": value})
        for i in range(count)
    ]


def test_a_long_trace_keeps_its_first_and_last_blocks_within_the_budget() -> None:
    problem = asserts_problem("assert f(400) == 1")
    trace = Trace(available=True, blocks=_blocks(60, value="x" * 110), omitted_blocks=0)
    failed = _result(status="failed", expected="1", actual="79800")
    text = render_trace(trace, CODE, "assert f(400) == 1", failed, problem)
    assert len(text) <= TRACE_TOKEN_BUDGET * 4
    lines = text.splitlines()
    assert lines[1].startswith("[1] f, lines 3-4: i=0, v=xxx")
    assert lines[2:4] == ["          for i in range(n):", "              total += i"]  # the source, once
    assert "block(s) not shown) ..." in text and "[60] f, lines 3-4: i=59" in text
    assert lines[-1] == "Where it diverged: the test expected 1, got 79800."


def test_blocks_the_tracer_left_out_are_counted_in_the_numbering() -> None:
    blocks = _blocks(3)
    blocks[2] = blocks[2].model_copy(update={"omitted_before": 40})
    note = "recording stopped after 20000 line events"
    trace = Trace(available=True, blocks=blocks, omitted_blocks=40, note=note)
    text = render_trace(trace, CODE, "t", _result(status="timeout"), asserts_problem("t"))
    assert "... (40 block(s) not shown) ...\n[43] f, lines 3-4: i=2" in text
    assert "(Trace partial: recording stopped after 20000 line events.)" in text
    assert text.endswith("Where it diverged: the test did not finish within 2s.")


def test_with_trace_appends_the_text_and_records_the_trace() -> None:
    problem = asserts_problem("assert f(3) == 6")
    report = TestReport(results=[_result(status="error", exc_type="ValueError", exc_message="bad")])
    critique = Critique(constraints=[], score=0.0, feedback="Test failed.", mode="tests")
    trace = Trace(available=True, test_index=0, blocks=_blocks(1))
    done = with_trace(critique, trace, problem, CODE, report)
    assert done.trace is not None and done.feedback == f"Test failed.\n\n{done.trace.text}"
    assert done.trace.text.endswith("Where it diverged: the test raised ValueError: bad.")


def test_a_trace_not_available_is_recorded_and_the_feedback_kept() -> None:
    problem = asserts_problem("assert f(3) == 6")
    report = TestReport(results=[_result(status="failed")])
    critique = Critique(constraints=[], score=0.0, feedback="Test failed.", mode="tests")
    missing = Trace(available=False, reason="the local sandbox cannot trace", test_index=0)
    done = with_trace(critique, missing, problem, CODE, report)
    assert done.feedback == "Test failed." and done.trace == missing


def test_nothing_to_trace() -> None:
    passed = TestReport(results=[_result(status="passed")])
    assert untraceable(CODE, passed) == Trace(available=False, reason="no visible test fails")
    failed = TestReport(results=[_result(status="failed")])
    assert untraceable("def f(:", failed) == Trace(
        available=False, reason="the code does not parse (SyntaxError)"
    )
    assert untraceable(CODE, failed) is None


def test_only_python_is_traced(sandbox: LocalSandbox) -> None:
    problem = Problem.model_validate(
        {
            "id": "c",
            "prompt": "",
            "language": "c",
            "tests": [{"kind": "io", "stdin": "1\n", "expected_stdout": "2\n"}],
        }
    )
    report = TestReport(results=[_result(kind="io", status="failed")])
    trace = asyncio.run(make_executor(sandbox).trace(problem, "int main(void) { return 0; }", report))
    assert trace == Trace(available=False, reason="only Python candidates are traced, not c")
