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

    Failing is data (a ``TestReport``); only the sandbox's own failures raise, and always as an
    ``InfrastructureError`` (see ``run``).
    """

    name: str = "sandbox"

    @abstractmethod
    def run(
        self, problem: Problem, code: str, tests: Sequence[AssertTest | IOTest] | None = None
    ) -> TestReport:
        """Run ``code`` against ``tests`` (default: all of the problem's tests).

        Whatever the candidate does (fail, raise, hang, exhaust its limits, kill its own
        processes or the worker running it) is a verdict in the report. What raises is the
        sandbox itself, as an ``InfrastructureError``; for the pooled backends (local, docker):

        - ``SandboxUnavailable`` when a worker cannot be started: on the first run (workers
          start lazily, all of them; if one cannot, none is left running), or at any later run
          when a worker that was lost (no reply before the run's deadline, its stream ended or
          failed, or what came on it was not a frame) cannot be replaced. A lost worker that
          can be replaced is, and the run is tried once more on it; lost again, the run's tests
          are ``crashed`` and nothing raises. A slot whose replacement failed is started again
          by the next run that needs it, which raises at once if it still cannot start.
        - ``InfrastructureError`` itself when the worker's supervisor replies that it failed
          to run this job (an error of its own, e.g. out of file descriptors, processes or
          space for the run's directory), or replies with something that is not a reply (a
          field missing, a verdict of unknown status); that worker stays in the pool and
          serves the next run.
        """

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
