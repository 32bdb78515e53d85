"""The executor agent: the sandbox on the visible tests, once on the hidden ones at the end, and
(``--objective speed``) a correct candidate's cost measured against the baseline's, on the loop's
workload while repairing and on the hidden workload for the answer's reward."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from codemend.agents.credit import credit
from codemend.agents.statements import Credited
from codemend.agents.tracing import first_failing, untraceable
from codemend.optimise import Speed, WorkloadCache, measure_speed, prepare_workload
from codemend.problems import Problem
from codemend.records import SpeedMeasurement, TestReport, Trace
from codemend.sandbox import Sandbox


@dataclass(frozen=True, slots=True, kw_only=True)
class Executor:
    sandbox: Sandbox
    workloads: WorkloadCache = field(default_factory=WorkloadCache, repr=False)

    async def visible(self, problem: Problem, code: str) -> TestReport:
        """Run the visible tests; raises only ``InfrastructureError`` (the sandbox did not run)."""
        return await self.sandbox.arun(problem, code, problem.visible_tests())

    async def trace(self, problem: Problem, code: str, report: TestReport) -> Trace:
        """``--feedback trace``: the first failing visible test of ``report`` run again with the
        tracer (``Sandbox.trace``); not available, with the reason, when nothing fails, the code
        does not parse or is not Python. Raises only ``InfrastructureError``."""
        if problem.language != "python":
            return Trace(available=False, reason=f"only Python candidates are traced, not {problem.language}")
        nothing = untraceable(code, report)
        failing = first_failing(report)
        if nothing is not None or failing is None:
            return nothing or Trace(available=False, reason="no visible test fails")
        test = problem.visible_tests()[failing.index]
        trace = await self.sandbox.atrace(problem, code, test)
        return trace.model_copy(update={"test_index": failing.index})

    async def credit(self, problem: Problem, code: str, report: TestReport) -> Credited | str:
        """The statements of ``code`` the visible tests it passed in ``report`` need (for the
        structure reward, ``agents.credit``), or why that cannot be told. Raises only
        ``InfrastructureError``."""
        return await credit(self.sandbox, problem, code, report)

    async def hidden(self, problem: Problem, code: str) -> TestReport | None:
        """Run the hidden tests, or None when the problem has none."""
        tests = problem.hidden_tests()
        return await self.sandbox.arun(problem, code, tests) if tests else None

    async def check_baseline(self, problem: Problem, baseline: str) -> None:
        """``ProblemError`` unless ``baseline`` runs the loop's workload (gives an output on each
        input, a generated one included)."""
        await asyncio.to_thread(prepare_workload, self.sandbox, problem, baseline, cache=self.workloads)

    async def measure(
        self, problem: Problem, baseline: str, code: str, objective: Speed, *, hidden: bool
    ) -> SpeedMeasurement:
        """``code``'s cost against ``baseline``'s on the loop's (``hidden=False``) or the hidden
        workload, drawn afresh (see ``codemend.optimise``)."""

        def run() -> SpeedMeasurement:
            work = prepare_workload(self.sandbox, problem, baseline, hidden=hidden, cache=self.workloads)
            return measure_speed(self.sandbox, work, baseline, code, objective)

        return await asyncio.to_thread(run)


def make_executor(sandbox: Sandbox) -> Executor:
    """The executor agent running candidates in ``sandbox``."""
    return Executor(sandbox=sandbox)
