"""Hostile candidates under ``--feedback trace`` on the real sandbox: whatever the candidate does
to the tracer, its channel or its own values, the trace is bounded, says when it is partial or
not available, never raises, and the verdicts of the normal runs before and after it are the same
(the traced run's own verdicts count for nothing)."""

from __future__ import annotations

import textwrap

import pytest
from conftest import make_problem

from codemend.records import Trace
from codemend.sandbox import LocalSandbox
from codemend.sandbox.trace import MAX_BLOCKS, VALUE_CHARS

TEST = "assert f(3) == 6"


def traced(sandbox: LocalSandbox, code: str, test: str = TEST, limit: float = 2.0) -> tuple[list[str], Trace]:
    """The normal verdicts (the same before and after the traced run) and the trace."""
    problem = make_problem(test, "assert f(0) == 0", time_limit_s=limit)
    code = textwrap.dedent(code)
    before = [r.status for r in sandbox.run(problem, code).results]
    trace = sandbox.trace(problem, code, problem.visible_tests()[0])
    after = [r.status for r in sandbox.run(problem, code).results]
    assert before == after
    assert len(trace.blocks) <= MAX_BLOCKS
    assert all(len(k) <= 40 and len(v) <= VALUE_CHARS for b in trace.blocks for k, v in b.values.items())
    assert (trace.reason is None) == trace.available
    return before, trace


def values(trace: Trace) -> dict[str, str]:
    """Every variable's last shown value."""
    return {k: v for b in trace.blocks for k, v in b.values.items()}


# -- time -----------------------------------------------------------------------------------


def test_an_endless_loop_leaves_a_partial_trace_and_a_serving_worker(sandbox: LocalSandbox) -> None:
    verdicts, trace = traced(sandbox, "def f(x):\n    while True:\n        x += 1\n")
    assert verdicts == ["timeout", "timeout"]
    assert trace.available and trace.omitted_blocks > 0
    assert trace.note is not None and trace.note.startswith("recording stopped after")


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("raise ValueError('no')", "<Bad object: repr raised ValueError>"),
        ("return repr(self)", "<Bad object: repr raised RecursionError>"),
        ("import time; time.sleep(10**6)", "<Bad object: repr timed out>"),
        ("while True: pass", "<Bad object: repr timed out>"),
        ("return type('S', (str,), {})('6')", "<Bad object: repr not a string>"),
        ("return 'x' * 10_000_000", "x" * 77 + "..."),
        ("return '6'", "6"),  # a lie: just feedback, the verdict stays failed
    ],
    ids=["raises", "recurses", "sleeps", "spins", "not a str", "10 MB", "lies"],
)
def test_a_hostile_repr_gives_a_placeholder(sandbox: LocalSandbox, body: str, shown: str) -> None:
    code = f"""
    class Bad:
        def __repr__(self):
            {body}
    def f(x):
        bad = Bad()
        return x
    """
    verdicts, trace = traced(sandbox, code)
    assert verdicts == ["failed", "passed"]
    assert trace.available and values(trace)["bad"] == shown


def test_a_repr_that_blocks_the_timer_signal_ends_as_a_timeout(sandbox: LocalSandbox) -> None:
    code = """
    import signal, time
    class Bad:
        def __repr__(self):
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
            time.sleep(10**6)
    def f(x):
        y = x + 1
        bad = Bad()
        return y - 1
    """
    verdicts, trace = traced(sandbox, code, limit=1.0)
    assert verdicts == ["failed", "passed"]
    # the repr hung in the tracer before any block was sent: the traced run timed out
    assert not trace.available and trace.reason is not None and "status timeout" in trace.reason


# -- size -----------------------------------------------------------------------------------


def test_a_ten_million_element_list_is_shortened(sandbox: LocalSandbox) -> None:
    verdicts, trace = traced(sandbox, "def f(x):\n    big = [x] * 10**7\n    return len(big)\n")
    assert verdicts == ["failed", "failed"]
    assert values(trace)["big"].startswith("[3, 3, 3") and "(10000000 items)" in values(trace)["big"]


