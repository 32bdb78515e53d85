"""The sandbox interface every backend implements."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType

from codemend.problems import Problem
from codemend.problems.model import AssertTest, IOTest
from codemend.sandbox.report import TestReport


class Sandbox(ABC):
    """Runs untrusted candidate code against a problem's tests, isolated from the host.

    Failing is data (a ``TestReport``); only a sandbox that cannot start raises
    ``SandboxUnavailable``.
    """

    name: str = "sandbox"

    @abstractmethod
    def run(
        self, problem: Problem, code: str, tests: Sequence[AssertTest | IOTest] | None = None
    ) -> TestReport:
        """Run ``code`` against ``tests`` (default: all of the problem's tests)."""

    async def arun(
        self, problem: Problem, code: str, tests: Sequence[AssertTest | IOTest] | None = None
    ) -> TestReport:
        return await asyncio.to_thread(self.run, problem, code, tests)

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release workers and temporary files."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
