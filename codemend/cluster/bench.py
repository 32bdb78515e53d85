"""``codemend bench --ray``: the batch runner's trajectories on a Ray cluster's runners.

``RayTrajectories`` is the runner's ``TrajectoryBackend``: each trajectory (repair loop and hidden
scoring) runs on the least loaded runner, and comes back as plain records that the driver stores,
once. Where each trajectory ran, and each runner lost, is appended to ``cluster.jsonl`` in the
run dir (the summary and the report are the same as a local run's).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from codemend.benchmarks import FeedbackTests, HiddenVerdicts, Solved, TrajectoryJob
from codemend.cluster.connect import connect, disconnect
from codemend.cluster.limiter import limiter_for
from codemend.cluster.node import RunnerConfig
from codemend.cluster.pool import RunnerPool
from codemend.llm import LLMSettings
from codemend.optimise import Correctness, Speed
from codemend.problems import Problem
from codemend.prompts import Prompts
from codemend.records import TrajectoryRecord
from codemend.runs import CLUSTER_LOG
from codemend.settings import SandboxSettings


@dataclass(slots=True)
class Timings:
    """Per trajectory: the driver's round trip and the time spent on the runner (the difference is
    Ray's, the wire's and the driver's share), split by the two wall clocks (on one machine) into
    dispatch (sent -> the runner starts), return (the runner ends -> the driver has the reply)
    and decoding the reply on the driver."""

    round_trip_s: list[float] = field(default_factory=list)
    runner_s: list[float] = field(default_factory=list)
    dispatch_s: list[float] = field(default_factory=list)
    return_s: list[float] = field(default_factory=list)
    decode_s: list[float] = field(default_factory=list)

    @staticmethod
    def _mean_ms(values: list[float]) -> float:
        return 1000 * sum(values) / len(values) if values else 0.0

    def overhead_ms(self) -> float:
        """The mean of round trip minus time on the runner, in ms: what Ray, the wire and the driver add."""
        return self._mean_ms([a - b for a, b in zip(self.round_trip_s, self.runner_s, strict=True)])

    def split_ms(self) -> dict[str, float]:
        """The overhead's parts, mean ms each."""
        return {
            "dispatch": self._mean_ms(self.dispatch_s),
            "return": self._mean_ms(self.return_s),
            "decode": self._mean_ms(self.decode_s),
        }


class RayTrajectories:
    def __init__(self, pool: RunnerPool, log_path: Path | None = None) -> None:
        self.pool = pool
        self.log_path = log_path
        self.timings = Timings()

    def _log(self, entry: dict[str, object]) -> None:
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")

    def lost(self, node_id: str, why: str) -> None:
        """Append a lost runner's node and why to ``cluster.jsonl`` (the pool's ``on_loss`` hook)."""
        self._log({"lost_node": node_id, "error": why})

    async def solve(self, job: TrajectoryJob) -> Solved:
        """Run ``job`` on the least loaded runner (retried elsewhere if its runner is lost); where it
        ran and how long it took are timed and appended to ``cluster.jsonl``."""
        started, sent = time.perf_counter(), time.time()
        text = await self.pool.call("trajectory", job.model_dump_json(), retry_infra=True)
        received, arrived = time.perf_counter(), time.time()
        solved = Solved.model_validate_json(text)
        round_trip = time.perf_counter() - started
        t = self.timings
        t.round_trip_s.append(round_trip)
        t.runner_s.append(solved.runner_s)
        t.dispatch_s.append(solved.runner_started - sent)
        t.return_s.append(arrived - solved.runner_started - solved.runner_s)
        t.decode_s.append(round_trip - (received - started))
        self._log(
            {
                "trajectory_id": job.trajectory_id,
                "node_id": solved.node_id,
                "runner_s": round(solved.runner_s, 4),
                "round_trip_s": round(round_trip, 4),
            }
        )
        return solved

    async def judge(
        self,
        problem: Problem,
        record: TrajectoryRecord,
        *,
        rounds: int,
        feedback_tests: FeedbackTests,
        objective: Correctness | Speed,
    ) -> HiddenVerdicts:
        """Score a stored trajectory's answers on a runner's sandbox, as ``HiddenJudge.judge`` does."""
        text = await self.pool.call(
            "judge",
            problem.model_dump_json(),
            record.model_dump_json(),
            rounds,
            feedback_tests,
            objective.model_dump(),
            retry_infra=True,
        )
        return HiddenVerdicts.model_validate_json(text)


@asynccontextmanager
async def ray_trajectories(
    address: str,
    *,
    llm: LLMSettings,
    critic_llm: LLMSettings | None,
    prompts: Prompts,
    sandbox: SandboxSettings,
    run_dir: Path,
    workers: int | None = None,
) -> AsyncIterator[RayTrajectories]:
    """Connect to the cluster at ``address`` (unless this process already is), start its runners
    and yield the backend; the runners end with the block."""
    connected = connect(address)
    try:
        endpoints = {s.base_url for s in (llm, critic_llm) if s is not None and s.base_url}
        config = RunnerConfig(
            sandbox=sandbox,
            workers=workers,
            llm=llm,
            critic_llm=critic_llm,
            prompts=prompts,
            limiters={url: limiter_for(url) for url in sorted(endpoints)},
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        backend = RayTrajectories(await RunnerPool.start(config), run_dir / CLUSTER_LOG)
        backend.pool.on_loss = backend.lost
        try:
            yield backend
        finally:
            await backend.pool.close()
    finally:
        if connected:
            disconnect()
