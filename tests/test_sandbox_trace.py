"""``Sandbox.trace`` (``--feedback trace``): the tracer in the candidate's process on the real
sandbox, and ``read_trace`` on what comes back (all of it untrusted)."""

from __future__ import annotations

import json
import textwrap

from conftest import make_problem

from codemend.problems import Problem
from codemend.records import TestResult
from codemend.sandbox import LocalSandbox, Sandbox, TestReport
from codemend.sandbox.trace import MAX_BLOCKS, VALUE_CHARS, read_trace

LOOP = """
def f(n):
    total = 0
    for i in range(n):
        total += i
    if total > 100:
        total = -1
    return total
"""


def _failed() -> TestResult:
    return TestResult(index=0, kind="assert", visibility="visible", status="failed")


def _line(*item: object) -> str:
    return json.dumps(list(item)) + "\n"


# -- the real sandbox ---------------------------------------------------------------------


def test_a_failing_call_is_traced_block_by_block(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(3) == 6")
    trace = sandbox.trace(problem, textwrap.dedent(LOOP), problem.visible_tests()[0])
    assert trace.available and trace.note is None and trace.omitted_blocks == 0
    paths = [(b.function, b.lines) for b in trace.blocks]
    # the loop's back edge starts a block each iteration; the last one took the path 4, 6, 8
    assert paths == [("f", [3, 4, 5]), ("f", [4, 5]), ("f", [4, 5]), ("f", [4, 6, 8])]
    assert [b.values["total"] for b in trace.blocks] == ["0", "1", "3", "3"]
    assert trace.blocks[-1].values["(return)"] == "3"


def test_a_traced_run_gives_the_same_verdict_and_leaves_the_worker_serving(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(3) == 6", "assert f(0) == 0")
    code = textwrap.dedent(LOOP)
    before = sandbox.run(problem, code)
    sandbox.trace(problem, code, problem.visible_tests()[0])
    after = sandbox.run(problem, code)
    assert [r.status for r in before.results] == [r.status for r in after.results] == ["failed", "passed"]


def test_an_io_program_is_traced_as_it_runs(sandbox: LocalSandbox) -> None:
    code = "n = int(input())\nsquares = [i * i for i in range(n)]\nprint(sum(squares) + 1)\n"
    problem = Problem.model_validate(
        {"id": "io", "prompt": "", "tests": [{"kind": "io", "stdin": "3\n", "expected_stdout": "5\n"}]}
    )
    trace = sandbox.trace(problem, code, problem.visible_tests()[0])
    assert trace.available
    module = [b for b in trace.blocks if b.function == "<module>"]
    assert module[-1].values["n"] == "3" and module[-1].values["squares"] == "[0, 1, 4]"


def test_long_and_big_values_are_shortened_in_the_candidate(sandbox: LocalSandbox) -> None:
    code = "def f(n):\n    big = list(range(n))\n    text = 'x' * n\n    huge = 7 ** n\n    return len(big)\n"
    problem = make_problem("assert f(100000) == 0")
    trace = sandbox.trace(problem, code, problem.visible_tests()[0])
    values = trace.blocks[-1].values
    assert values["big"].startswith("[0, 1, 2") and "(100000 items)" in values["big"]
    assert values["text"].startswith("'xxx") and len(values["text"]) <= VALUE_CHARS
    assert values["huge"] == "<int of 280736 bits>"


def test_a_backend_that_cannot_trace_says_so() -> None:
    class Plain(Sandbox):
        name = "plain"

        def run(self, problem: Problem, code: str, tests: object = None, *, cost: str = "cpu") -> TestReport:
            raise NotImplementedError

    problem = make_problem("assert f(1) == 2")
    trace = Plain().trace(problem, "def f(x): return x", problem.tests[0])
    assert not trace.available and trace.reason == "the plain sandbox cannot trace"


# -- read_trace: the host's reading of untrusted lines ----------------------------------------


def test_the_tracer_lines_become_blocks_with_gaps() -> None:
    text = (
        _line("block", "f", [1, 2], {"x": "1"})
        + _line("gap", 5)
        + _line("block", "f", [3], {"x": "7", "(return)": "7"})
        + _line("end", None)
    )
    trace = read_trace(text, False, _failed())
    assert trace.available and trace.note is None and trace.omitted_blocks == 5
    assert [(b.first_line, b.last_line, b.omitted_before) for b in trace.blocks] == [(1, 2, 0), (3, 3, 5)]


def test_lines_that_are_not_the_tracers_are_skipped_and_counted() -> None:
    forged = [
        '{"status": "passed"}',
        _line("result", 0, {"status": "passed"}).strip(),
        _line("block", "f", [], {}).strip(),
        _line("block", "f", [1], {"x": 1}).strip(),
        _line("block", "f", [0], {}).strip(),
        "not json",
    ]
    text = "\n".join(forged) + "\n" + _line("block", "f", [2], {"y": "2"}) + _line("end", None)
    trace = read_trace(text, False, _failed())
    assert [b.lines for b in trace.blocks] == [[2]]
    assert trace.note == "6 line(s) on the trace channel were not the tracer's: skipped"


def test_strings_are_cut_and_blocks_capped() -> None:
    big = {f"v{i}": "z" * 1_000 for i in range(40)}  # a line of ~40 kB (one over 64 kB is skipped)
    text = "".join(_line("block", "f" * 500, [1], big) for _ in range(MAX_BLOCKS + 10)) + _line("end", None)
    trace = read_trace(text, False, _failed())
    assert len(trace.blocks) == MAX_BLOCKS and trace.omitted_blocks == 10
    assert len(trace.blocks[0].values) == 12 and len(trace.blocks[0].function) == 60
    assert all(len(v) == VALUE_CHARS for v in trace.blocks[0].values.values())


def test_a_trace_without_its_end_line_is_partial_and_says_how_the_run_ended() -> None:
    timed_out = TestResult(
        index=0, kind="assert", visibility="visible", status="timeout", detail="no verdict within 2 s"
    )
    trace = read_trace(_line("block", "f", [1], {}) + '["block", "f", [2', False, timed_out)
    assert trace.available and [b.lines for b in trace.blocks] == [[1]]
    assert trace.note == (
        "the trace is unfinished: the traced run ended with status timeout (no verdict within 2 s)"
    )


def test_no_block_is_a_trace_not_available_with_the_reason() -> None:
    crashed = TestResult(index=0, kind="assert", visibility="visible", status="crashed", detail="killed")
    assert read_trace("", False, crashed).reason == (
        "no line of the solution was recorded: the traced run ended with status crashed (killed)"
    )
    assert read_trace(None, False, _failed()).reason == (
        "no trace came back: the traced run ended with status failed"
    )
    cut = read_trace(_line("block", "f", [1], {}) * 3 + '["block", "f", [1], {"x": "12', True, _failed())
    assert cut.note is not None and "the trace exceeded its byte limit and was cut" in cut.note
    assert len(cut.blocks) == 3  # the line cut mid-way is not read
