"""LocalSandbox behaviour on ordinary candidates: verdicts, report fields, I/O tests, fallbacks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import make_problem, skip_unless_counting

from codemend.errors import SandboxUnavailable, UserError
from codemend.problems import Problem
from codemend.sandbox import DockerSandbox, LocalSandbox


def test_passing_and_failing_asserts_report_call_expected_and_actual(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(2) == 4", "assert f(3) == 10", "assert 7 == f(1)")
    report = sandbox.run(problem, "def f(x):\n    return x * x\n")
    assert [r.status for r in report.results] == ["passed", "failed", "failed"]
    failed = report.results[1]
    assert (failed.call, failed.expected, failed.actual) == ("f(3)", "10", "9")
    assert failed.assertion == "assert f(3) == 10"
    # the side that calls the solution is the actual one, whichever side it is on
    assert (report.results[2].expected, report.results[2].actual) == ("7", "1")
    assert report.n_passed == 1 and not report.passed
    assert report.fraction_passed == pytest.approx(1 / 3)
    assert report.isolation == "namespaces" and report.backend == "local"


def test_exception_in_the_solution_has_a_trimmed_traceback(sandbox: LocalSandbox) -> None:
    code = "def helper(x):\n    return 1 / x\n\ndef f(x):\n    return helper(x - 2)\n"
    report = sandbox.run(make_problem("assert f(2) == 4"), code)
    (result,) = report.results
    assert result.status == "error"
    assert (result.exc_type, result.exc_message) == ("ZeroDivisionError", "division by zero")
    assert result.traceback is not None
    assert 'File "solution.py", line 5, in f' in result.traceback
    assert 'File "solution.py", line 2, in helper' in result.traceback
    assert "supervisor" not in result.traceback and "harness" not in result.traceback


def test_syntax_error_is_reported_with_its_line(sandbox: LocalSandbox) -> None:
    report = sandbox.run(make_problem("assert f(2) == 4"), "def f(x):\n    return (x\n")
    (result,) = report.results
    assert result.status == "error" and result.exc_type == "SyntaxError"
    assert result.detail == "the solution raised while loading"
    assert "line 2" in (result.traceback or "")


def test_expected_exceptions_keep_their_builtin_type(sandbox: LocalSandbox) -> None:
    test = "try:\n    f(-1)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError('no ValueError')"
    code = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n"
    assert sandbox.run(make_problem(test), code).passed
    assert not sandbox.run(make_problem(test), "def f(x):\n    return x\n").passed


def test_in_place_mutation_of_arguments_is_visible_to_the_test(sandbox: LocalSandbox) -> None:
    test = "xs = [3, 1, 2]\nf(xs)\nassert xs == [1, 2, 3]"
    assert sandbox.run(make_problem(test), "def f(xs):\n    xs.sort()\n").passed


def test_other_solution_functions_are_callable_from_tests(sandbox: LocalSandbox) -> None:
    code = "def encode(s):\n    return s[::-1]\n\ndef f(s):\n    return s[::-1]\n"
    assert sandbox.run(make_problem("assert f(encode('abc')) == 'abc'"), code).passed


def test_setup_code_runs_before_each_test(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(BASE) == BASE * 2", test_setup_code="BASE = 21")
    assert sandbox.run(problem, "def f(x):\n    return x * 2\n").passed


def test_failing_setup_code_is_an_error_on_every_test(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(1) == 1", "assert f(2) == 2", test_setup_code="1 / 0")
    report = sandbox.run(problem, "def f(x):\n    return x\n")
    assert [r.detail for r in report.results] == ["the test setup code raised"] * 2


def test_missing_entry_point_is_an_error(sandbox: LocalSandbox) -> None:
    report = sandbox.run(make_problem("assert f(1) == 1"), "def g(x):\n    return x\n")
    assert report.results[0].status == "error"
    assert report.results[0].exc_type == "NameError"


LEETCODE = (
    "class Solution:\n"
    "    def twoSum(self, nums, target):\n"
    "        seen = {}\n"
    "        for i, n in enumerate(nums):\n"
    "            if target - n in seen:\n"
    "                return [seen[target - n], i]\n"
    "            seen[n] = i\n"
)


def test_leetcode_style_methods_are_proxied_and_trusted(sandbox: LocalSandbox) -> None:
    problem = make_problem(
        "assert Solution().twoSum([2, 7, 11, 15], 9) == [0, 1]",
        "assert Solution().twoSum([3, 3], 6) == [1, 0]",
        entry_point="Solution",
    )
    report = sandbox.run(problem, LEETCODE)
    assert [(r.status, r.trusted) for r in report.results] == [("passed", True), ("failed", True)]
    assert (report.results[1].call, report.results[1].actual) == ("Solution.twoSum([3, 3], 6)", "[0, 1]")


def test_a_class_built_with_arguments_runs_in_the_child(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert Box(3).get() == 3", entry_point="Box")
    code = (
        "class Box:\n    def __init__(self, v):\n        self.v = v\n"
        "    def get(self):\n        return self.v\n"
    )
    (result,) = sandbox.run(problem, code).results
    assert (result.status, result.trusted) == ("passed", False)


def test_setup_that_builds_the_solutions_objects_runs_tests_in_the_child(sandbox: LocalSandbox) -> None:
    problem = make_problem(
        "assert depth(tree) == 2", entry_point="depth", test_setup_code="tree = Node(Node(None))"
    )
    code = (
        "class Node:\n    def __init__(self, child):\n        self.child = child\n"
        "def depth(n):\n    return 0 if n is None else 1 + depth(n.child)\n"
    )
    (result,) = sandbox.run(problem, code).results
    assert (result.status, result.trusted) == ("passed", False)


def test_a_test_passing_a_function_runs_in_the_child_untrusted(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(lambda v: v + 1, 2) == 3")
    report = sandbox.run(problem, "def f(fn, x):\n    return fn(x)\n")
    assert report.results[0].status == "passed"
    assert report.results[0].trusted is False


def test_declared_in_child_test_is_untrusted(sandbox: LocalSandbox) -> None:
    problem = Problem.model_validate(
        {
            "id": "c",
            "prompt": "",
            "entry_point": "Counter",
            "tests": [{"code": "c = Counter()\nc.add(2)\nassert c.total == 2", "in_child": True}],
        }
    )
    code = "class Counter:\n    total = 0\n    def add(self, n):\n        self.total += n\n"
    (result,) = sandbox.run(problem, code).results
    assert (result.status, result.trusted) == ("passed", False)


def test_returning_a_non_plain_object_fails_with_a_clear_message(sandbox: LocalSandbox) -> None:
    report = sandbox.run(make_problem("assert f(1) == 1"), "def f(x):\n    return iter([x])\n")
    assert report.results[0].status == "failed"
    assert report.results[0].actual == "<a builtins.list_iterator object: only plain data can be checked>"


def test_captured_output(sandbox: LocalSandbox) -> None:
    code = (
        "import sys\nprint('loading')\n"
        "def f(x):\n    print('hi', x)\n    sys.stderr.write('warn\\n')\n    return x\n"
    )
    report = sandbox.run(make_problem("assert f(1) == 1"), code)
    assert report.passed
    assert report.stdout == "loading\nhi 1\n" and report.stderr == "warn\n"


def test_subset_of_tests_and_indexes(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(1) == 1", "assert f(2) == 2")
    report = sandbox.run(problem, "def f(x):\n    return x\n", problem.tests[1:])
    assert [r.index for r in report.results] == [0]
    assert report.passed


def test_phases_say_where_a_runs_time_went(sandbox: LocalSandbox) -> None:
    """``phases`` (for perf/): every phase of the run, the host's and the supervisor's, each a
    non-negative share of the run's own wall-clock time; the verdicts are the same as without."""
    problem = make_problem("assert f(1) == 1", "assert f(2) == 3")
    phases: dict[str, float] = {}
    start = time.monotonic()
    report = sandbox.run(problem, "def f(x):\n    return x\n", phases=phases)
    elapsed = time.monotonic() - start
    assert [r.status for r in report.results] == ["passed", "failed"]
    assert {
        "host: build the job",
        "frames: job to supervisor, reply to host",
        "candidate: the spare, or one spawned by the zygote",
        "harness and candidate start",
        "tests (proxy round trips included)",
        "between tests",
        "end of run: candidate exits, directory removed",
        "host: read the reply",
    } <= set(phases)
    assert all(v >= 0 for v in phases.values())
    assert sum(phases.values()) <= elapsed
    plain = sandbox.run(problem, "def f(x):\n    return x\n")
    assert [r.status for r in plain.results] == ["passed", "failed"]


