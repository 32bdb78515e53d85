"""The repair graph: generate -> execute -> critique -> (repair -> execute -> critique)* -> finish.

Every stop is decided by a node and recorded in ``stop_reason``; the edges only read it. An
``InfrastructureError`` (endpoint or sandbox failed after retries) ends the run as such, with the
failed step recorded; it is never scored as a wrong answer. A prompt that no longer fits the
model's context (``ContextLengthExceeded``) is not an infrastructure failure: the run stops with
``context_length`` and its best candidate so far is the answer, scored as usual. With
a measuring objective (``Speed``) the same loop asks for faster correct code (``graphs/speed.py``);
the objective value decides the rewards, when to stop and which step is the answer.
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

from codemend.agents import code_fingerprint, repair_feedback, reward_components, scored_structure, with_trace
from codemend.errors import ContextLengthExceeded, InfrastructureError, ProblemError
from codemend.graphs import speed
from codemend.graphs.state import RepairContext, RepairState
from codemend.optimise import Correctness, Speed, best_visible_index
from codemend.records import Critique, Message, StepKind, StepRecord, StopReason, Trace

Update = dict[str, Any]
NODES = ("generate", "repair", "execute", "critique", "finish")
_COUNTERS = ("tokens_in", "tokens_out", "elapsed_s")


async def _report(ctx: RepairContext, step: StepRecord) -> None:
    if ctx.on_step is not None:
        outcome = ctx.on_step(step)
        if inspect.isawaitable(outcome):
            await outcome


def _failed(exc: InfrastructureError | ContextLengthExceeded | ProblemError) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _stop_with(ctx: RepairContext, step: StepRecord, reason: StopReason, **extra: Any) -> Update:
    """End the run on ``step``, which is finished as it is."""
    await _report(ctx, step)
    return {"steps": [step], "current": None, "stop_reason": reason, **extra}


async def _infrastructure_stop(
    ctx: RepairContext, step: StepRecord, exc: InfrastructureError | ProblemError, started: float
) -> Update:
    """End the run on a failure that is not the model's: the sandbox or endpoint failed, or the
    problem cannot be measured as given (``ProblemError``: its reference or input generator fails)."""
    failed = step.model_copy(update={"error": _failed(exc)})
    elapsed = time.perf_counter() - started
    blame = {"problem_error": str(exc)} if isinstance(exc, ProblemError) else {}
    return await _stop_with(ctx, failed, "infrastructure", error=failed.error, elapsed_s=elapsed, **blame)


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
    """Node: the first attempt, as ``current``. With ``--objective speed`` and a reference solution,
    the reference is checked on its visible tests and workload (a failure stops the run) and the
    model is asked for a faster version of it."""
    ctx = runtime.context
    if ctx.objective.measures:
        return await _speed_generate(ctx, state)
    return await _draft(ctx, state, ctx.generator.first_messages(ctx.problem), "generate", None)


async def _speed_generate(ctx: RepairContext, state: RepairState) -> Update:
    reference = ctx.problem.reference_solution
    if reference is None:  # a first correct answer, which becomes the baseline
        return await _draft(ctx, state, ctx.generator.first_messages(ctx.problem), "generate", None)
    started = time.perf_counter()
    try:  # a reference that fails its own tests or workload ends the run before any model call
        tested = await ctx.executor.visible(ctx.problem, reference)
        if tested.results and not tested.passed:
            failed = next(r for r in tested.results if not r.passed)
            what = failed.assertion or failed.exc_message or failed.detail or failed.status
            raise ProblemError(ctx.problem.id, f"the reference solution fails its own visible tests ({what})")
        await ctx.executor.check_baseline(ctx.problem, reference)
    except (ProblemError, InfrastructureError) as exc:
        unasked = StepRecord(index=0, kind="generate", messages=[])
        return await _infrastructure_stop(ctx, unasked, exc, started)
    # Optimisation starts from the reference; handing it back unchanged is no progress.
    messages = ctx.generator.optimise_messages(
        ctx.problem, reference, speed.opening_note(ctx, reference=True), None
    )
    known = [code_fingerprint(reference)]
    update = await _draft(ctx, {**state, "fingerprints": known}, messages, "generate", None)
    return {**update, "fingerprints": known + update.get("fingerprints", []), "baseline": reference}


async def repair(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    """Node: the next attempt from the last critiqued step's feedback; a correct step in a speed run
    asks for a faster version instead."""
    ctx = runtime.context
    previous = state["steps"][-1]
    assert previous.critique is not None, "repair follows a critiqued step"
    feedback = repair_feedback(previous.critique)
    if isinstance(ctx.objective, Speed) and ctx.objective.correct(previous):
        messages = ctx.generator.optimise_messages(ctx.problem, previous.code or "", feedback, previous)
    else:
        messages = ctx.generator.repair_messages(ctx.problem, previous, feedback)
    return await _draft(ctx, state, messages, "repair", previous.index)


async def execute(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    """Node: ``current`` on the visible tests, and in a speed run measured (or made the baseline);
    an infrastructure or problem error stops the run."""
    ctx = runtime.context
    step = state.get("current")
    assert step is not None, "execute follows a draft"
    started = time.perf_counter()
    try:
        report = await ctx.executor.visible(ctx.problem, step.code or "")
        updated = step.model_copy(update={"report": report})
        update: Update = {"current": updated}
        # with no visible test, the workload checks the candidate (it expects the baseline's outputs)
        if ctx.objective.measures and (report.passed or not report.results):
            update = await speed.measure(ctx, state, updated)
    except (InfrastructureError, ProblemError) as exc:
        return await _infrastructure_stop(ctx, step, exc, started)
    return {**update, "elapsed_s": time.perf_counter() - started}


async def critique(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    """Node: the critic's verdict and the step's rewards; the step joins ``steps`` and the stop
    reason, if any, is decided."""
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
    if ctx.feedback == "trace":
        critique_ = await _traced(ctx, step, critique_)
    if critique_.structure is not None and critique_.structure.available:
        critique_ = await _structured(ctx, step, critique_)
    rewards = reward_components(step.report, critique_)
    reward = ctx.objective.step_reward(step, ctx.reward(step.report, critique_))
    if ctx.objective.measures:
        if speed.is_baseline(state, step):
            note = speed.opening_note(ctx, reference=False)
            critique_ = critique_.model_copy(update={"feedback": note})
        rewards["speed"] = reward
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


async def _traced(ctx: RepairContext, step: StepRecord, critique_: Critique) -> Critique:
    """``critique_`` with the trace of the step's first failing visible test (``--feedback
    trace``). A sandbox that failed to trace is a trace not available, saying so: the step's
    verdicts came from its visible run, which worked."""
    code, report = step.code or "", step.report
    assert report is not None
    try:
        trace = await ctx.executor.trace(ctx.problem, code, report)
    except InfrastructureError as exc:
        trace = Trace(available=False, reason=f"the sandbox failed to trace: {_failed(exc)}")
    return with_trace(critique_, trace, ctx.problem, code, report)


async def _structured(ctx: RepairContext, step: StepRecord, critique_: Critique) -> Critique:
    """``critique_`` with its structure reward, crediting the statements the step's passing
    visible tests need (``agents.credit``). A sandbox that failed meanwhile leaves it unscored,
    saying so: the step's verdicts came from its visible run, which worked."""
    code, report, found = step.code or "", step.report, critique_.structure
    assert report is not None and found is not None
    try:
        credited = await ctx.executor.credit(ctx.problem, code, report)
    except InfrastructureError as exc:
        credited = f"the sandbox failed while checking which statements the tests need: {_failed(exc)}"
    structure = scored_structure(found, ctx.problem, code, report, credited)
    return critique_.model_copy(update={"structure": structure})


