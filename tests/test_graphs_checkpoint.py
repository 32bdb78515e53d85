"""Checkpoints: an interrupted solve resumes after its last finished node; nothing reruns."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from repair_helpers import RIGHT, WRONG, fenced
from scripted_server import ScriptedServer

from codemend.agents import make_critic, make_executor, make_generator
from codemend.graphs import CHECKPOINT_FILE, RepairContext, build_repair_graph, sqlite_checkpointer
from codemend.llm import LLMClient, LLMSettings
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox
from codemend.solver import SolveResult, asolve
from codemend.trajectories import StepRecord

pytest_plugins = ["llm_fixtures", "repair_fixtures"]


class Crash(Exception):
    """Stands for the process dying while a node runs."""


def test_interrupt_after_execute_then_resume_runs_only_the_rest(
    tmp_path: Path,
    square: Problem,
    scripted: ScriptedServer,
    llm_settings: LLMSettings,
    sandbox: LocalSandbox,
) -> None:
    scripted.queue(fenced(RIGHT))
    db = tmp_path / CHECKPOINT_FILE
    config: Any = {"configurable": {"thread_id": "t1"}}

    async def first() -> tuple[str, ...]:
        async with LLMClient(llm_settings) as llm, sqlite_checkpointer(db) as saver:
            graph = build_repair_graph(saver, interrupt_after=["execute"])
            await graph.ainvoke({}, config, context=context(square, llm, sandbox), durability="sync")
            snapshot = await graph.aget_state(config)
            assert isinstance(snapshot.values["current"], StepRecord)  # typed across the checkpoint
            return tuple(snapshot.next)

    async def resume() -> list[str]:
        async with LLMClient(llm_settings) as llm, sqlite_checkpointer(db) as saver:  # a new process
            graph = build_repair_graph(saver)
            ran = []
            ctx = context(square, llm, sandbox)
            async for update in graph.astream(None, config, context=ctx, stream_mode="updates"):
                ran.extend(update)
            final = await graph.aget_state(config)
            assert final.values["stop_reason"] == "solved" and final.next == ()
            return ran

    assert asyncio.run(first()) == ("critique",)
    assert asyncio.run(resume()) == ["critique", "finish"]
    assert len(scripted.requests) == 1


def context(problem: Problem, llm: LLMClient, sandbox: LocalSandbox) -> RepairContext:
    return RepairContext(
        problem=problem,
        generator=make_generator(llm=llm),
        critic=make_critic(),
        executor=make_executor(sandbox),
    )


def test_a_crash_in_a_node_resumes_from_the_last_finished_node(
    tmp_path: Path,
    square: Problem,
    scripted: ScriptedServer,
    llm_settings: LLMSettings,
    sandbox: LocalSandbox,
) -> None:
    scripted.queue(fenced(WRONG))
    seen: list[StepRecord] = []

    def crash_once(step: StepRecord) -> None:
        seen.append(step)
        if len(seen) == 1:
            raise Crash("killed while committing step 0")

    options: Any = {"llm": llm_settings, "sandbox": sandbox, "run_dir": tmp_path, "trajectory_id": "t2"}
    with pytest.raises(Crash):
        asyncio.run(asolve(square, on_step=crash_once, **options))
    scripted.queue(fenced(RIGHT))
    result = asyncio.run(asolve(square, on_step=crash_once, **options))
    assert (result.passed, result.rounds) == (True, 1)
    assert len(scripted.requests) == 2  # generate ran once, then the repair
    interrupted, resumed, repaired = seen
    assert resumed == interrupted  # same step: the critique reran on the same execution
    assert resumed.report is not None and resumed.report == interrupted.report
    assert repaired.kind == "repair" and result.steps == [resumed, repaired]


def test_a_finished_trajectory_is_read_back_without_running(
    tmp_path: Path,
    square: Problem,
    scripted: ScriptedServer,
    llm_settings: LLMSettings,
    sandbox: LocalSandbox,
) -> None:
    scripted.queue(fenced(RIGHT))
    options: Any = {"llm": llm_settings, "sandbox": sandbox, "run_dir": tmp_path, "trajectory_id": "t3"}
    first: SolveResult = asyncio.run(asolve(square, **options))
    again: SolveResult = asyncio.run(asolve(square, **options))
    assert again == first
    assert len(scripted.requests) == 1
