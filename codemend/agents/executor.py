"""The executor agent: the sandbox on the visible tests, once on the hidden ones at the end, and
(``--objective speed``) a correct candidate's cost measured against the baseline's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from codemend.optimise import SpeedSettings, Workload, measure_speed, prepare_workload
from codemend.problems import Problem
from codemend.records import SpeedMeasurement, TestReport
from codemend.sandbox import Sandbox


@dataclass(frozen=True, slots=True, kw_only=True)
class Executor:
    sandbox: Sandbox
    speed: SpeedSettings = field(default_factory=SpeedSettings)
    _workloads: dict[tuple[str, str], Workload] = field(default_factory=dict, repr=False)

    async def visible(self, problem: Problem, code: str) -> TestReport:
        """Run the visible tests; raises only ``InfrastructureError`` (the sandbox did not run)."""
        return await self.sandbox.arun(problem, code, problem.visible_tests())

    async def hidden(self, problem: Problem, code: str) -> TestReport | None:
        """Run the hidden tests, or None when the problem has none."""
        tests = problem.hidden_tests()
        return await self.sandbox.arun(problem, code, tests) if tests else None

    async def workload(self, problem: Problem, baseline: str) -> Workload:
        """The measured workload, its expected outputs from ``baseline`` (computed once);
        ``UserError`` if the baseline fails on it."""
        key = (problem.id, baseline)
        if key not in self._workloads:
            self._workloads[key] = await asyncio.to_thread(prepare_workload, self.sandbox, problem, baseline)
        return self._workloads[key]

    async def measure(self, problem: Problem, baseline: str, code: str) -> SpeedMeasurement:
        """``code``'s cost against ``baseline``'s (see ``codemend.optimise.measure_speed``)."""
        work = await self.workload(problem, baseline)
        return await asyncio.to_thread(measure_speed, self.sandbox, work, baseline, code, self.speed)


def make_executor(sandbox: Sandbox, speed: SpeedSettings | None = None) -> Executor:
    return Executor(sandbox=sandbox, speed=speed or SpeedSettings())
