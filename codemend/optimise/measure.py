"""Measuring a candidate's cost against a baseline's, honestly, by one of two methods.

**CPU time** (``Speed(cost="cpu")``, the default). Each repetition runs the workload in a fresh
candidate process (the sandbox forks one per run), so nothing a candidate memoises survives
into the next repetition. The cost is the CPU time of that process's whole tree from fork to
exit, which the sandbox's supervisor reads from ``wait4`` — outside the candidate, so
import-time precomputation counts and no code in the candidate can change it; processes it
spawns are reaped inside its namespaces and counted. Baseline and candidate runs alternate
(ABBA) in the same sandbox after a warm-up, so machine load falls on both alike, and a
one-sided Mann-Whitney U test decides "faster" or "slower" — only for a difference of at least
``min_speedup``, so that timing noise is not a speedup. Where the sandbox cannot contain
candidates in namespaces of their own, a detached helper could do the work outside the reaped
tree, so the cost is then each run's wall time (method ``wall``): noisier, but no helper can
hide from it, since the answer waits for its work.

**Instructions** (``Speed(cost="instructions")``). The candidate's process runs under valgrind,
which counts its user-space instructions from outside its reach; the count repeats exactly for
the same program and inputs whatever else the machine does, so one run of each program replaces
the paired repetitions and an identical program is never "faster". The interpreter's start-up
(a program that does nothing, counted once per sandbox) is subtracted from both counts. A
counted candidate runs as one process (it cannot fork), and one that leaves no count (killed,
or killing itself after answering) is not measured: it is ``incorrect`` on the workload.

**Compiled languages** (C, C++, Java, JavaScript, Rust). Each run builds the program afresh in
the sandbox and then runs it; the compiler's CPU time is never added to the run's (the
supervisor resets it after the build) and its wall time is taken off a ``wall`` cost, so neither
side's compiling counts, however long a candidate's templates or const code make it. The
baseline is the problem's reference solution in the same language (a baseline in another
language would measure the language). The measurement records the language, the candidate's
compile command (compiler, standard and flags) and its compile times, apart from its cost.
Instructions are counted for Python candidates only: other languages take CPU time.
"""

from __future__ import annotations

import threading
import time
import weakref

from codemend.errors import InfrastructureError, ProblemError, UserError
from codemend.optimise.objective import Speed
from codemend.optimise.stats import mann_whitney, median
from codemend.optimise.workload import Workload
from codemend.problems import AssertTest, IOTest, Problem
from codemend.records import SpeedMeasurement, TestReport
from codemend.sandbox import Sandbox


def _failure(report: TestReport, workload: Workload) -> tuple[str, str | None]:
    for result in report.results:
        if not result.passed:
            what = "a wrong result" if result.status == "failed" else result.detail or result.exc_message
            return f"{result.status}: {what or result.status}", workload.inputs[result.index]
    return "no test ran", None


def _cost(report: TestReport, method: str) -> float:
    if method == "wall":  # less the compiling, which the run's wall time holds
        return report.duration_s - (report.compile.duration_s if report.compile is not None else 0.0)
    if report.cpu_s is None:
        raise InfrastructureError(f"the {report.backend} sandbox did not report the candidate's CPU time")
    return report.cpu_s


class _Builds:
    """What compiling the candidate took on each run (other languages than Python): recorded
    with the measurement, never counted as its cost (the sandbox reports it apart)."""

    def __init__(self) -> None:
        self.command: str | None = None
        self.compile_s: list[float] = []

    def saw(self, report: TestReport) -> None:
        """Note how ``report``'s candidate was built."""
        if report.compile is not None:
            self.command = report.compile.command
            self.compile_s.append(round(report.compile.duration_s, 6))

    def fields(self) -> dict[str, object]:
        """The measurement's compile fields (none for Python)."""
        if self.command is None:
            return {}
        return {"compile_command": self.command, "compile_s": self.compile_s}


def _empty(sandbox: Sandbox, workload: Workload, objective: Speed, method: str) -> SpeedMeasurement:
    name = workload.problem.language
    return SpeedMeasurement(
        method=method,  # type: ignore[arg-type]
        language=None if name == "python" else name,
        contained=bool(sandbox.contained),
        inputs=workload.inputs,
        hidden=workload.hidden,
        seed=workload.seed,
        warmup=objective.warmup if method != "instructions" else 0,
        alpha=objective.alpha,
        verdict="same",
    )


def measure_speed(
    sandbox: Sandbox,
    workload: Workload,
    baseline: str,
    candidate: str,
    objective: Speed | None = None,
) -> SpeedMeasurement:
    """``candidate`` against ``baseline`` on ``workload`` by ``objective.cost``; a candidate
    wrong on it (in any repetition) is ``incorrect`` and measured no further. ``ProblemError``
    if the baseline fails it; ``UserError`` if this sandbox cannot take that cost."""
    opts = objective or Speed()
    sandbox.start()  # a pool learns whether it contains candidates when its workers start
    why = sandbox.cost_unavailable(opts.cost) or opts.unavailable_for(workload.problem.language)
    if why is not None:
        raise UserError(f"--cost {opts.cost}: {why}")
    if opts.cost == "instructions":
        return _count(sandbox, workload, baseline, candidate, opts)
    return _time(sandbox, workload, baseline, candidate, opts)


