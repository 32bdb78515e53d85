"""Running the repair graph to its end, checkpointed and resumable when given a file."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from codemend.errors import UserError
from codemend.graphs.checkpoint import sqlite_checkpointer
from codemend.graphs.repair import build_repair_graph
from codemend.graphs.state import RepairContext, RepairState


@cache
def _graph() -> CompiledStateGraph[RepairState, RepairContext, RepairState, RepairState]:
    """The graph without checkpoints, compiled once (about 8 ms) and shared: it keeps no state of
    its own between runs."""
    return build_repair_graph()


def _config(ctx: RepairContext, thread_id: str) -> RunnableConfig:
    # Three nodes per round, plus generate, execute, critique and finish, with room to spare.
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": 3 * ctx.limits.max_rounds + 10}


def problem_digest(ctx: RepairContext) -> str:
    """What a checkpointed thread remembers of its problem, to be resumed on that problem only."""
    # without the metadata: it says nothing of the task (a problem without any dumps as before)
    return hashlib.sha256(ctx.problem.model_dump_json(exclude={"metadata"}).encode()).hexdigest()


async def run_repair(
    ctx: RepairContext, *, thread_id: str, checkpoints: str | Path | None = None, resume: bool = False
) -> dict[str, Any]:
    """The final state values of the run ``thread_id``.

    With ``checkpoints`` (an SQLite file) each finished node is saved before the next starts; a
    thread that was interrupted resumes after its last finished node, one that finished is read
    back as it is. A thread of another problem is a ``UserError``; so is, with ``resume``, a
    thread that the file does not hold.
    """
    config = _config(ctx, thread_id)
    fresh = RepairState(problem_digest=problem_digest(ctx))
    if checkpoints is None:
        return dict(await _graph().ainvoke(fresh, config, context=ctx))
    async with sqlite_checkpointer(checkpoints) as saver:
        graph = build_repair_graph(saver)
        snapshot = await graph.aget_state(config)
        if resume and not snapshot.values:
            raise UserError(f"nothing to resume: {checkpoints} holds no trajectory {thread_id!r}")
        held = snapshot.values.get("problem_digest") if snapshot.values else None
        if held is not None and held != fresh["problem_digest"]:
            raise UserError(
                f"trajectory {thread_id!r} in {checkpoints} is of another problem (or another version "
                f"of {ctx.problem.id!r}): resume it with the problem it was started on"
            )
        # ``tasks``, not ``next``: a node whose writes were saved before the kill is left out of
        # ``next`` although the step after it has not been planned yet
        if snapshot.values and not snapshot.tasks:
            return dict(snapshot.values)
        start = None if snapshot.tasks else fresh
        return dict(await graph.ainvoke(start, config, context=ctx, durability="sync"))
