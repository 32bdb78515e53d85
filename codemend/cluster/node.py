"""``NodeRunner``: the actor that does codemend's work on a node of the cluster.

One runner per unit of the ``sandbox`` resource (give each node that can isolate ``sandbox: 1``):
it holds that node's sandbox pool (one worker per CPU of the node, started once and reused by
every trajectory and test run it is sent) and one model client per endpoint, and runs any
number of trajectories at once on its event loop, as the local runner does. It stores nothing:
what it produced goes back to the driver as plain records (JSON).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import ray

from codemend.benchmarks import FeedbackTests, HiddenVerdicts, TrajectoryJob, judge_record, run_job
from codemend.cluster.limiter import LimitedClient
from codemend.llm import LLMClient, LLMSettings
from codemend.optimise import as_objective
from codemend.problems import Problem
from codemend.prompts import Prompts
from codemend.records import CostMethod, TestReport, TrajectoryRecord
from codemend.sandbox import Sandbox, open_sandbox
from codemend.settings import SandboxSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerConfig:
    """What a runner needs; ``llm`` is None for a runner that only runs tests (evaluate, rewards)."""

    sandbox: SandboxSettings
    workers: int | None = None
    """Sandbox workers per runner (None: the node's CPUs)."""
    llm: LLMSettings | None = None
    critic_llm: LLMSettings | None = None
    prompts: Prompts | None = None
    limiters: dict[str, Any] | None = None
    """base_url -> the endpoint's ``EndpointLimiter`` handle."""


def node_id() -> str:
    """The Ray node id of the node this process runs on."""
    return str(ray.get_runtime_context().get_node_id())


def _node_cpus() -> int:
    here = node_id()
    for node in ray.nodes():
        if node.get("NodeID") == here:
            return max(1, int(node.get("Resources", {}).get("CPU", 1)))
    return 1


class NodeRunner:
    def __init__(self, config: RunnerConfig) -> None:
        self.config = config
        self._sandbox: Sandbox | None = None
        self._clients: tuple[LLMClient, LLMClient | None] | None = None
        self._stack = AsyncExitStack()
        self._opening: asyncio.Lock | None = None

    def _pool(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = open_sandbox(self.config.sandbox, workers=self.config.workers or _node_cpus())
        return self._sandbox

    async def ready(self) -> tuple[str, int]:
        """Start the sandbox pool and open the model clients (so that the first trajectories do not
        hold the runner's event loop while they would); this node's id and how many runs the pool
        takes at once."""
        pool = self._pool()
        await asyncio.to_thread(pool.start)
        if self.config.llm is not None:
            await self._llms()
        return node_id(), max(1, pool.size)

    async def _client(self, settings: LLMSettings) -> LLMClient:
        limiter = (self.config.limiters or {}).get(settings.base_url or "")
        client = LLMClient(settings) if limiter is None else LimitedClient(settings, limiter)
        return await self._stack.enter_async_context(client)

    async def _llms(self) -> tuple[LLMClient, LLMClient | None]:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._clients is None:
                if self.config.llm is None:
                    raise RuntimeError("this runner was started without a model endpoint")
                llm = await self._client(self.config.llm)
                critic = await self._client(self.config.critic_llm) if self.config.critic_llm else None
                self._clients = (llm, critic)
            return self._clients

    async def trajectory(self, job_json: str) -> str:
        """A ``TrajectoryJob`` (JSON) through the repair loop and the hidden scoring: a ``Solved``."""
        started, wall = time.perf_counter(), time.time()
        job = TrajectoryJob.model_validate_json(job_json)
        llm, critic = await self._llms()
        prompts = self.config.prompts or Prompts.load()
        solved = await run_job(job, llm=llm, critic_llm=critic, sandbox=self._pool(), prompts=prompts)
        took = time.perf_counter() - started
        done = solved.model_copy(update={"node_id": node_id(), "runner_s": took, "runner_started": wall})
        return done.model_dump_json()

    async def judge(
        self,
        problem_json: str,
        record_json: str,
        rounds: int,
        feedback_tests: FeedbackTests,
        objective: dict[str, Any] | None = None,
    ) -> str:
        """The hidden verdicts of a stored trajectory (one a killed driver left unscored)."""
        problem = Problem.model_validate_json(problem_json)
        record = TrajectoryRecord.model_validate_json(record_json)
        verdicts: HiddenVerdicts = await judge_record(
            self._pool(),
            problem,
            record,
            rounds=rounds,
            feedback_tests=feedback_tests,
            objective=as_objective(objective or "correctness"),
        )
        return verdicts.model_dump_json()

    async def cost_unavailable(self, cost: CostMethod) -> str | None:
        """This node's pool's ``cost_unavailable``."""
        return await asyncio.to_thread(self._pool().cost_unavailable, cost)

    async def run_tests(self, items: list[tuple[str, str]], cost: CostMethod = "cpu") -> list[str]:
        """Each (problem JSON, code) against all of that problem's tests: one ``TestReport``
        (JSON) per item, run in parallel on this node's pool, measuring ``cost``."""
        pool = self._pool()

        async def one(problem_json: str, code: str) -> str:
            problem = Problem.model_validate_json(problem_json)
            report: TestReport = await pool.arun(problem, code, cost=cost)
            return report.model_dump_json()

        return list(await asyncio.gather(*(one(p, c) for p, c in items)))

    async def score_replies(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[float]:
        """``codemend.rewards.score_reply`` of each (problem JSON, reply, objective settings)
        on this node's pool, in parallel: every run of one reply's score on this node."""
        from codemend.rewards import score_reply

        pool = self._pool()

        def one(problem_json: str, reply: str, objective: dict[str, Any]) -> float:
            return score_reply(
                Problem.model_validate_json(problem_json), reply, pool, as_objective(objective)
            )

        return list(await asyncio.gather(*(asyncio.to_thread(one, *item) for item in items)))

    async def close(self) -> None:
        """Close the model clients and the node's sandbox pool."""
        await self._stack.aclose()
        if self._sandbox is not None:
            await asyncio.to_thread(self._sandbox.close)
            self._sandbox = None
