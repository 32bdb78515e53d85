"""Scoring with the hidden tests, after a trajectory has finished: evaluation only.

Every distinct candidate of a trajectory runs once against the original problem's hidden tests
(cached by code), so the score "after round r" is the verdict of the answer a run stopped after
round r would have returned: ``answer_index(steps[: r + 1])``, exactly as the graph picks it.
Nothing here reaches a model, and stored steps are never changed: the verdicts go to
``hidden.jsonl`` in the run dir, one line per trajectory, recomputed for any trajectory that
lacks one (a run killed between finishing a trajectory and scoring it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from codemend.benchmarks.spec import evaluation_tests
from codemend.errors import InfrastructureError
from codemend.graphs import answer_index
from codemend.problems import Problem
from codemend.records import Objective, StepRecord, TrajectoryRecord
from codemend.sandbox import Sandbox

HIDDEN_FILE = "hidden.jsonl"


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


def by_round(
    steps: Sequence[StepRecord],
    verdicts: Sequence[bool | None],
    rounds: int,
    objective: Objective = "correctness",
) -> list[bool]:
    """``verdicts[answer_index(steps[: r + 1])]`` for r in 0..rounds (False when there is no answer)."""
    out = []
    for r in range(rounds + 1):
        chosen = answer_index(list(steps[: r + 1]), objective)
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
        objective: Objective = "correctness",
    ) -> None:
        self.sandbox = sandbox
        self.problems = {p.id: p for p in problems}
        self.rounds = rounds
        self.objective: Objective = objective
        self._cache: dict[tuple[str, str], asyncio.Future[bool]] = {}

    def remember(self, problem_id: str, code: str, passed: bool) -> None:
        """A verdict already known (the graph ran the same hidden tests on its final answer)."""
        if (problem_id, code) not in self._cache:
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            future.set_result(passed)
            self._cache[(problem_id, code)] = future

    async def passes(self, problem_id: str, code: str) -> bool:
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
        pid, tid = trajectory.problem.id, trajectory.trajectory_id
        try:
            verdicts = await asyncio.gather(*(self._maybe(pid, s.code) for s in trajectory.steps))
        except InfrastructureError as exc:
            error = f"{type(exc).__name__}: {exc}"
            return HiddenVerdicts(trajectory_id=tid, steps=[], by_round=[], error=error)
        rounds = by_round(trajectory.steps, verdicts, self.rounds, self.objective)
        return HiddenVerdicts(trajectory_id=tid, steps=list(verdicts), by_round=rounds)

    async def _maybe(self, problem_id: str, code: str | None) -> bool | None:
        return None if code is None else await self.passes(problem_id, code)


class HiddenLog:
    """``hidden.jsonl``: appended line by line, read back with the latest line per trajectory."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / HIDDEN_FILE

    def read(self) -> dict[str, HiddenVerdicts]:
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
        data = (verdicts.model_dump_json() + "\n").encode()
        with self.path.open("ab+") as fh:
            if fh.seek(0, 2) > 0:
                fh.seek(-1, 2)
                if fh.read(1) != b"\n":  # a kill cut the last line short: start a fresh one
                    data = b"\n" + data
            fh.write(data)
