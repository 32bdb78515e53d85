"""``ClusterSandbox``: a ``Sandbox`` whose runs go to the cluster's runners (their nodes' pools).

Anything written against ``Sandbox`` scores on the cluster unchanged: ``codemend evaluate --ray``
hands it to the samples evaluation, and an RL trainer scores rollouts on the cluster with
``codemend.rewards.use_sandbox(ClusterSandbox.connect(...))`` before calling ``compute_score`` or
``reward_func``. ``run`` is blocking and thread-safe: the calls travel through one event loop of
the sandbox's own thread. A reply's whole score (``score_reply``: its tests, and for a speed score
every paired measurement) runs on one runner, so a measurement never mixes two nodes.

A ``ClusterSandbox`` pickles: pass the one the driver started to the actors of a reward pool
(``Scorer.remote(sandbox)``, then ``rewards.use_sandbox(sandbox)`` in each); their copies send work
to the same runners and leave them running when closed (the driver's ``close`` ends them).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import ray
from pydantic import BaseModel

from codemend.cluster.connect import connect, disconnect
from codemend.cluster.node import RunnerConfig
from codemend.cluster.pool import RunnerPool
from codemend.problems import AssertTest, IOTest, Problem
from codemend.records import CostMethod, TestReport
from codemend.sandbox import Sandbox
from codemend.settings import SandboxSettings, get_settings


class ClusterSandbox(Sandbox):
    name = "ray"

    def __init__(
        self, pool: RunnerPool, loop: asyncio.AbstractEventLoop, *, connected: bool, owner: bool = True
    ) -> None:
        self.pool, self._loop, self._connected, self._owner = pool, loop, connected, owner
        self.size = max(1, int(ray.cluster_resources().get("CPU", 1)))
        """Runs worth having in flight: the cluster's CPUs."""

    @staticmethod
    def _loop_thread() -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="codemend-cluster", daemon=True).start()
        return loop

    @classmethod
    def connect(cls, address: str = "auto", *, sandbox: SandboxSettings | None = None) -> ClusterSandbox:
        """Connect (unless this process already is) and start one runner per ``sandbox`` unit."""
        connected = connect(address)
        loop = cls._loop_thread()
        config = RunnerConfig(sandbox=sandbox or get_settings().sandbox)
        pool = asyncio.run_coroutine_threadsafe(RunnerPool.start(config), loop).result()
        return cls(pool, loop, connected=connected)

    @classmethod
    def _attach(cls, runners: list[tuple[Any, str, int]], config: RunnerConfig) -> ClusterSandbox:
        """A copy in another process (an actor of the cluster): the same runners, not its own."""
        pool = RunnerPool.of(config, runners)
        return cls(pool, cls._loop_thread(), connected=False, owner=False)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ClusterSandbox._attach, (self.pool.handles, self.pool.config))

    def _call(self, method: str, *args: Any) -> Any:
        call = self.pool.call(method, *args, retry_infra=True)
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

    def cost_unavailable(self, cost: CostMethod) -> str | None:
        """What a runner's pool says (every node runs the same sandbox settings)."""
        if cost == "cpu":
            return None
        why: str | None = self._call("cost_unavailable", cost)
        return why

    def run(
        self,
        problem: Problem,
        code: str,
        tests: Sequence[AssertTest | IOTest] | None = None,
        *,
        cost: CostMethod = "cpu",
    ) -> TestReport:
        """Run ``tests`` (default: all the problem's) on one of the cluster's runners; blocking, and safe
        to call from several threads."""
        selected = problem if tests is None else problem.model_copy(update={"tests": list(tests)})
        (text,) = self._call("run_tests", [(selected.model_dump_json(), code)], cost)
        return TestReport.model_validate_json(text)

    def score_reply(self, problem: Problem, reply: str, objective: BaseModel) -> float:
        """``codemend.rewards.score_reply`` of ``reply`` on one runner, with that node's pool."""
        (score,) = self._call("score_replies", [(problem.model_dump_json(), reply, objective.model_dump())])
        return float(score)

    def close(self) -> None:
        """Stop the sandbox's event loop; the driver's copy also ends the runners, and disconnects
        this process if ``connect`` connected it."""
        if self._loop.is_closed():
            return
        if self._owner:
            asyncio.run_coroutine_threadsafe(self.pool.close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._connected:
            disconnect()