def test_async_run(sandbox: LocalSandbox) -> None:
    problem = make_problem("assert f(1) == 1")
    reports = asyncio.run(_gather(sandbox, problem))
    assert all(r.passed for r in reports)


async def _gather(sandbox: LocalSandbox, problem: Problem) -> list:  # type: ignore[type-arg]
    return await asyncio.gather(*(sandbox.arun(problem, "def f(x):\n    return x\n") for _ in range(4)))


# -- I/O tests ----------------------------------------------------------------------------

IO_PROBLEM = Problem.model_validate(
    {
        "id": "io",
        "prompt": "add",
        "time_limit_s": 2,
        "tests": [
            {"stdin": "1 2\n", "expected_stdout": "3\n"},
            {"stdin": "10 -4\n", "expected_stdout": "6", "visibility": "hidden"},
        ],
    }
)


def _io(sandbox: LocalSandbox, code: str) -> list[str]:
    return [r.status for r in sandbox.run(IO_PROBLEM, textwrap.dedent(code)).results]


def test_io_tests_compare_output_ignoring_trailing_whitespace(sandbox: LocalSandbox) -> None:
    code = "a, b = map(int, input().split())\nprint(a + b, '  ')\n"
    report = sandbox.run(IO_PROBLEM, code)
    assert [r.status for r in report.results] == ["passed", "passed"]
    assert report.results[1].visibility == "hidden"


