"""``--objective speed`` in the repair graph: the baseline, measuring correct candidates, the
gated reward, when to stop and which step is the answer.

Correctness comes first: a candidate that fails a visible test is repaired as always; a correct
one is measured against the baseline (the problem's reference solution, else the first
candidate that passed, which becomes the baseline) and asked to be faster still.
"""

from __future__ import annotations

from typing import Any

from codemend.errors import UserError
from codemend.graphs.state import RepairContext, RepairState
from codemend.graphs.trajectory import visible_solved
from codemend.optimise import baseline_note, measured_reward, optimised, speed_reward
from codemend.records import SpeedMeasurement, StepRecord, TestReport

Update = dict[str, Any]


def correct(step: StepRecord) -> bool:
    """Passes its visible tests and, when measured, was right on the whole workload."""
    m = step.measurement
    return visible_solved(step) and (m is None or m.verdict != "incorrect")


def workload_calls(ctx: RepairContext) -> list[str]:
    problem = ctx.problem
    return [t.call or f"stdin of {len(t.stdin or '')} characters" for t in problem.perf_tests]


def opening_note(ctx: RepairContext) -> str:
    return baseline_note(workload_calls(ctx), reference=True)


def baseline_label(state: RepairState) -> str:
    step = state.get("baseline_step")
    return "the reference solution" if step is None else f"the first passing solution (step {step})"


async def measure(ctx: RepairContext, state: RepairState, step: StepRecord) -> Update:
    """The executed ``step`` with its measurement, or made the baseline when there is none yet."""
    code = step.code or ""
    baseline = state.get("baseline")
    if baseline is None:
        try:
            await ctx.executor.workload(ctx.problem, code)
        except UserError as exc:  # right on the tests, wrong or too slow on the workload
            failed = SpeedMeasurement(contained=_contained(ctx), verdict="incorrect", failure=str(exc))
            return {"current": step.model_copy(update={"measurement": failed})}
        return {"current": step, "baseline": code, "baseline_step": step.index}
    measurement = await ctx.executor.measure(ctx.problem, baseline, code)
    return {"current": step.model_copy(update={"measurement": measurement})}


def _contained(ctx: RepairContext) -> bool:
    return bool(getattr(ctx.executor.sandbox, "contained", False))


def is_baseline(state: RepairState, step: StepRecord) -> bool:
    return state.get("baseline_step") == step.index


def step_reward(step: StepRecord) -> float:
    """The gated reward on the visible tests: 0 unless correct; the baseline itself 0.5."""
    if step.measurement is None:
        return speed_reward(correct(step), 1.0)
    return measured_reward(step.measurement, visible_solved(step))


def final_reward(step: StepRecord, hidden: TestReport | None) -> float:
    ok = visible_solved(step) and (hidden is None or hidden.passed)
    if step.measurement is None:
        return speed_reward(ok, 1.0)
    return measured_reward(step.measurement, ok)


def solved(step: StepRecord) -> bool:
    """Stop early once a candidate is correct and significantly >= 1.1x faster (%Opt)."""
    return correct(step) and optimised(step.measurement, True)


def final_index(steps: list[StepRecord]) -> int | None:
    """The correct step with the largest credited speedup (the latest among ties), else None."""
    ranked = [s for s in steps if s.code is not None and correct(s)]
    if not ranked:
        return None

    def credit(s: StepRecord) -> float:
        return s.measurement.credited_speedup if s.measurement is not None else 1.0

    return max(ranked, key=lambda s: (credit(s), s.index)).index
