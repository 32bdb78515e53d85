"""The batch runner behind ``codemend bench``: many trajectories at once, stored, scored, resumable.

Every (problem, sample) pair is one trajectory of the repair graph (``codemend.solver.asolve``),
all sharing one LLM client and one sandbox: at most ``concurrency`` trajectories are in flight, so
model calls overlap while the sandbox pool runs tests in parallel (one worker per core). Each
step is stored as soon as it is finished; a finished trajectory is then scored on the hidden
tests (``codemend.benchmarks.hidden``), never shown to a model.

Resuming (after a crash or a SIGKILL): the store drops the run's unfinished trajectories and
returns the finished pairs, which are skipped; the others start again (at most ``concurrency``
trajectories' work is redone). With ``checkpoints=True`` they instead continue from their graph
checkpoint (``checkpoints.sqlite`` in the run dir), and the steps the checkpoint already held are
stored when the trajectory finishes; that costs about 2 ms of CPU per graph node, which doubles
the framework's share when the model answers at once (``perf/bench_overhead.py``) but is worth it
when model calls take seconds. Trajectories finished but not yet scored are scored at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codemend import __version__
from codemend.benchmarks.hidden import HiddenJudge, HiddenLog, HiddenVerdicts
from codemend.benchmarks.remote import TrajectoryBackend, job_for, remember_final, solve_job, store_solved
from codemend.benchmarks.spec import BenchSpec, feedback_view
from codemend.errors import UserError
from codemend.graphs import CHECKPOINT_FILE, sqlite_checkpointer
from codemend.llm import LLMClient
from codemend.optimise import Speed
from codemend.problems import Problem
from codemend.prompts import Prompts
from codemend.records import Outcome, RunRecord, StepRecord, TrajectoryRecord
from codemend.runs import STORE_FILE
from codemend.sandbox import Sandbox
from codemend.trajectories import AsyncTrajectoryStore, TrajectoryStore


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchDeps:
    """What every trajectory of a run shares."""

    llm: LLMClient
    sandbox: Sandbox
    critic_llm: LLMClient | None = None
    prompts: Prompts = field(default_factory=Prompts.load)


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Counts after each trajectory: ``done`` of ``total`` (finished earlier ones included)."""

    done: int
    total: int
    solved: int
    """Finished trajectories whose final answer passes the hidden tests."""
    infrastructure_errors: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchResult:
    run_id: str
    trajectories: list[TrajectoryRecord]
    hidden: dict[str, HiddenVerdicts]
    resumed: int
    """Trajectories already finished when this invocation started."""
    wall_s: float


