"""Measuring a candidate's cost against a baseline's, honestly.

Each repetition runs the workload in a fresh candidate process (the sandbox forks one per run),
so nothing a candidate memoises survives into the next repetition. The cost is the CPU time of
that process's whole tree from fork to exit, which the sandbox's supervisor reads from
``wait4`` — outside the candidate, so import-time precomputation counts and no code in the
candidate can change it; processes it spawns are reaped inside its namespaces and counted.
Baseline and candidate runs alternate (ABBA) in the same sandbox after a warm-up, so machine
load falls on both alike, and a one-sided Mann-Whitney U test decides "faster" or "slower".
Where the sandbox cannot contain candidates in namespaces of their own, a detached helper could
do the work outside the reaped tree, so the cost is then each run's wall time (method ``wall``):
noisier, but no helper can hide from it, since the answer waits for its work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from codemend.errors import InfrastructureError, UserError
from codemend.optimise.stats import mann_whitney, median
from codemend.optimise.workload import Workload
from codemend.records import SpeedMeasurement, TestReport
from codemend.sandbox import Sandbox


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedSettings:
    repetitions: int = 10
    """Timed runs of each program (after the warm-up)."""
    warmup: int = 1
    """Untimed runs of each program first."""
    alpha: float = 0.05
    """Significance level of each one-sided test."""


def _failure(report: TestReport, workload: Workload) -> tuple[str, str | None]:
    for result in report.results:
        if not result.passed:
            what = "a wrong result" if result.status == "failed" else result.detail or result.exc_message
            return f"{result.status}: {what or result.status}", workload.inputs[result.index]
    return "no test ran", None


def _cost(report: TestReport, method: str) -> float:
    if method == "wall":
        return report.duration_s
    if report.cpu_s is None:
        raise InfrastructureError(f"the {report.backend} sandbox did not report the candidate's CPU time")
    return report.cpu_s


def measure_speed(
    sandbox: Sandbox,
    workload: Workload,
    baseline: str,
    candidate: str,
    settings: SpeedSettings | None = None,
) -> SpeedMeasurement:
    """``candidate`` against ``baseline`` on ``workload``; a candidate wrong on it in any
    repetition is ``incorrect`` (and measured no further). ``UserError`` if the baseline fails."""
    opts = settings or SpeedSettings()
    started = time.monotonic()
    base_s: list[float] = []
    cand_s: list[float] = []
    start = getattr(sandbox, "start", None)
    if callable(start):  # a pool learns whether it contains candidates when its workers start
        start()
    contained = bool(getattr(sandbox, "contained", False))
    empty = SpeedMeasurement(
        method="cpu" if contained else "wall",
        contained=contained,
        inputs=workload.inputs,
        warmup=opts.warmup,
        alpha=opts.alpha,
        verdict="same",
    )
    for rep in range(opts.warmup + opts.repetitions):
        order = ("baseline", "candidate") if rep % 2 == 0 else ("candidate", "baseline")
        for which in order:
            code = baseline if which == "baseline" else candidate
            report = sandbox.run(workload.problem, code, workload.tests)
            if not report.passed:
                failure, where = _failure(report, workload)
                if which == "baseline":
                    raise UserError(
                        f"problem {workload.problem.id}: the baseline fails its workload ({failure})"
                    )
                wrong = {"verdict": "incorrect", "failure": failure, "failing_input": where}
                return _with(empty, base_s, cand_s, started, **wrong)
            if rep >= opts.warmup:
                (base_s if which == "baseline" else cand_s).append(round(_cost(report, empty.method), 6))
    return _judged(empty, base_s, cand_s, started)


def _with(
    empty: SpeedMeasurement, base_s: list[float], cand_s: list[float], started: float, **fields: object
) -> SpeedMeasurement:
    update = {"baseline_s": base_s, "candidate_s": cand_s, "wall_s": round(time.monotonic() - started, 3)}
    return SpeedMeasurement.model_validate({**empty.model_dump(), **update, **fields})


def _judged(
    empty: SpeedMeasurement, base_s: list[float], cand_s: list[float], started: float
) -> SpeedMeasurement:
    test = mann_whitney(cand_s, base_s)
    base_med, cand_med = median(base_s), median(cand_s)
    alpha = empty.alpha
    verdict = "faster" if test.p_less < alpha else "slower" if test.p_greater < alpha else "same"
    return _with(
        empty,
        base_s,
        cand_s,
        started,
        baseline_median_s=round(base_med, 6),
        candidate_median_s=round(cand_med, 6),
        speedup=round(base_med / max(cand_med, 1e-6), 4),
        u_statistic=test.u,
        p_faster=test.p_less,
        p_slower=test.p_greater,
        test=test.method,
        verdict=verdict,
    )
