"""``ClusterSandbox``: a ``Sandbox`` whose runs go to the cluster's runners (their nodes' pools).

Anything written against ``Sandbox`` scores on the cluster unchanged: ``codemend evaluate --ray``
hands it to the samples evaluation, and an RL trainer scores rollouts on the cluster with
``codemend.rewards.use_sandbox(ClusterSandbox.start(...))`` before calling ``compute_score`` or
``reward_func`` (from its driver, or from each actor of its own reward pool). ``run`` is
blocking and thread-safe: the calls travel through one event loop of the sandbox's own thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import ray

from codemend.cluster.connect import connect, disconnect
from codemend.cluster.node import RunnerConfig
from codemend.cluster.pool import RunnerPool
from codemend.problems import AssertTest, IOTest, Problem
from codemend.records import TestReport
from codemend.sandbox import Sandbox
from codemend.settings import SandboxSettings, get_settings


class ClusterSandbox(Sandbox):
    name = "ray"

    def __init__(self, pool: RunnerPool, loop: asyncio.AbstractEventLoop, *, connected: bool) -> None:
        self.pool, self._loop, self._connected = pool, loop, connected
        self.size = max(1, int(ray.cluster_resources().get("CPU", 1)))
        """Runs worth having in flight: the cluster's CPUs."""

    @classmethod
    def start(cls, address: str = "auto", *, sandbox: SandboxSettings | None = None) -> ClusterSandbox:
        """Connect (unless this process already is) and start one runner per ``sandbox`` unit."""
        connected = connect(address)
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="codemend-cluster", daemon=True).start()
        config = RunnerConfig(sandbox=sandbox or get_settings().sandbox)
        pool = asyncio.run_coroutine_threadsafe(RunnerPool.start(config), loop).result()
        return cls(pool, loop, connected=connected)

    def run(
        self, problem: Problem, code: str, tests: Sequence[AssertTest | IOTest] | None = None
    ) -> TestReport:
        selected = problem if tests is None else problem.model_copy(update={"tests": list(tests)})
        call = self.pool.call("run_tests", [(selected.model_dump_json(), code)], retry_infra=True)
        (text,) = asyncio.run_coroutine_threadsafe(call, self._loop).result()
        return TestReport.model_validate_json(text)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.pool.close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._connected:
            disconnect()