ProgressHook = Callable[[Progress], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """How to run a bench, beyond what it is (``BenchSpec``).

    ``resume``: finish the run in the run dir (its stored settings and problems must agree);
    ``retry_errors`` (with ``resume``): run again the trajectories an infrastructure error ended;
    ``rerun_changed`` (with ``resume``): run again the problems whose content changed; ``checkpoints``:
    keep graph checkpoints, so that a trajectory interrupted half-way resumes after its last
    finished node instead of starting again; ``concurrency``: trajectories in flight;
    ``on_progress``: called with the counts after each trajectory; ``backend``: run and score
    each trajectory there (``codemend.cluster``), this process still being the store's only writer.
    """

    resume: bool = False
    retry_errors: bool = False
    rerun_changed: bool = False
    checkpoints: bool = False
    concurrency: int = 8
    on_progress: ProgressHook | None = None
    backend: TrajectoryBackend | None = None


def read_spec(run_dir: Path) -> tuple[str, BenchSpec]:
    """The run id and settings of the bench run stored in ``run_dir``."""
    path = run_dir / STORE_FILE
    if not path.is_file():
        raise UserError(f"nothing to resume: {run_dir} holds no bench run ({STORE_FILE} is missing)")
    with TrajectoryStore(path, create=False) as store:
        runs = store.runs()
    if len(runs) != 1:
        raise UserError(f"{path} holds {len(runs)} runs; a bench run dir holds exactly one")
    try:
        return runs[0].run_id, BenchSpec.model_validate(runs[0].settings)
    except ValueError:
        raise UserError(f"{path}: run {runs[0].run_id!r} is not a bench run") from None


def run_record(run_id: str, spec: BenchSpec, deps: BenchDeps) -> RunRecord:
    """The run's record for the store: model and endpoints, prompt hashes and the spec's settings."""
    critic = deps.critic_llm if spec.critic != "tests" else None
    return RunRecord(
        run_id=run_id,
        created_at=datetime.now(UTC),
        codemend_version=__version__,
        model=deps.llm.model,
        endpoint=deps.llm.base_url,
        critic_model=critic.model if critic else None,
        critic_endpoint=critic.base_url if critic else None,
        prompt_hashes=deps.prompts.hashes(),
        settings=spec.model_dump(mode="json"),
    )


class _Batch:
    """One invocation of a bench run: the store, the judge, the counters."""

    def __init__(
        self,
        spec: BenchSpec,
        deps: BenchDeps,
        problems: Sequence[Problem],
        *,
        run_dir: Path,
        store: AsyncTrajectoryStore,
        run_id: str,
        options: RunOptions,
    ) -> None:
        self.spec, self.deps, self.run_dir, self.store, self.run_id = spec, deps, run_dir, store, run_id
        self.judge = HiddenJudge(deps.sandbox, problems, rounds=spec.rounds, objective=spec.objective)
        self.checkpoints = options.checkpoints
        self.on_progress = options.on_progress
        self.backend = options.backend
        self.log = HiddenLog(run_dir)
        self.hidden = self.log.read()
        self.total = len(problems) * spec.samples
        self.done = self.solved = self.errors = 0

    def report(self) -> None:
        if self.on_progress is not None:
            counts = Progress(
                done=self.done, total=self.total, solved=self.solved, infrastructure_errors=self.errors
            )
            self.on_progress(counts)

    def _count(self, status: str, verdicts: HiddenVerdicts | None) -> None:
        self.done += 1
        self.errors += status == "infrastructure_error"
        self.solved += bool(verdicts and verdicts.by_round and verdicts.by_round[-1])

    def recount(self, records: Sequence[TrajectoryRecord]) -> None:
        """Set the counters from the run's finished trajectories and report them."""
        self.done, self.solved, self.errors = 0, 0, 0
        for t in records:
            self._count(t.status, self.hidden.get(t.trajectory_id))
        self.report()

    async def trajectory(self, problem: Problem, sample: int, slots: asyncio.Semaphore) -> None:
        if self.backend is not None:
            async with slots:
                await self._remote(self.backend, problem, sample)
            return
        async with slots:
            record = await self._solve(problem, sample)
        verdicts = await self.score(record) if record.status != "infrastructure_error" else None
        self._count(record.status, verdicts)
        self.report()

    async def _remote(self, backend: TrajectoryBackend, problem: Problem, sample: int) -> None:
        solved = await backend.solve(job_for(self.spec, problem, sample, self.run_id))
        if not await store_solved(self.store, solved.record):
            return  # already stored and counted: a retried task's second answer
        if solved.verdicts is not None:
            self.log.append(solved.verdicts)
            self.hidden[solved.verdicts.trajectory_id] = solved.verdicts
        self._count(solved.record.status, solved.verdicts)
        self.report()

    async def _solve(self, problem: Problem, sample: int) -> TrajectoryRecord:
        """The same trajectory path as a remote runner's (``solve_job``), with this run's store
        taking each step as it is made, and checkpoints when asked for."""
        job = job_for(self.spec, problem, sample, self.run_id)
        tid = await self.store.start_trajectory(
            self.run_id, job.view, sample, feedback_tests=self.spec.feedback_tests
        )
        assert tid == job.trajectory_id, "the store and the job name a trajectory alike"
        written: set[int] = set()

        async def store_step(step: StepRecord) -> None:
            if step.index not in written:
                written.add(step.index)
                await self.store.add_step(tid, step)

        deps = self.deps
        record = await solve_job(
            job,
            llm=deps.llm,
            critic_llm=deps.critic_llm,
            sandbox=deps.sandbox,
            prompts=deps.prompts,
            run_dir=self.run_dir if self.checkpoints else None,
            on_step=store_step,
        )
        for step in record.steps:  # those a resumed checkpoint already held
            await store_step(step)
        await self.store.finish_trajectory(tid, Outcome.of(record))
        return record

    async def score(self, record: TrajectoryRecord) -> HiddenVerdicts:
        if self.backend is not None:
            problem = self.judge.problems[record.problem.id]
            verdicts = await self.backend.judge(
                problem,
                record,
                rounds=self.spec.rounds,
                feedback_tests=self.spec.feedback_tests,
                objective=self.spec.objective,
            )
        else:
            problem = self.judge.problems[record.problem.id]
            remember_final(self.judge, problem, record, self.spec.feedback_tests)
            verdicts = await self.judge.judge(record)
        self.log.append(verdicts)
        self.hidden[verdicts.trajectory_id] = verdicts
        return verdicts

    def _rescore(self, verdicts: HiddenVerdicts) -> bool:
        """Scored with an error, or (a speed run) without the hidden-workload measurements."""
        unmeasured = self.spec.objective.measures and len(verdicts.measurements) != len(verdicts.by_round)
        return bool(verdicts.error) or unmeasured

    async def sweep(self) -> list[TrajectoryRecord]:
        """Every finished trajectory of the run, each scored (those a kill left unscored now)."""
        records = await self.store.trajectories(self.run_id)
        missing = [
            t
            for t in records
            if t.status != "infrastructure_error"
            and (t.trajectory_id not in self.hidden or self._rescore(self.hidden[t.trajectory_id]))
        ]
        await asyncio.gather(*(self.score(t) for t in missing))
        return records


async def _forget_errors(store: AsyncTrajectoryStore, run_dir: Path, run_id: str) -> int:
    """Drop the run's trajectories that ended on an infrastructure error, and their checkpoints,
    so that they run again."""
    records = await store.trajectories(run_id)
    failed = [t.trajectory_id for t in records if t.status == "infrastructure_error"]
    if not failed:
        return 0
    for tid in failed:
        await store.discard_trajectory(tid)
    if (run_dir / CHECKPOINT_FILE).is_file():  # else it finished on its own: nothing to forget
        async with sqlite_checkpointer(run_dir / CHECKPOINT_FILE) as saver:
            await saver.setup()
            for tid in failed:
                await saver.adelete_thread(tid)
    return len(failed)


async def _check_problems(
    spec: BenchSpec,
    problems: Sequence[Problem],
    store: AsyncTrajectoryStore,
    run_dir: Path,
    run_id: str,
    *,
    rerun_changed: bool,
) -> None:
    """A resumed run must score every problem on one version of it: when a problem's content
    (its tests, prompt, workload...; not its metadata) changed since its trajectories were stored,
    refuse, naming the problems, or (``rerun_changed``) drop those trajectories so that they run again.
    Metadata is not content: a run stored before the loaders kept it resumes as it is."""

    def content(p: Problem) -> dict[str, Any]:
        return p.model_dump(exclude={"metadata"})

    now = {p.id: content(feedback_view(p, spec.feedback_tests)) for p in problems}
    stored = await store.trajectories(run_id)
    stale = [t for t in stored if t.problem.id in now and content(t.problem) != now[t.problem.id]]
    if not stale:
        return
    ids = sorted({t.problem.id for t in stale})
    if not rerun_changed:
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        raise UserError(
            f"{run_dir}: {len(ids)} problem(s) changed since their trajectories were stored ({shown}): "
            "restore the data, or pass --rerun-changed to run those problems again"
        )
    for t in stale:
        await store.discard_trajectory(t.trajectory_id)
    if (run_dir / CHECKPOINT_FILE).is_file():
        async with sqlite_checkpointer(run_dir / CHECKPOINT_FILE) as saver:
            await saver.setup()
            for t in stale:
                await saver.adelete_thread(t.trajectory_id)


async def _open(
    spec: BenchSpec,
    deps: BenchDeps,
    run_dir: Path,
    store: AsyncTrajectoryStore,
    problems: Sequence[Problem],
    *,
    resume: bool,
    retry_errors: bool,
    rerun_changed: bool,
) -> tuple[str, set[tuple[str, int]]]:
    if resume:
        run_id, stored = read_spec(run_dir)
        if stored != spec:
            raise UserError(
                f"{run_dir} was started with other settings: {stored.model_dump(exclude_unset=True)}"
            )
        run = await store.run(run_id)
        for kind, digest in deps.prompts.hashes().items():
            if run.prompt_hashes.get(kind, digest) != digest:
                raise UserError(
                    f"{run_dir} was run with another {kind} prompt (sha256 {run.prompt_hashes[kind][:12]}, "
                    f"now {digest[:12]}): restore that template, or start a new run"
                )
        await _check_problems(spec, problems, store, run_dir, run_id, rerun_changed=rerun_changed)
        if retry_errors:
            await _forget_errors(store, run_dir, run_id)
        return run_id, await store.resume_run(run_id)
    if retry_errors or rerun_changed:
        raise UserError(f"{'--retry-errors' if retry_errors else '--rerun-changed'} goes with --resume")
    if (run_dir / STORE_FILE).exists():
        raise UserError(f"{run_dir} already holds a bench run: pass --resume, or choose another --run-dir")
    run_id = f"bench-{spec.benchmark}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    await store.start_run(run_record(run_id, spec, deps))
    return run_id, set()


async def run_bench(
    spec: BenchSpec,
    problems: Sequence[Problem],
    deps: BenchDeps,
    *,
    run_dir: str | Path,
    options: RunOptions | None = None,
) -> BenchResult:
    """Run (or resume, see ``RunOptions``) ``spec`` over ``problems`` in ``run_dir``; returns every
    finished trajectory of the run with its hidden-test verdicts."""
    options = options or RunOptions()
    if options.backend is not None and options.checkpoints:
        raise UserError("graph checkpoints stay on one machine: drop --checkpoints to run on a cluster")
    if isinstance(spec.objective, Speed):  # said at the start, never a fallback mid-run
        why = await asyncio.to_thread(deps.sandbox.cost_unavailable, spec.objective.cost)
        why = why or next(filter(None, (spec.objective.unavailable_for(p.language) for p in problems)), None)
        if why is not None:
            raise UserError(f"--cost {spec.objective.cost}: {why}")
    started = time.perf_counter()
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    store = AsyncTrajectoryStore(TrajectoryStore(folder / STORE_FILE))
    try:
        run_id, finished = await _open(
            spec,
            deps,
            folder,
            store,
            problems,
            resume=options.resume,
            retry_errors=options.retry_errors,
            rerun_changed=options.rerun_changed,
        )
        batch = _Batch(spec, deps, problems, run_dir=folder, store=store, run_id=run_id, options=options)
        pending = [(p, s) for p in problems for s in range(spec.samples) if (p.id, s) not in finished]
        batch.recount(await batch.sweep() if finished else [])  # an earlier kill may have left some unscored
        slots = asyncio.Semaphore(options.concurrency)
        async with asyncio.TaskGroup() as group:
            for problem, sample in pending:
                group.create_task(batch.trajectory(problem, sample, slots))
        records = await batch.sweep()
        batch.recount(records)
        await store.finish_run(run_id)
    finally:
        await store.close()
    return BenchResult(
        run_id=run_id,
        trajectories=records,
        hidden=batch.hidden,
        resumed=len(finished),
        wall_s=time.perf_counter() - started,
    )
