"""Scoring with the hidden tests, after a trajectory has finished: evaluation only.

Every distinct candidate of a trajectory runs once against the original problem's hidden tests
(cached by code), so the score "after round r" is the verdict of the answer a run stopped after
round r would have returned: ``answer_index(steps[: r + 1])``, exactly as the graph picks it.
Nothing here reaches a model, and stored steps are never changed: the verdicts go to
``hidden.jsonl`` in the run dir, one line per trajectory, recomputed for any trajectory that
lacks one (a run killed between finishing a trajectory and scoring it).

With a measuring objective (``Speed``) the judge also measures each round's answer, when it
passes the hidden tests, against the baseline on the problem's **hidden** workload (hidden and
freshly generated performance inputs, never the ones the model was shown), once per distinct
code; %Opt and speedups come from these measurements, not from the loop's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from codemend.benchmarks.spec import evaluation_tests
from codemend.errors import InfrastructureError, ProblemError
from codemend.optimise import Correctness, Speed, WorkloadCache, measure_speed, prepare_workload
from codemend.problems import Problem
from codemend.records import SpeedMeasurement, StepRecord, TrajectoryRecord
from codemend.runs import HIDDEN_FILE
from codemend.sandbox import Sandbox


class HiddenVerdicts(BaseModel):
    """The hidden-test verdicts of one trajectory (a line of ``hidden.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    trajectory_id: str
    steps: list[bool | None]
    """Per step: its code passes every evaluation test; None for a step without code."""
    by_round: list[bool]
    """Per round 0..R: the verdict of the answer a run stopped after that round returns."""
    error: str | None = None
    """The sandbox failed while scoring: counted as an infrastructure error, rescored on resume."""
    measurements: list[SpeedMeasurement | None] = []
    """A measuring objective: per round, the answer's cost on the hidden workload (None when it
    is not correct, or is the baseline itself: 1.0x)."""


def by_round(
    steps: Sequence[StepRecord],
    verdicts: Sequence[bool | None],
    rounds: int,
    objective: Correctness | Speed | None = None,
) -> list[bool]:
    """``verdicts[answer_index(steps[: r + 1])]`` for r in 0..rounds (False when there is no answer)."""
    goal = objective or Correctness()
    out = []
    for r in range(rounds + 1):
        chosen = goal.answer_index(list(steps[: r + 1]))
        out.append(bool(chosen is not None and verdicts[chosen]))
    return out


class HiddenJudge:
    """Runs the evaluation tests of the original problems on candidates, once per distinct code."""

    def __init__(
        self,
        sandbox: Sandbox,
        problems: Iterable[Problem],
        *,
        rounds: int,
        objective: Correctness | Speed | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.problems = {p.id: p for p in problems}
        self.rounds = rounds
        self.objective: Correctness | Speed = objective or Correctness()
        self._cache: dict[tuple[str, str], asyncio.Future[bool]] = {}
        self._measured: dict[tuple[str, str, str], SpeedMeasurement] = {}
        self._workloads = WorkloadCache()

    def remember(self, problem_id: str, code: str, passed: bool) -> None:
        """A verdict already known (the graph ran the same hidden tests on its final answer)."""
        if (problem_id, code) not in self._cache:
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            future.set_result(passed)
            self._cache[(problem_id, code)] = future

    async def passes(self, problem_id: str, code: str) -> bool:
        """Whether ``code`` passes problem ``problem_id``'s hidden tests, run once per distinct code;
        ``InfrastructureError`` when the sandbox fails (not cached: the next call runs it again)."""
        key = (problem_id, code)
        if key not in self._cache:
            self._cache[key] = asyncio.ensure_future(self._run(self.problems[problem_id], code))
        future = self._cache[key]
        try:
            return await asyncio.shield(future)
        except InfrastructureError:
            self._cache.pop(key, None)  # not a verdict: try again next time
            raise

    async def _run(self, problem: Problem, code: str) -> bool:
        report = await self.sandbox.arun(problem, code, evaluation_tests(problem))
        return report.passed

    async def judge(self, trajectory: TrajectoryRecord) -> HiddenVerdicts:
        """Every step's hidden verdict, the answer's by round, and for a speed run each round's
        measurement on the hidden workload; an infrastructure failure (or a baseline that fails its
        workload) is returned as the verdicts' ``error``, not raised."""
        pid, tid = trajectory.problem.id, trajectory.trajectory_id
        try:
            verdicts = await asyncio.gather(*(self._maybe(pid, s.code) for s in trajectory.steps))
        except InfrastructureError as exc:
            error = f"{type(exc).__name__}: {exc}"
            return HiddenVerdicts(trajectory_id=tid, steps=[], by_round=[], error=error)
        rounds = by_round(trajectory.steps, verdicts, self.rounds, self.objective)
        if not isinstance(self.objective, Speed):
            return HiddenVerdicts(trajectory_id=tid, steps=list(verdicts), by_round=rounds)
        try:
            measured = await self._measure_rounds(trajectory, rounds, self.objective)
        except (InfrastructureError, ProblemError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            return HiddenVerdicts(trajectory_id=tid, steps=[], by_round=[], error=error)
        return HiddenVerdicts(trajectory_id=tid, steps=list(verdicts), by_round=rounds, measurements=measured)

    def remember_measurement(self, problem_id: str, baseline: str, code: str, m: SpeedMeasurement) -> None:
        """A hidden-workload measurement already taken (the graph's ``finish`` on the answer)."""
        if m.hidden:
            self._measured.setdefault((problem_id, baseline, code), m)

    async def _measure_rounds(
        self, trajectory: TrajectoryRecord, passed: list[bool], objective: Speed
    ) -> list[SpeedMeasurement | None]:
        problem = self.problems[trajectory.problem.id]
        steps = list(trajectory.steps)
        baseline = baseline_of(trajectory, problem)
        out: list[SpeedMeasurement | None] = []
        for r, ok in enumerate(passed):
            chosen = objective.answer_index(steps[: r + 1])
            code = steps[chosen].code if chosen is not None else None
            if not ok or code is None or baseline is None or code == baseline:
                out.append(None)
                continue
            out.append(await self._measure(problem, baseline, code, objective))
        return out

    async def _measure(
        self, problem: Problem, baseline: str, code: str, objective: Speed
    ) -> SpeedMeasurement:
        key = (problem.id, baseline, code)
        if key not in self._measured:

            def run() -> SpeedMeasurement:
                work = prepare_workload(self.sandbox, problem, baseline, hidden=True, cache=self._workloads)
                return measure_speed(self.sandbox, work, baseline, code, objective)

            self._measured[key] = await asyncio.to_thread(run)
        return self._measured[key]

    async def _maybe(self, problem_id: str, code: str | None) -> bool | None:
        return None if code is None else await self.passes(problem_id, code)


def baseline_of(trajectory: TrajectoryRecord, problem: Problem) -> str | None:
    """What a speed trajectory's candidates were measured against: the reference solution, else
    its baseline step's code."""
    if problem.reference_solution is not None:
        return problem.reference_solution
    step = trajectory.baseline_step
    return trajectory.steps[step].code if step is not None and step < len(trajectory.steps) else None


class HiddenLog:
    """``hidden.jsonl``: appended line by line, read back with the latest line per trajectory."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / HIDDEN_FILE

    def read(self) -> dict[str, HiddenVerdicts]:
        """The latest verdicts of each trajectory in the log; a line cut short by a kill is skipped."""
        found: dict[str, HiddenVerdicts] = {}
        if not self.path.is_file():
            return found
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                verdicts = HiddenVerdicts.model_validate_json(line)
            except ValidationError:
                continue  # a line cut short by a kill: its trajectory is scored again
            found[verdicts.trajectory_id] = verdicts
        return found

    def append(self, verdicts: HiddenVerdicts) -> None:
        """Append one trajectory's verdicts as a line (after a line a kill cut short, on a fresh one)."""
        data = (verdicts.model_dump_json() + "\n").encode()
        with self.path.open("ab+") as fh:
            if fh.seek(0, 2) > 0:
                fh.seek(-1, 2)
                if fh.read(1) != b"\n":  # a kill cut the last line short: start a fresh one
                    data = b"\n" + data
            fh.write(data)
