"""The graph's side of a measuring objective (``Speed``): the baseline, measuring correct
candidates on the loop's workload, and the answer's measurement on the hidden workload.

Correctness comes first: a candidate that fails a visible test is repaired as always; a correct
one is measured against the baseline (the problem's reference solution, else the first
candidate that passed, which becomes the baseline) and asked to be faster still. What it is
told quotes only the visible performance inputs (``codemend.optimise.feedback``); its reward is
measured on the hidden ones.
"""

from __future__ import annotations

from typing import Any

from codemend.errors import ProblemError
from codemend.graphs.state import RepairContext, RepairState
from codemend.optimise import Speed, baseline_note
from codemend.records import SpeedMeasurement, StepRecord, visible_solved

Update = dict[str, Any]


def _speed(ctx: RepairContext) -> Speed:
    assert isinstance(ctx.objective, Speed), "only a measuring objective reaches graphs/speed.py"
    return ctx.objective


def opening_note(ctx: RepairContext, *, reference: bool) -> str:
    """The note that opens an optimisation: what the baseline is and how cost is measured."""
    return baseline_note(ctx.problem, reference=reference, method=_speed(ctx).cost)


def baseline_label(state: RepairState) -> str:
    """How feedback names the baseline: the reference solution, or the step that became it."""
    step = state.get("baseline_step")
    return "the reference solution" if step is None else f"the first passing solution (step {step})"


async def measure(ctx: RepairContext, state: RepairState, step: StepRecord) -> Update:
    """The executed ``step`` with its measurement, or made the baseline when there is none yet."""
    code = step.code or ""
    baseline = state.get("baseline")
    if baseline is None:
        try:
            await ctx.executor.check_baseline(ctx.problem, code)
        except ProblemError as exc:  # right on the tests, wrong or too slow on the workload
            contained = bool(ctx.executor.sandbox.contained)
            failed = SpeedMeasurement(contained=contained, verdict="incorrect", failure=str(exc))
            return {"current": step.model_copy(update={"measurement": failed})}
        return {"current": step, "baseline": code, "baseline_step": step.index}
    measurement = await ctx.executor.measure(ctx.problem, baseline, code, _speed(ctx), hidden=False)
    return {"current": step.model_copy(update={"measurement": measurement})}


def is_baseline(state: RepairState, step: StepRecord) -> bool:
    """Whether ``step`` is the run's baseline (its first passing solution)."""
    return state.get("baseline_step") == step.index


async def measure_answer(ctx: RepairContext, state: RepairState, step: StepRecord) -> SpeedMeasurement | None:
    """The answer's cost on the hidden workload, when it is correct and not the baseline itself
    (which is 1.0x by definition)."""
    baseline = state.get("baseline")
    code = step.code or ""
    if baseline is None or code == baseline or not _speed(ctx).correct(step) or not visible_solved(step):
        return None
    return await ctx.executor.measure(ctx.problem, baseline, code, _speed(ctx), hidden=True)