def _stop_after(ctx: RepairContext, steps: list[StepRecord], totals: dict[str, Any]) -> StopReason | None:
    """Why to stop after a critique, given the steps and the counters as they will be, or None."""
    limits = ctx.limits
    if ctx.objective.solved(steps[-1]):
        return "solved"
    if sum(s.kind == "repair" for s in steps) >= limits.max_rounds:
        return "max_rounds"
    if limits.token_budget is not None and totals["tokens_in"] + totals["tokens_out"] >= limits.token_budget:
        return "token_budget"
    if limits.time_budget_s is not None and totals["elapsed_s"] >= limits.time_budget_s:
        return "time_budget"
    return None


final_index = best_visible_index


def answer_index(steps: list[StepRecord], objective: Correctness | Speed) -> int | None:
    """The step whose code a run with ``objective`` returns, as ``finish`` picks it."""
    return objective.answer_index(steps)


async def finish(state: RepairState, runtime: Runtime[RepairContext]) -> Update:
    """Pick the answer, run the hidden tests on it once, and compute the final reward."""
    ctx = runtime.context
    steps = state.get("steps", [])
    chosen = ctx.objective.answer_index(steps)
    if chosen is None:
        return {"final_index": None, "final_reward": None}
    step = steps[chosen]
    started = time.perf_counter()
    measured: Update = {}
    try:
        hidden = await ctx.executor.hidden(ctx.problem, step.code or "")
        hidden_ok = hidden is None or hidden.passed
        if ctx.objective.measures and hidden_ok:
            answer = await speed.measure_answer(ctx, state, step)
            if answer is not None:
                step = step.model_copy(update={"measurement": answer})
                measured = {"final_measurement": answer}
    except (InfrastructureError, ProblemError) as exc:
        blame = {"problem_error": str(exc)} if isinstance(exc, ProblemError) else {}
        return {"final_index": chosen, "stop_reason": "infrastructure", "error": _failed(exc), **blame}
    tests_reward = ctx.reward(hidden, None) if hidden is not None else step.reward
    reward = ctx.objective.final_reward(step, tests_reward, hidden_ok)
    elapsed = time.perf_counter() - started
    return {
        "final_index": chosen,
        "hidden_report": hidden,
        "final_reward": reward,
        "elapsed_s": elapsed,
        **measured,
    }


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