def test_io_wrong_output_shows_expected_and_actual(sandbox: LocalSandbox) -> None:
    report = sandbox.run(IO_PROBLEM, "print(0)\n")
    assert report.results[0].status == "failed"
    assert (report.results[0].expected, report.results[0].actual) == ("3\n", "0\n")


def test_io_program_may_exit_zero_after_answering(sandbox: LocalSandbox) -> None:
    assert (
        _io(sandbox, "import sys\na, b = map(int, input().split())\nprint(a + b)\nsys.exit(0)\n")
        == ["passed"] * 2
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("import sys\nprint(3)\nsys.exit(1)\n", "error"),
        ("print(3)\nraise RuntimeError('late')\n", "error"),
        ("import os\nprint(3, flush=True)\nos._exit(0)\n", "passed"),
        ("while True:\n    pass\n", "timeout"),
        ("x = bytearray(64 * 1024**3)\n", "memory"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "crashed"),
    ],
    ids=["exit-1", "raise", "os-exit-after-answering", "loop", "memory", "segv"],
)
def test_io_programs_that_misbehave(sandbox: LocalSandbox, code: str, status: str) -> None:
    statuses = _io(sandbox, code)
    assert statuses[0] == status


def test_io_flood_is_capped_and_fails(sandbox: LocalSandbox) -> None:
    report = sandbox.run(IO_PROBLEM, "import sys\nwhile True:\n    sys.stdout.write('3\\n' * 10000)\n")
    assert report.results[0].status in ("failed", "timeout")
    assert len(report.results[0].actual or "") < 10_000


# -- isolation levels ---------------------------------------------------------------------


def test_required_isolation_raises_when_bubblewrap_is_missing() -> None:
    with (
        LocalSandbox(workers=1, isolation="namespaces", bwrap_path="/nonexistent/bwrap") as sb,
        pytest.raises(SandboxUnavailable),
    ):
        sb.start()


