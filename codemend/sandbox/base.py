"""The sandbox interface every backend implements."""

from __future__ import annotations

import asyncio
import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType

from pydantic import BaseModel

from codemend.problems import Problem
from codemend.problems.model import AssertTest, IOTest
from codemend.records import CostMethod, Trace
from codemend.sandbox.report import TestReport


class Sandbox(ABC):
    """Runs untrusted candidate code against a problem's tests, isolated from the host.

    Failing is data (a ``TestReport``); only the sandbox's own failures raise, and always as an
    ``InfrastructureError`` (see ``run``).
    """

    name: str = "sandbox"
    size: int = 1
    """How many runs it takes at once (a pool: its workers; a cluster: its CPUs)."""
    contained: bool | None = False
    """Each candidate runs in namespaces of its own, so every process it spawns is reaped inside
    and its CPU time counted (None: not known until ``start``)."""

    def start(self) -> None:  # noqa: B027 - optional for backends that start nothing
        """Start the sandbox's workers now instead of at the first run (raise
        ``SandboxUnavailable`` if they cannot start); ``contained`` is known afterwards."""

    def score_reply(self, problem: Problem, reply: str, objective: BaseModel) -> float | None:
        """A sandbox whose runs happen elsewhere (a cluster's node) scores a whole reply there, so
        that every run of one score (a speed score's paired measurements) shares one machine; None
        (the default): ``codemend.rewards`` scores here, run by run."""
        return None

    def cost_unavailable(self, cost: CostMethod) -> str | None:
        """None when this sandbox can measure ``cost`` (``run(..., cost=...)``), else one
        sentence saying why not. CPU time is always reported; counting instructions is a
        backend's to declare."""
        if cost == "cpu":
            return None
        return f"the {self.name} sandbox cannot count instructions"

    @abstractmethod
    def run(
        self,
        problem: Problem,
        code: str,
        tests: Sequence[AssertTest | IOTest] | None = None,
        *,
        cost: CostMethod = "cpu",
    ) -> TestReport:
        """Run ``code`` against ``tests`` (default: all of the problem's tests).

        ``cost="instructions"`` (a ``UserError`` where ``cost_unavailable`` says this sandbox
        cannot): every candidate process of the run (the one serving assertion tests, each
        I/O-test program) runs under valgrind, and the report's ``instructions`` is the sum of
        their user-space instructions, the test code's never counted; the same program on the
        same inputs gets the same count every time. A counted program runs as a single process
        (fork and new threads fail), with 40x the problem's time limit plus 5 s and 256 MB of
        address space above its memory limit for valgrind. ``instructions`` is None when any
        of them left no count: killed (a timeout, a signal, its own SIGKILL), exec'd into an
        uncounted program, or valgrind stopped by it. CPU time is reported either way.

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

    def trace(self, problem: Problem, code: str, test: AssertTest | IOTest) -> Trace:
        """``--feedback trace``: ``code`` run once more on ``test`` (the first failing visible one),
        with a tracer in the candidate's process recording the blocks of its own code it ran and
        its variables after each (``codemend.sandbox.runtime.tracer``). Under the problem's time
        and memory limits, as a separate run whose verdicts count for nothing: the trace is the
        candidate's own data, only ever feedback. A trace that cannot be had (this backend cannot
        trace, the run crashed before the tracer recorded a line, its worker failed) is
        ``available=False`` with the reason; a cut one says why in ``note``. Never raises for
        what the candidate does."""
        return Trace(available=False, reason=f"the {self.name} sandbox cannot trace")

    async def atrace(self, problem: Problem, code: str, test: AssertTest | IOTest) -> Trace:
        """``trace`` in a worker thread, for async callers."""
        return await asyncio.to_thread(self.trace, problem, code, test)

    async def arun(
        self,
        problem: Problem,
        code: str,
        tests: Sequence[AssertTest | IOTest] | None = None,
        *,
        cost: CostMethod = "cpu",
    ) -> TestReport:
        """``run`` in a worker thread, for async callers; same arguments, same report and errors."""
        return await asyncio.to_thread(functools.partial(self.run, problem, code, tests, cost=cost))

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
