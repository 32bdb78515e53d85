"""The executor agent: the sandbox on the visible tests, and once on the hidden ones at the end."""

from __future__ import annotations

from dataclasses import dataclass

from codemend.problems import Problem
from codemend.records import TestReport
from codemend.sandbox import Sandbox


@dataclass(frozen=True, slots=True, kw_only=True)
class Executor:
    sandbox: Sandbox

    async def visible(self, problem: Problem, code: str) -> TestReport:
        """Run the visible tests; raises only ``InfrastructureError`` (the sandbox did not run)."""
        return await self.sandbox.arun(problem, code, problem.visible_tests())

    async def hidden(self, problem: Problem, code: str) -> TestReport | None:
        """Run the hidden tests, or None when the problem has none."""
        tests = problem.hidden_tests()
        return await self.sandbox.arun(problem, code, tests) if tests else None


def make_executor(sandbox: Sandbox) -> Executor:
    return Executor(sandbox=sandbox)