def test_auto_falls_back_to_rlimits_once_with_a_warning() -> None:
    """Once per process: run in a fresh one, so no earlier test's warning counts."""
    script = (
        "import logging\n"
        "from conftest import make_problem\n"
        "from codemend.sandbox import LocalSandbox\n"
        "logging.basicConfig(level=logging.WARNING, format='%(name)s: %(message)s')\n"
        "with LocalSandbox(workers=1, isolation='auto', bwrap_path='/nonexistent/bwrap') as sb:\n"
        "    report = sb.run(make_problem('assert f(2) == 4'), 'def f(x):\\n    return x * x\\n')\n"
        "with LocalSandbox(workers=1, isolation='auto', bwrap_path='/nonexistent/bwrap') as sb2:\n"
        "    sb2.start()\n"
        "print(report.passed, report.isolation)\n"
    )
    tests = str(Path(__file__).resolve().parent)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=tests, env={**os.environ, "PYTHONPATH": tests})  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "rlimits"]
    assert out.stderr.count("namespaces are unavailable") == 1, out.stderr


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("def f(x):\n    return x * x\n", "passed"),
        ("class L:\n    def __eq__(s, o): return True\ndef f(x):\n    return L()\n", "failed"),
        ("import sys\nsys.exit(0)\n", "error"),
        ("def f(x):\n    while True:\n        pass\n", "timeout"),
    ],
)
def test_verdicts_hold_with_rlimits_only(code: str, status: str) -> None:
    with LocalSandbox(workers=1, isolation="rlimits") as sb:
        report = sb.run(make_problem("assert f(2) == 4", time_limit_s=1.0), code)
    assert report.isolation == "rlimits"
    assert report.results[0].status == status


def _kill_workers_during(sb: LocalSandbox, times: int) -> threading.Thread:
    """SIGKILL the pool's worker processes (bwrap and its supervisor) ``times`` times, each
    0.5 s after a job started, from outside: a worker lost mid-run for real."""

    def killer() -> None:
        for _ in range(times):
            time.sleep(0.5)
            for pid in sb.worker_pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    return thread


def test_a_worker_lost_once_is_replaced_and_the_run_retried() -> None:
    problem = make_problem("assert f(2) == 4", time_limit_s=3.0)
    code = "import time\ndef f(x):\n    time.sleep(1.0)\n    return x * x\n"
    with LocalSandbox(workers=1, isolation="namespaces") as sb:
        sb.start()
        killer = _kill_workers_during(sb, 1)
        report = sb.run(problem, code)
        killer.join()
        assert report.passed
        assert sb.run(problem, "def f(x):\n    return x * x\n").passed


def test_a_run_whose_worker_is_lost_twice_is_crashed_and_the_pool_goes_on() -> None:
    problem = make_problem("assert f(2) == 4", "assert f(3) == 9", time_limit_s=3.0)
    code = "import time\ndef f(x):\n    time.sleep(1.0)\n    return x * x\n"
    with LocalSandbox(workers=1, isolation="namespaces") as sb:
        sb.start()
        killer = _kill_workers_during(sb, 2)
        report = sb.run(problem, code)
        killer.join()
        assert [r.status for r in report.results] == ["crashed", "crashed"]
        assert "lost twice" in (report.results[0].detail or "")
        assert sb.run(problem, "def f(x):\n    return x * x\n").passed


def test_each_candidate_is_contained_in_namespaces_of_its_own(sandbox: LocalSandbox) -> None:
    """As root and as any user: a PID namespace whose init (PID 1, the pod's, ``runtime/pods.py``)
    is its parent and holds nothing of any earlier run (it sees only itself and that init, or
    no /proc entry at all), and a self-inflicted signal still ends the candidate."""
    code = (
        "import os\n"
        "def f():\n"
        "    pid = os.getpid()\n"
        "    seen = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "    return pid > 1, os.getppid(), seen in ([1, pid], [])\n"
    )
    problem = make_problem("assert f() == (True, 1, True)", entry_point="f")
    for _ in range(3):
        report = sandbox.run(problem, code)
        assert report.passed, report.results[0]
    assert sandbox.contained is True
    killed = sandbox.run(make_problem("assert f() == 1"), "import os, signal\nos.kill(os.getpid(), 9)\n")
    assert killed.results[0].status == "crashed"
    assert "SIGKILL" in (killed.results[0].detail or "")