def _time(
    sandbox: Sandbox, workload: Workload, baseline: str, candidate: str, opts: Speed
) -> SpeedMeasurement:
    started = time.monotonic()
    empty = _empty(sandbox, workload, opts, "cpu" if sandbox.contained else "wall")
    base_s: list[float] = []
    cand_s: list[float] = []
    builds = _Builds()
    for rep in range(opts.warmup + opts.repetitions):
        order = ("baseline", "candidate") if rep % 2 == 0 else ("candidate", "baseline")
        for which in order:
            code = baseline if which == "baseline" else candidate
            report = sandbox.run(workload.problem, code, workload.tests)
            if which == "candidate":
                builds.saw(report)
            if not report.passed:
                failure, where = _failure(report, workload)
                if which == "baseline":
                    raise ProblemError(workload.problem.id, f"the baseline fails its workload ({failure})")
                wrong = {"verdict": "incorrect", "failure": failure, "failing_input": where}
                return _with(empty, base_s, cand_s, started, **wrong, **builds.fields())
            if rep >= opts.warmup:
                (base_s if which == "baseline" else cand_s).append(round(_cost(report, empty.method), 6))
    return _judged(empty, base_s, cand_s, started, opts, builds)


def _count(
    sandbox: Sandbox, workload: Workload, baseline: str, candidate: str, opts: Speed
) -> SpeedMeasurement:
    started = time.monotonic()
    empty = _empty(sandbox, workload, opts, "instructions")
    floor = startup_instructions(sandbox, workload.problem)
    base = sandbox.run(workload.problem, baseline, workload.tests, cost="instructions")
    if not base.passed or base.instructions is None:
        failure = _failure(base, workload)[0] if not base.passed else "it left no instruction count"
        raise ProblemError(workload.problem.id, f"the baseline fails its workload ({failure})")
    cand = sandbox.run(workload.problem, candidate, workload.tests, cost="instructions")
    if not cand.passed:
        failure, where = _failure(cand, workload)
        return _with(empty, [], [], started, verdict="incorrect", failure=failure, failing_input=where)
    if cand.instructions is None:
        failure = "no instruction count: a process of the candidate did not exit by itself"
        return _with(empty, [], [], started, verdict="incorrect", failure=failure)
    net_b, net_c = max(base.instructions - floor, 1), max(cand.instructions - floor, 1)
    speedup = net_b / net_c
    verdict = (
        "faster" if speedup >= opts.min_speedup else "slower" if speedup * opts.min_speedup <= 1 else "same"
    )
    return _with(
        empty,
        [],
        [],
        started,
        baseline_instructions=net_b,
        candidate_instructions=net_c,
        startup_instructions=floor,
        speedup=round(speedup, 4),
        verdict=verdict,
    )


_floors: weakref.WeakKeyDictionary[Sandbox, dict[bool, int]] = weakref.WeakKeyDictionary()
_floor_lock = threading.Lock()


def startup_instructions(sandbox: Sandbox, problem: Problem) -> int:
    """Instructions of a candidate process that does nothing (start-up, loading, serving no
    call), counted once per sandbox for call-based and for stdin programs."""
    calls = problem.entry_point is not None
    with _floor_lock:
        known = _floors.setdefault(sandbox, {}).get(calls)
    if known is not None:
        return known
    bare = problem.model_copy(update={"test_setup_code": "", "tests": []})
    idle: AssertTest | IOTest = AssertTest(code="assert True") if calls else IOTest(expected_stdout="")
    code = f"def {problem.entry_point}(*args, **kwargs):\n    return None\n" if calls else ""
    report = sandbox.run(bare, code, [idle], cost="instructions")
    if not report.passed or report.instructions is None:
        raise InfrastructureError(
            f"the {sandbox.name} sandbox could not count an empty program's instructions"
        )
    with _floor_lock:
        _floors.setdefault(sandbox, {})[calls] = report.instructions
    return report.instructions


def _with(
    empty: SpeedMeasurement, base_s: list[float], cand_s: list[float], started: float, **fields: object
) -> SpeedMeasurement:
    update = {"baseline_s": base_s, "candidate_s": cand_s, "wall_s": round(time.monotonic() - started, 3)}
    return SpeedMeasurement.model_validate({**empty.model_dump(), **update, **fields})


def _judged(
    empty: SpeedMeasurement,
    base_s: list[float],
    cand_s: list[float],
    started: float,
    opts: Speed,
    builds: _Builds,
) -> SpeedMeasurement:
    test = mann_whitney(cand_s, base_s)
    base_med, cand_med = median(base_s), median(cand_s)
    speedup = base_med / max(cand_med, 1e-6)
    faster = test.p_less < opts.alpha and speedup >= opts.min_speedup
    slower = test.p_greater < opts.alpha and speedup * opts.min_speedup <= 1
    return _with(
        empty,
        base_s,
        cand_s,
        started,
        baseline_median_s=round(base_med, 6),
        candidate_median_s=round(cand_med, 6),
        speedup=round(speedup, 4),
        u_statistic=test.u,
        p_faster=test.p_less,
        p_slower=test.p_greater,
        test=test.method,
        verdict="faster" if faster else "slower" if slower else "same",
        **builds.fields(),
    )
