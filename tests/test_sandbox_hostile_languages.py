"""Hostile programs in C, C++, Java, JavaScript and Rust: every attack ends as a correct,
not-passed verdict, with the worker and the host unharmed (the Python ones are in
test_sandbox_hostile.py).

A built program runs with no channel to the supervisor: how it ended is its wait status and its
stdout, both taken outside it, so nothing it writes on any fd can pass for a verdict. The
problems' expected output is a secret the programs do not compute and cannot find: any "passed"
would be a forgery. The compiler is attacked too (templates, macros, const evaluation): its
time and memory are limited apart from the run's, and a compiler that does not finish is a
compile verdict, not a worker lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from language_helpers import DOUBLE, NATIVE, io_problem, need_toolchain
from test_sandbox_hostile import sandbox_uid_processes

from codemend.records import TestReport
from codemend.sandbox import LocalSandbox
from codemend.sandbox.pool import SandboxLimits
from codemend.sandbox.toolchains import CompileLimits

HOSTILE = Path(__file__).parent / "data" / "hostile"
LANGUAGE_OF = {".c": "c", ".cpp": "cpp", ".java": "java", ".js": "javascript", ".rs": "rust"}
SECRET = "SECRET-7f3a\n"
COMPILE_LIMIT_S = 5.0


@pytest.fixture(scope="module")
def box() -> Iterator[LocalSandbox]:
    """One worker, namespaces required, and a short compile limit for the compiler bombs."""
    limits = SandboxLimits(compile=CompileLimits(time_s=COMPILE_LIMIT_S))
    with LocalSandbox(workers=1, isolation="namespaces", limits=limits) as sandbox:
        sandbox.start()
        yield sandbox


def run(box: LocalSandbox, lang: str, code: str, limit: float = 2.0) -> TestReport:
    need_toolchain(lang)
    problem = io_problem(lang, ("21\n", SECRET), time_limit_s=limit, memory_limit_mb=256)
    return box.run(problem, code)


def only(report: TestReport) -> tuple[str, str]:
    (result,) = report.results
    return result.status, result.actual or ""


def programs(attack: str) -> list[Path]:
    """The attack's programs, one file each: tests/data/hostile/ATTACK/NAME.EXT."""
    return sorted((HOSTILE / attack).iterdir())


def attack(box: LocalSandbox, path: Path, limit: float = 2.0) -> TestReport:
    """Run the program in ``path`` (its language from its extension) on one hidden test."""
    return run(box, LANGUAGE_OF[path.suffix], path.read_text(), limit)


@pytest.mark.parametrize("path", programs("exit_early"), ids=lambda p: p.name)
def test_exiting_early_with_status_0_is_a_failure(box: LocalSandbox, path: Path) -> None:
    assert only(attack(box, path)) == ("failed", "")


@pytest.mark.parametrize("path", programs("forged"), ids=lambda p: p.name)
def test_forged_verdicts_on_every_fd_are_only_output(box: LocalSandbox, path: Path) -> None:
    """Frames and JSON verdicts written to every fd (stdout and stderr included) reach nothing
    that decides: the supervisor compares stdout with the secret and reads the wait status."""
    report = attack(box, path)
    status, actual = only(report)
    assert status == "failed"
    assert "passed" in actual + report.stderr


@pytest.mark.parametrize("path", programs("read_tests"), ids=lambda p: p.name)
def test_the_tests_cannot_be_read_from_disk(box: LocalSandbox, path: Path) -> None:
    """The programs walk /tmp (the run and build directories), the runtime, /proc and /dev/shm
    for the expected output: the tests never touch the disk and the supervisor's memory is out
    of reach, so they find nothing."""
    assert only(attack(box, path)) == ("failed", "nothing\n")


@pytest.mark.parametrize("path", programs("fork_bomb"), ids=lambda p: p.name)
def test_fork_and_thread_bombs_time_out_and_leave_no_process(box: LocalSandbox, path: Path) -> None:
    status, _ = only(attack(box, path, limit=1.0))
    assert status == "timeout"
    assert sandbox_uid_processes(box) == []


ALLOCATED = {".java": "error"}  # the others: "crashed"


@pytest.mark.parametrize("path", programs("alloc"), ids=lambda p: p.name)
def test_allocating_without_end_stops_at_the_memory_limit(box: LocalSandbox, path: Path) -> None:
    """Native allocators fail and abort (SIGABRT), the JVM throws OutOfMemoryError (exit 1)."""
    report = attack(box, path)
    status, _ = only(report)
    assert status == ALLOCATED.get(path.suffix, "crashed")
    assert report.results[0].duration_s < 2.0


@pytest.mark.parametrize("path", programs("loop"), ids=lambda p: p.name)
def test_an_infinite_loop_is_a_timeout(box: LocalSandbox, path: Path) -> None:
    assert only(attack(box, path, limit=1.0)) == ("timeout", "")


@pytest.mark.slow
@pytest.mark.parametrize("path", programs("compiler_bomb"), ids=lambda p: p.name)
def test_a_compiler_that_does_not_finish_is_a_compile_verdict(box: LocalSandbox, path: Path) -> None:
    """Exponential macros and templates, and const evaluation that would take hours: the
    compiler is stopped at its own limits, every test gets the compile's verdict, none runs."""
    report = attack(box, path)
    assert report.compile is not None
    status, _ = only(report)
    if path.name == "constexpr.cpp" and report.compile.status == "error":
        # g++ has a constexpr operation limit of its own: reached before ours on a fast machine.
        assert status == "error" and "constexpr" in report.compile.output
        return
    assert report.compile.status in ("timeout", "memory")
    assert status == report.compile.status
    assert report.results[0].detail is not None and report.results[0].detail.startswith("not run: ")
    assert sandbox_uid_processes(box) == []


@pytest.mark.parametrize("name", NATIVE)
def test_the_worker_still_serves_after_the_attacks(box: LocalSandbox, name: str) -> None:
    need_toolchain(name)
    report = box.run(io_problem(name, ("4\n", "8\n")), DOUBLE[name])
    assert report.passed, report
