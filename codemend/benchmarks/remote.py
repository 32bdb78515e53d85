"""Trajectories that run in another process (``codemend.cluster``): what is sent, what comes back.

A ``TrajectoryBackend`` takes a ``TrajectoryJob`` (the problem, what the loop may see of it, the
sample's seed), runs the repair loop and the hidden scoring where it has a sandbox
(``run_job``), and returns a ``Solved``: plain records (JSON on the wire). The batch runner
stays the only writer of the store: ``store_solved`` writes a trajectory that finished
elsewhere, once; the same trajectory arriving again (a retried task) is not stored twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from codemend.agents import ExtraConstraint
from codemend.agents.tracing import FeedbackMode
from codemend.benchmarks.hidden import HiddenJudge, HiddenVerdicts, baseline_of
from codemend.benchmarks.spec import BenchSpec, CriticName, FeedbackTests, feedback_view, sampling_for
from codemend.errors import UserError
from codemend.graphs import StepHook
from codemend.llm import LLMClient, SamplingParams
from codemend.optimise import Correctness, Objective, Speed
from codemend.problems import Problem
from codemend.prompts import Prompts
from codemend.records import Outcome, TrajectoryRecord
from codemend.sandbox import Sandbox
from codemend.solver import asolve
from codemend.trajectories import AsyncTrajectoryStore, trajectory_id_for


class TrajectoryJob(BaseModel):
    """One (problem, sample) of a run, as sent to where it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    problem: Problem
    """The original problem: its hidden tests score the answers and never reach the model."""
    view: Problem
    """What the repair loop sees (``feedback_view``)."""
    sample: int
    run_id: str
    trajectory_id: str
    rounds: int
    critic: CriticName
    feedback: FeedbackMode = "tests"
    constraints: list[ExtraConstraint] = Field(default_factory=list)
    sampling: SamplingParams
    feedback_tests: FeedbackTests
    objective: Objective = Field(default_factory=Correctness)


class Solved(BaseModel):
    """What comes back: the finished trajectory, its hidden verdicts (None after an
    infrastructure stop, which is never scored), where it ran and how long it took there."""

    model_config = ConfigDict(extra="forbid")

    record: TrajectoryRecord
    verdicts: HiddenVerdicts | None
    node_id: str = ""
    runner_s: float = 0.0
    runner_started: float = 0.0
    """The runner's wall clock (``time.time()``) when it took the job: next to the driver's clock,
    it splits the round trip into dispatch and return (meaningful where the clocks agree)."""


class TrajectoryBackend(Protocol):
    """Where the batch runner's trajectories run when not in its own process (``codemend.cluster``)."""

    async def solve(self, job: TrajectoryJob) -> Solved:
        """Run ``job``'s repair loop and score its answers on the hidden tests; nothing is stored."""
        ...

    async def judge(
        self,
        problem: Problem,
        record: TrajectoryRecord,
        *,
        rounds: int,
        feedback_tests: FeedbackTests,
        objective: Correctness | Speed,
    ) -> HiddenVerdicts:
        """Score a stored trajectory's answers on ``problem``'s hidden tests: one a kill left
        unscored, or scored with an error or (a speed run) without its measurements."""
        ...


def job_for(spec: BenchSpec, problem: Problem, sample: int, run_id: str) -> TrajectoryJob:
    """The job for ``sample`` of ``problem`` in run ``run_id``: the loop's view, sampling and seed as
    ``spec`` gives them."""
    return TrajectoryJob(
        problem=problem,
        view=feedback_view(problem, spec.feedback_tests),
        sample=sample,
        run_id=run_id,
        trajectory_id=trajectory_id_for(run_id, problem.id, sample),
        rounds=spec.rounds,
        critic=spec.critic,
        feedback=spec.feedback,
        constraints=spec.constraints,
        sampling=sampling_for(spec, problem.id, sample),
        feedback_tests=spec.feedback_tests,
        objective=spec.objective,
    )


async def judge_record(
    sandbox: Sandbox,
    problem: Problem,
    record: TrajectoryRecord,
    *,
    rounds: int,
    feedback_tests: FeedbackTests,
    objective: Correctness | Speed | None = None,
) -> HiddenVerdicts:
    """The hidden verdicts of a finished trajectory, as the local runner's ``HiddenJudge`` gives them."""
    judge = HiddenJudge(sandbox, [problem], rounds=rounds, objective=objective)
    remember_final(judge, problem, record, feedback_tests)
    return await judge.judge(record)


def remember_final(
    judge: HiddenJudge, problem: Problem, record: TrajectoryRecord, feedback_tests: FeedbackTests
) -> None:
    """What the graph's ``finish`` already learnt of the answer: its hidden-test verdict (the same
    tests, unless the loop saw them too) and its hidden-workload measurement."""
    report, code = record.hidden_report, record.final_code
    if code is None:
        return
    if feedback_tests != "all" and report is not None:
        judge.remember(problem.id, code, report.passed)
    baseline = baseline_of(record, problem)
    if record.final_measurement is not None and baseline is not None:
        judge.remember_measurement(problem.id, baseline, code, record.final_measurement)


async def solve_job(
    job: TrajectoryJob,
    *,
    llm: LLMClient,
    critic_llm: LLMClient | None,
    sandbox: Sandbox,
    prompts: Prompts,
    run_dir: Path | None = None,
    on_step: StepHook | None = None,
) -> TrajectoryRecord:
    """The repair loop on ``job.view``: the one trajectory path of a bench, wherever it runs (the
    local runner adds its store's ``on_step`` and checkpoints in ``run_dir``)."""
    result = await asolve(
        job.view,
        llm=llm,
        critic_llm=critic_llm,
        sandbox=sandbox,
        prompts=prompts,
        rounds=job.rounds,
        critic=job.critic,
        feedback=job.feedback,
        constraints=job.constraints,
        sampling=job.sampling,
        run_dir=run_dir,
        trajectory_id=job.trajectory_id,
        run_id=job.run_id,
        on_step=on_step,
        objective=job.objective,
    )
    # what the store adds when it opens the trajectory
    return result.trajectory.model_copy(
        update={"sample_index": job.sample, "feedback_tests": job.feedback_tests}
    )


async def run_job(
    job: TrajectoryJob, *, llm: LLMClient, critic_llm: LLMClient | None, sandbox: Sandbox, prompts: Prompts
) -> Solved:
    """The repair loop on ``job.view``, then the hidden scoring of what it produced."""
    record = await solve_job(job, llm=llm, critic_llm=critic_llm, sandbox=sandbox, prompts=prompts)
    if record.status == "infrastructure_error":
        return Solved(record=record, verdicts=None)
    verdicts = await judge_record(
        sandbox,
        job.problem,
        record,
        rounds=job.rounds,
        feedback_tests=job.feedback_tests,
        objective=job.objective,
    )
    return Solved(record=record, verdicts=verdicts)


async def store_solved(store: AsyncTrajectoryStore, record: TrajectoryRecord) -> bool:
    """Store a trajectory that finished elsewhere; False (nothing written) when the store already
    holds it finished. An unfinished copy (a killed run) is replaced."""
    try:
        tid = await store.start_trajectory(
            record.run_id, record.problem, record.sample_index, feedback_tests=record.feedback_tests
        )
    except UserError:
        if (record.problem.id, record.sample_index) in await store.finished_pairs(record.run_id):
            return False
        raise
    for step in record.steps:
        await store.add_step(tid, step)
    await store.finish_trajectory(tid, Outcome.of(record))
    return True
