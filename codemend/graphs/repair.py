"""The repair graph: generate -> execute -> critique -> (repair -> execute -> critique)* -> finish.

Every stop is decided by a node and recorded in ``stop_reason``; the edges only read it. An
``InfrastructureError`` (endpoint or sandbox failed after retries) ends the run as such, with the
failed step recorded; it is never scored as a wrong answer. A prompt that no longer fits the
model's context (``ContextLengthExceeded``) is not an infrastructure failure: the run stops with
``context_length`` and its best candidate so far is the answer, scored as usual. With
``objective="speed"`` the same loop asks for faster correct code (``graphs/speed.py``).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from codemend.agents import code_fingerprint, repair_feedback, reward_components
from codemend.errors import ContextLengthExceeded, InfrastructureError
from codemend.graphs import speed
from codemend.graphs.state import RepairContext, RepairState
from codemend.graphs.trajectory import visible_solved
from codemend.records import Message, Objective, StepKind, StepRecord, StopReason

Update = dict[str, Any]
NODES = ("generate", "repair", "execute", "critique", "finish")
_COUNTERS = ("tokens_in", "tokens_out", "elapsed_s")


async def _report(ctx: RepairContext, step: StepRecord) -> None:
    if ctx.on_step is not None:
        outcome = ctx.on_step(step)
        if inspect.isawaitable(outcome):
            await outcome


def _failed(exc: InfrastructureError | ContextLengthExceeded) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _stop_with(ctx: RepairContext, step: StepRecord, reason: StopReason, **extra: Any) -> Update:
    """End the run on ``step``, which is finished as it is."""
    await _report(ctx, step)
    return {"steps": [step], "current": None, "stop_reason": reason, **extra}


async def _infrastructure_stop(
    ctx: RepairContext, step: StepRecord, exc: InfrastructureError, started: float
) -> Update:
    failed = step.model_copy(update={"error": _failed(exc)})
    elapsed = time.perf_counter() - started
    return await _stop_with(ctx, failed, "infrastructure", error=failed.error, elapsed_s=elapsed)


async def _draft(
    ctx: RepairContext, state: RepairState, messages: list[Message], kind: StepKind, parent: int | None
) -> Update:
    started = time.perf_counter()
    index = len(state.get("steps", []))
    try:
        step = await ctx.generator.complete(ctx.problem, messages, kind=kind, index=index, parent=parent)
    except ContextLengthExceeded as exc:
        unanswered = StepRecord(index=index, kind=kind, parent=parent, messages=messages, error=_failed(exc))
        elapsed = time.perf_counter() - started
        return await _stop_with(ctx, unanswered, "context_length", elapsed_s=elapsed)
    except InfrastructureError as exc:
        unanswered = StepRecord(index=index, kind=kind, parent=parent, messages=messages)
        return await _infrastructure_stop(ctx, unanswered, exc, started)
    usage = {
        "tokens_in": step.tokens_in,
        "tokens_out": step.tokens_out,
        "elapsed_s": time.perf_counter() - started,
    }
    fingerprint = code_fingerprint(step.code or "")
    if fingerprint in state.get("fingerprints", []):
        return await _stop_with(ctx, step, "no_progress", **usage)
    return {"current": step, "fingerprints": [fingerprint], **usage}


async def generate(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    ctx = runtime.context
    if ctx.objective == "speed":
        return {**await _speed_generate(ctx, state), "objective": "speed"}
    return await _draft(ctx, state, ctx.generator.first_messages(ctx.problem), "generate", None)


async def _speed_generate(ctx: RepairContext, state: RepairState) -> Update:
    reference = ctx.problem.reference_solution
    if reference is None:  # a first correct answer, which becomes the baseline
        return await _draft(ctx, state, ctx.generator.first_messages(ctx.problem), "generate", None)
    # Optimisation starts from the reference; handing it back unchanged is no progress.
    messages = ctx.generator.optimise_messages(ctx.problem, reference, speed.opening_note(ctx), None)
    known = [code_fingerprint(reference)]
    update = await _draft(ctx, {**state, "fingerprints": known}, messages, "generate", None)
    return {**update, "fingerprints": known + update.get("fingerprints", []), "baseline": reference}


async def repair(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    ctx = runtime.context
    previous = state["steps"][-1]
    assert previous.critique is not None, "repair follows a critiqued step"
    feedback = repair_feedback(previous.critique)
    if ctx.objective == "speed" and speed.correct(previous):
        messages = ctx.generator.optimise_messages(ctx.problem, previous.code or "", feedback, previous)
    else:
        messages = ctx.generator.repair_messages(ctx.problem, previous, feedback)
    return await _draft(ctx, state, messages, "repair", previous.index)


async def execute(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    ctx = runtime.context
    step = state.get("current")
    assert step is not None, "execute follows a draft"
    started = time.perf_counter()
    try:
        report = await ctx.executor.visible(ctx.problem, step.code or "")
        updated = step.model_copy(update={"report": report})
        update: Update = {"current": updated}
        if ctx.objective == "speed" and report.passed:
            update = await speed.measure(ctx, state, updated)
    except InfrastructureError as exc:
        return await _infrastructure_stop(ctx, step, exc, started)
    return {**update, "elapsed_s": time.perf_counter() - started}


async def critique(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    ctx = runtime.context
    step = state.get("current")
    assert step is not None and step.report is not None, "critique follows an execution"
    started = time.perf_counter()
    try:
        verdict = await ctx.critic(
            ctx.problem, step.code or "", step.report, step.measurement, speed.baseline_label(state)
        )
    except InfrastructureError as exc:
        return await _infrastructure_stop(ctx, step, exc, started)
    critique_ = verdict.critique
    rewards = reward_components(step.report, critique_)
    reward = ctx.reward(step.report, critique_)
    if ctx.objective == "speed":
        if speed.is_baseline(state, step):
            note = speed.baseline_note(speed.workload_calls(ctx), reference=False)
            critique_ = critique_.model_copy(update={"feedback": note})
        reward = rewards["speed"] = speed.step_reward(step)
    done = step.model_copy(update={"critique": critique_, "reward": reward, "rewards": rewards})
    await _report(ctx, done)
    update: Update = {
        "steps": [done],
        "current": None,
        "tokens_in": verdict.tokens_in,
        "tokens_out": verdict.tokens_out,
        "elapsed_s": time.perf_counter() - started,
    }
    totals: dict[str, Any] = {k: state.get(k, 0) + update[k] for k in _COUNTERS}
    update["stop_reason"] = _stop_after(ctx, [*state.get("steps", []), done], totals)
    return update


def _stop_after(ctx: RepairContext, steps: list[StepRecord], totals: dict[str, Any]) -> StopReason | None:
    """Why to stop after a critique, given the steps and the counters as they will be, or None."""
    limits = ctx.limits
    if speed.solved(steps[-1]) if ctx.objective == "speed" else visible_solved(steps[-1]):
        return "solved"
    if sum(s.kind == "repair" for s in steps) >= limits.max_rounds:
        return "max_rounds"
    if limits.token_budget is not None and totals["tokens_in"] + totals["tokens_out"] >= limits.token_budget:
        return "token_budget"
    if limits.time_budget_s is not None and totals["elapsed_s"] >= limits.time_budget_s:
        return "time_budget"
    return None


def final_index(steps: list[StepRecord]) -> int | None:
    """The step whose code is the answer: one that passes the visible tests, else the best reward;
    the latest among ties."""
    scored = [s for s in steps if s.code is not None and s.report is not None]
    if not scored:
        return None
    return max(scored, key=lambda s: (visible_solved(s), s.reward or 0.0, s.index)).index


def answer_index(steps: list[StepRecord], objective: Objective) -> int | None:
    """The step whose code a run with ``objective`` returns, as ``finish`` picks it: for speed,
    the correct step credited with the largest speedup; else (or when none is correct) as above."""
    chosen = speed.final_index(steps) if objective == "speed" else None
    return final_index(steps) if chosen is None else chosen


async def finish(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    """Pick the answer, run the hidden tests on it once, and compute the final reward."""
    ctx = runtime.context
    steps = state.get("steps", [])
    chosen = answer_index(steps, ctx.objective)
    if chosen is None:
        return {"final_index": None, "final_reward": None}
    step = steps[chosen]
    started = time.perf_counter()
    try:
        hidden = await ctx.executor.hidden(ctx.problem, step.code or "")
    except InfrastructureError as exc:
        return {"final_index": chosen, "stop_reason": "infrastructure", "error": _failed(exc)}
    reward = ctx.reward(hidden, None) if hidden is not None else step.reward
    if ctx.objective == "speed":
        reward = speed.final_reward(step, hidden)
    elapsed = time.perf_counter() - started
    return {"final_index": chosen, "hidden_report": hidden, "final_reward": reward, "elapsed_s": elapsed}


def _unless_stopped(target: str) -> Callable[[RepairState], str]:
    def route(state: RepairState) -> str:
        return "finish" if state.get("stop_reason") else target

    route.__name__ = f"to_{target}_unless_stopped"
    return route


def build_repair_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    *,
    interrupt_after: list[str] | None = None,
) -> CompiledStateGraph[RepairState, RepairContext, RepairState, RepairState]:
    """The compiled graph; run it with ``context=RepairContext(...)`` (and a ``thread_id`` when
    checkpointed)."""
    graph = StateGraph(RepairState, context_schema=RepairContext)
    for name, node in zip(NODES, (generate, repair, execute, critique, finish), strict=True):
        graph.add_node(name, node)
    graph.add_edge(START, "generate")
    for source, target in (("generate", "execute"), ("repair", "execute"), ("execute", "critique")):
        graph.add_conditional_edges(source, _unless_stopped(target), [target, "finish"])
    graph.add_conditional_edges("critique", _unless_stopped("repair"), ["repair", "finish"])
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer, interrupt_after=interrupt_after)