def test_a_worker_started_by_a_host_that_ignores_signals_behaves_as_any(sandbox: LocalSandbox) -> None:
    """Ignored signals survive fork and exec. A host that ignores SIGCHLD (whose workers could then
    not wait for their children), SIGINT, SIGTERM and SIGHUP while the pool starts still gets a
    worker whose candidates see the dispositions of a plain start and, where instructions can be
    counted, count what the shared pool's count (Python reads the dispositions it inherits)."""
    ignored = (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    saved = {sig: signal.getsignal(sig) for sig in ignored}
    for sig in ignored:
        signal.signal(sig, signal.SIG_IGN)
    box = LocalSandbox(workers=1, isolation="namespaces")
    try:
        box.start()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    code = "import signal\ndef f(x):\n    return [str(signal.getsignal(s)) for s in signal.valid_signals()]\n"
    problem = make_problem("assert f(0) == 0")
    counted = make_problem("assert f(20) == 6765")
    fib = "def f(n):\n    return n if n < 2 else f(n - 1) + f(n - 2)\n"
    with box:
        seen = box.run(problem, code).results[0].actual
        assert seen is not None and seen == sandbox.run(problem, code).results[0].actual
        if sandbox.cost_unavailable("instructions") is None:
            count = box.run(counted, fib, cost="instructions").instructions
            assert count is not None and count == sandbox.run(counted, fib, cost="instructions").instructions


# -- instruction counts (cost="instructions", valgrind) ----------------------------------------


def _loop(n: int) -> str:
    return f"def f(x):\n    total = 0\n    for i in range({n}):\n        total += i % 7\n    return x\n"


@pytest.fixture
def counting(sandbox: LocalSandbox) -> LocalSandbox:
    skip_unless_counting(sandbox)
    return sandbox


@pytest.mark.slow
def test_the_same_program_counts_the_same_every_time_while_the_machine_is_busy(
    counting: LocalSandbox,
) -> None:
    """Five runs, another process spinning on a core meanwhile: one count; CPU time still comes."""
    problem = make_problem("assert f(20) == 6765", "assert f(22) == 17711")
    code = "def f(n):\n    return n if n < 2 else f(n - 1) + f(n - 2)\n"
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        reports = [counting.run(problem, code, cost="instructions") for _ in range(5)]
    finally:
        busy.kill()
        busy.wait()
    assert all(r.passed for r in reports)
    counts = {r.instructions for r in reports}
    assert len(counts) == 1 and None not in counts, counts
    assert all(r.cpu_s is not None and r.cpu_s > 0 for r in reports)
    assert counting.run(problem, code).instructions is None  # cost "cpu": nothing counted


@pytest.mark.slow
def test_ten_times_the_work_counts_ten_times_the_instructions(counting: LocalSandbox) -> None:
    problem = make_problem("assert f(1) == 1")
    none, once, ten = (
        counting.run(problem, _loop(n), cost="instructions").instructions for n in (0, 20_000, 200_000)
    )
    assert none is not None and once is not None and ten is not None
    assert 9.5 < (ten - none) / (once - none) < 10.5, (none, once, ten)


@pytest.mark.slow
def test_only_the_candidate_is_counted_not_the_test_code(counting: LocalSandbox) -> None:
    """Heavy test set-up and test code run in the harness: the candidate's count does not move."""
    light = make_problem("assert f(1) == 1")
    heavy = make_problem(
        "assert f(sum(i * i for i in range(300_000)) % 2 + 1) == 1",
        test_setup_code="TABLE = sorted(str(i) for i in range(300_000))",
    )
    code = _loop(1000)
    assert counting.run(light, code, cost="instructions").instructions == (
        counting.run(heavy, code, cost="instructions").instructions
    )


@pytest.mark.slow
def test_io_programs_are_counted_and_a_job_counts_all_its_candidates(counting: LocalSandbox) -> None:
    io = [{"stdin": f"{n}\n", "expected_stdout": f"{sum(range(n))}\n"} for n in (10, 50_000)]
    problem = Problem.model_validate(
        {"id": "t", "prompt": "", "entry_point": "f", "tests": [{"code": "assert f(1) == 1"}, *io]}
    )
    code = _loop(1000) + "if __name__ == '__main__':\n    print(sum(range(int(input()))))\n"
    each = [counting.run(problem, code, [t], cost="instructions") for t in problem.tests]
    assert all(r.passed and r.instructions for r in each)
    short, long = each[1].instructions, each[2].instructions
    assert short is not None and long is not None and long > short
    whole = counting.run(problem, code, cost="instructions")
    assert whole.passed and whole.instructions == sum(r.instructions or 0 for r in each)


def test_counted_and_uncounted_async_runs(counting: LocalSandbox) -> None:
    problem = make_problem("assert f(1) == 1")
    counted = asyncio.run(counting.arun(problem, _loop(10), cost="instructions"))
    assert counted.passed and counted.instructions
    assert asyncio.run(counting.arun(problem, _loop(10))).instructions is None


def test_cpu_time_is_always_available_and_docker_says_why_it_cannot_count() -> None:
    docker = DockerSandbox()  # no engine needed: nothing starts
    assert docker.cost_unavailable("cpu") is None
    why = docker.cost_unavailable("instructions")
    assert why is not None and "docker" in why and "valgrind" in why


def test_a_sandbox_without_valgrind_says_so_and_refuses_to_count() -> None:
    with LocalSandbox(workers=1, isolation="namespaces", valgrind_path="/nonexistent/valgrind") as sb:
        why = sb.cost_unavailable("instructions")
        assert why is not None and "valgrind is not installed" in why
        with pytest.raises(UserError, match="valgrind is not installed"):
            sb.run(make_problem("assert f(1) == 1"), _loop(10), cost="instructions")
        assert sb.run(make_problem("assert f(1) == 1"), _loop(10)).passed  # CPU time still works


def test_counting_where_bubblewrap_is_missing() -> None:
    """Required namespaces that cannot be had: ``SandboxUnavailable`` names bubblewrap, whatever the
    cost. With ``auto``, the rlimits fallback counts only where candidates are still contained."""
    nowhere = "/nonexistent/bwrap"
    with LocalSandbox(workers=1, isolation="namespaces", bwrap_path=nowhere) as sb:
        with pytest.raises(SandboxUnavailable, match="bubblewrap not found"):
            sb.cost_unavailable("instructions")
        with pytest.raises(SandboxUnavailable, match="bubblewrap not found"):
            sb.run(make_problem("assert f(1) == 1"), _loop(10), cost="instructions")
    with LocalSandbox(workers=1, isolation="rlimits") as sb:
        why = sb.cost_unavailable("instructions")
        problem = make_problem("assert f(1) == 1")
        if why is None:  # candidates contained without bubblewrap, and able to run valgrind
            report = sb.run(problem, _loop(10), cost="instructions")
            assert report.isolation == "rlimits" and report.passed and report.instructions
        else:  # e.g. "candidates cannot run /root/.../python3.11 here"
            assert why.endswith("here") or "not contained" in why, why
            with pytest.raises(UserError, match=re.escape(why)):
                sb.run(problem, _loop(10), cost="instructions")


def test_workers_outlive_the_thread_that_started_them() -> None:
    """A pool started from a thread that then ends (asyncio.to_thread, a trainer's reward thread)
    kept no worker: bubblewrap's --die-with-parent follows the thread that forked it."""
    with LocalSandbox(workers=1) as sb:
        starter = threading.Thread(target=sb.start)
        starter.start()
        starter.join()
        (pid,) = sb.worker_pids()
        time.sleep(0.3)  # what a dying parent thread would take to reach the worker
        with open(f"/proc/{pid}/status") as status:
            state = next(line for line in status if line.startswith("State:")).split()[1]
        assert state != "Z", "the worker died with the thread that started it"
        assert sb.worker_pids() == [pid]