def test_deep_recursion_is_traced_within_the_caps(sandbox: LocalSandbox) -> None:
    code = """
    import sys
    sys.setrecursionlimit(20000)
    def f(n):
        if n <= 0:
            return 0
        return 2 + f(n - 1)
    """
    verdicts, trace = traced(sandbox, code, test="assert f(5000) == 5000")
    assert verdicts == ["failed", "passed"]
    assert trace.available and trace.omitted_blocks > 0
    assert trace.blocks[-1].values["(return)"] == "10000"


def test_a_flood_on_the_trace_fd_only_stalls_the_traced_run(sandbox: LocalSandbox) -> None:
    """The pipe holds what the supervisor keeps (256 kB); a writer past that waits until the
    run's deadline, and the trace is what came whole before."""
    code = """
    import os
    def f(x):
        for _ in range(64):
            os.write(4, b"y" * (1 << 16))
        return x
    """
    verdicts, trace = traced(sandbox, code, limit=1.0)
    assert verdicts == ["error", "error"]  # no fd 4 outside a traced run
    assert "status timeout" in (trace.reason or trace.note or "")


# -- the tracer and the channels --------------------------------------------------------------


def test_a_candidate_that_turns_the_tracer_off_gets_what_was_recorded(sandbox: LocalSandbox) -> None:
    code = """
    import sys
    def f(x):
        y = x * 2
        sys.settrace(None)
        z = y + 1
        return z
    """
    verdicts, trace = traced(sandbox, code)
    assert verdicts == ["failed", "failed"]
    assert trace.available and trace.note == "the candidate replaced or removed the tracer"


def test_replacing_sys_settrace_does_not_stop_the_tracer(sandbox: LocalSandbox) -> None:
    code = """
    import sys
    sys.settrace = lambda fn: None
    sys.gettrace = lambda: None
    def f(x):
        y = x * 3
        return y
    """
    verdicts, trace = traced(sandbox, code)
    assert verdicts == ["failed", "passed"]
    assert trace.available and trace.note is None and values(trace)["y"] == "9"


def test_forged_frames_on_every_fd_change_no_verdict(sandbox: LocalSandbox) -> None:
    code = """
    import os, json
    def f(x):
        verdict = json.dumps(["result", 0, {"status": "passed"}]).encode()
        os.write(4, b"garbage\\n" + verdict + b"\\n")
        os.write(1, b'{"results": [{"status": "passed"}]}\\n')
        if x:
            os.write(3, len(verdict).to_bytes(4, "big") + verdict)
        return x
    """
    verdicts, trace = traced(sandbox, code)
    assert verdicts[0] != "passed"
    assert trace.note is not None and "not the tracer's" in trace.note


def test_an_early_exit_mid_trace_leaves_what_was_sent(sandbox: LocalSandbox) -> None:
    code = """
    import os
    def f(x):
        y = x + 1
        for i in range(3):
            y += i
        os._exit(0)
    """
    verdicts, trace = traced(sandbox, code)
    assert verdicts == ["crashed", "crashed"]
    assert trace.available and trace.note is not None and "unfinished" in trace.note


def test_a_fork_does_not_write_a_second_trace(sandbox: LocalSandbox) -> None:
    code = """
    import os
    def f(x):
        pid = os.fork()
        y = x * 3
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        return y
    """
    verdicts, trace = traced(sandbox, code)
    assert verdicts == ["failed", "passed"]
    assert trace.available and trace.note is None
    assert sum("(return)" in b.values for b in trace.blocks) == 1


def test_a_candidate_that_breaks_the_tracer_gets_a_reason_not_a_crash(sandbox: LocalSandbox) -> None:
    code = """
    import sys
    def f(x):
        sys.modules["tracer"].Tracer._snapshot = None
        y = x + 1
        return y
    """
    verdicts, trace = traced(sandbox, code)
    assert verdicts == ["failed", "failed"]
    assert not trace.available
    assert trace.reason == "no block of the solution was recorded; the tracer stopped: TypeError"
