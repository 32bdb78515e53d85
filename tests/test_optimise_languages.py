"""``--objective speed`` for compiled languages (real sandbox and toolchains): the candidate's
cost is its built program's CPU time, compile time apart and recorded with the compile command;
the baseline is the reference solution in the problem's language. Hostile candidates: a C++ or Rust
build that takes seconds is not run time; work done in a child, waited for or detached, is counted or
ends the run without an answer, never making the candidate look faster."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from language_bench_helpers import problem_file, program
from language_helpers import NATIVE, need_toolchain

from codemend.errors import ProblemError, UserError
from codemend.languages import LanguageName, language
from codemend.optimise import Speed, measure_speed, prepare_workload
from codemend.problems import PerfTest, Problem, load_problem
from codemend.sandbox import LocalSandbox

pytestmark = pytest.mark.slow
QUICK = Speed(repetitions=4, warmup=0)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox(workers=1) as box:
        yield box


def speed_problem(name: LanguageName, n: int = 100_000) -> Problem:
    """The fixture problem with a hidden performance input of ``n`` numbers and its correct
    program as the reference solution."""
    rng = random.Random(7)
    stdin = f"{n}\n" + " ".join(str(rng.randint(-(10**9), 10**9)) for _ in range(n)) + "\n"
    problem = load_problem(problem_file(name))
    return problem.model_copy(
        update={"perf_tests": [PerfTest(stdin=stdin)], "reference_solution": program(name)}
    )


@pytest.mark.parametrize("name", NATIVE)
def test_a_compiled_candidate_is_measured_by_its_run_and_the_build_is_recorded(
    name: LanguageName, sandbox: LocalSandbox
) -> None:
    need_toolchain(name)
    problem = speed_problem(name)
    work = prepare_workload(sandbox, problem, program(name), hidden=True)
    assert [i.split(" (")[0] for i in work.inputs] == ["a hidden stdin"]
    measured = measure_speed(sandbox, work, program(name), program(name), QUICK)
    assert measured.method == "cpu" and measured.language == name
    tool = language(name).compile[0]
    assert measured.compile_command is not None and tool in measured.compile_command
    assert len(measured.compile_s) == QUICK.repetitions and all(s > 0 for s in measured.compile_s)
    assert len(measured.candidate_s) == QUICK.repetitions and all(s > 0 for s in measured.candidate_s)
    assert measured.verdict != "incorrect" and measured.speedup is not None
    dumped = measured.model_dump()
    assert dumped["language"] == name and dumped["compile_command"] == measured.compile_command

    wrong = program(name, "buggy") if name != "javascript" else program(name).replace("best", "0 * best", 1)
    failed = measure_speed(sandbox, work, program(name), wrong, QUICK)
    assert failed.verdict == "incorrect" and failed.failure is not None


def test_a_python_measurement_serialises_as_before(sandbox: LocalSandbox) -> None:
    problem = speed_problem("python", n=2000)
    work = prepare_workload(sandbox, problem, program("python"), hidden=True)
    measured = measure_speed(sandbox, work, program("python"), program("python"), Speed(repetitions=2))
    assert measured.language is None and measured.compile_command is None
    assert not {"language", "compile_command", "compile_s"} & set(measured.model_dump())


def test_instructions_are_refused_for_compiled_languages_saying_what_to_use(sandbox: LocalSandbox) -> None:
    need_toolchain("c")
    work = prepare_workload(sandbox, speed_problem("c", n=10), program("c"), hidden=True)
    with pytest.raises(UserError, match=r"instructions are counted for Python candidates only; measure C "):
        measure_speed(sandbox, work, program("c"), program("c"), Speed(cost="instructions"))
    assert Speed(cost="instructions").unavailable_for("rust") is not None
    assert Speed().unavailable_for("rust") is None


def test_a_baseline_in_another_language_is_refused(sandbox: LocalSandbox) -> None:
    need_toolchain("cpp")
    problem = speed_problem("cpp", n=10)
    with pytest.raises(
        ProblemError, match="the baseline must be in the problem's language: the code is written in"
    ):
        prepare_workload(sandbox, problem, program("java"), hidden=True)


# A constexpr (C++) or const (Rust) computation that keeps the compiler busy for about a second
# (seconds under load); the program is the solution.
_SLOW_BUILD = """
#include <cstdint>
constexpr std::uint64_t churn() {
    std::uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 20000; ++i)
        for (int j = 0; j < 10; ++j) h = (h ^ (i * 10 + j)) * 1099511628211ull;
    return h;
}
static_assert(churn() != 42, "");
"""
_SLOW_BUILDS = {
    "cpp": _SLOW_BUILD,
    # rustc's const evaluator stops one constant after a million steps: several constants
    "rust": "const fn churn(seed: u64) -> u64 {\n    let mut h: u64 = 1469598103934665603 ^ seed;\n"
    "    let mut i: u64 = 0;\n    while i < 120_000 {\n        h = (h ^ i).wrapping_mul(1099511628211);\n"
    "        i += 1;\n    }\n    h\n}\n"
    + "".join(f"const C{i}: u64 = churn({i});\n" for i in range(8))
    + "const _: () = assert!(("
    + " ^ ".join(f"C{i}" for i in range(8))
    + ") != 42);\n",
}

# The work done in a forked child (waited for, or detached into a new session): the parent
# answers nothing itself.
_IN_CHILD = """
#include <sys/wait.h>
#include <unistd.h>
int main() {
    pid_t pid = fork();
    if (pid == 0) {
        DETACH
        solve();
        return 0;
    }
    PARENT
}
"""
_SPIN = (
    "    volatile unsigned long spin = 0;\n    for (unsigned long i = 0; i < 400000000ul; ++i) spin += i;\n"
)


def _solution_as(function: str, extra: str = "") -> str:
    """The C++ solution with its ``main`` renamed ``solve`` (and ``extra`` work at its start)."""
    code = program("cpp").replace("int main() {", f"static void {function}() {{\n{extra}", 1)
    return code


@pytest.mark.parametrize("name", ["cpp", "rust"])
def test_compile_time_is_not_the_candidates_cost(name: LanguageName, sandbox: LocalSandbox) -> None:
    need_toolchain(name)
    problem = speed_problem(name)
    work = prepare_workload(sandbox, problem, program(name), hidden=True)
    candidate = _SLOW_BUILDS[name] + program(name)
    measured = measure_speed(sandbox, work, program(name), candidate, QUICK)
    assert measured.verdict != "incorrect", measured.failure
    assert measured.candidate_median_s is not None and measured.baseline_median_s is not None
    # the build took far longer than the run, and none of it is in the run's cost
    assert min(measured.compile_s) > 10 * measured.candidate_median_s
    assert measured.candidate_median_s < 3 * measured.baseline_median_s + 0.05


def test_work_in_a_waited_child_is_counted(sandbox: LocalSandbox) -> None:
    need_toolchain("cpp")
    work = prepare_workload(sandbox, speed_problem("cpp"), program("cpp"), hidden=True)
    candidate = _solution_as("solve") + _IN_CHILD.replace("DETACH", "").replace(
        "PARENT", "waitpid(pid, nullptr, 0);\n    return 0;"
    )
    measured = measure_speed(sandbox, work, program("cpp"), candidate, QUICK)
    assert measured.verdict != "incorrect", measured.failure
    assert measured.candidate_median_s is not None and measured.baseline_median_s is not None
    assert measured.candidate_median_s > 0.5 * measured.baseline_median_s  # the child's CPU is there


def test_work_in_a_detached_child_never_looks_faster(sandbox: LocalSandbox) -> None:
    """The parent exits at once; a grandchild in a session of its own does the work and more
    (a busy loop): either its CPU is counted (slower) or the run ends without its answer
    (incorrect). Free work, a cost shifted out of the measured tree, would read as faster."""
    need_toolchain("cpp")
    work = prepare_workload(sandbox, speed_problem("cpp"), program("cpp"), hidden=True)
    candidate = _solution_as("solve", _SPIN) + _IN_CHILD.replace(
        "DETACH", "setsid();\n        if (fork() != 0) return 0;"
    ).replace("PARENT", "return 0;")
    measured = measure_speed(sandbox, work, program("cpp"), candidate, QUICK)
    assert measured.verdict in ("incorrect", "slower"), measured.model_dump()
