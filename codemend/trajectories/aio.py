"""``AsyncTrajectoryStore``: the store for many async solves at once.

Writes go to one writer thread, which commits whatever has queued up meanwhile in a single
transaction (group commit), each write in its own savepoint. An awaited write has been
committed when the ``await`` returns, exactly as with the blocking store; the event loop never
waits on SQLite. Rare calls (runs, resume) run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from codemend.problems import Problem
from codemend.sandbox import TestReport
from codemend.trajectories import _ops
from codemend.trajectories.records import (
    RunRecord,
    StepRecord,
    StopReason,
    TrajectoryRecord,
    TrajectoryStatus,
)
from codemend.trajectories.store import FeedbackTests, Job, TrajectoryStore

_MAX_BATCH = 512


@dataclass(frozen=True, slots=True)
class _Pending:
    job: Job
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class AsyncTrajectoryStore:
    """Awaitable ``TrajectoryStore``; share one instance between all solves of a run."""

    def __init__(self, store: TrajectoryStore) -> None:
        self.sync = store
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- the writer thread ---------------------------------------------------------------
    async def _submit(self, job: Job) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="codemend-store", daemon=True)
                self._writer.start()
            self._queue.put(_Pending(job, future, loop))
        return await future

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch: list[_Pending] = []
            item = self._queue.get()
            while True:
                if item is None:  # close(): commit what came before, then stop
                    stop = True
                    break
                batch.append(item)
                if len(batch) == _MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            results = self.sync.run_batch([p.job for p in batch])
        except BaseException as exc:  # the whole transaction failed: every write learns why
            results = [(False, exc)] * len(batch)
        for pending, (ok, value) in zip(batch, results, strict=True):
            with contextlib.suppress(RuntimeError):  # that caller's event loop is gone
                pending.loop.call_soon_threadsafe(_settle, pending.future, ok, value)

    async def close(self) -> None:
        """Finish the queued writes, stop the writer and close the store."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._queue.put(None)
        if writer is not None:
            await asyncio.to_thread(writer.join)
        await asyncio.to_thread(self.sync.close)

    # -- writes ---------------------------------------------------------------------------
    async def start_run(self, run: RunRecord) -> str:
        where = str(self.sync.path)
        result: str = await self._submit(lambda conn: _ops.insert_run(conn, run, where))
        return result

    async def start_trajectory(
        self,
        run_id: str,
        problem: Problem,
        sample_index: int = 0,
        *,
        feedback_tests: FeedbackTests = "visible",
        started_at: datetime | None = None,
    ) -> str:
        where = str(self.sync.path)
        result: str = await self._submit(
            lambda conn: _ops.start_trajectory(
                conn, where, run_id, problem, sample_index, feedback_tests, started_at
            )
        )
        return result

    async def add_step(self, trajectory_id: str, step: StepRecord) -> None:
        where = str(self.sync.path)
        await self._submit(lambda conn: _ops.add_step(conn, where, trajectory_id, step))

    async def finish_trajectory(
        self,
        trajectory_id: str,
        *,
        status: TrajectoryStatus,
        stop_reason: StopReason,
        final_code: str | None = None,
        final_reward: float | None = None,
        hidden_passed: bool | None = None,
        hidden_report: TestReport | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        wall_s: float | None = None,
    ) -> None:
        """As ``TrajectoryStore.finish_trajectory``."""
        where = str(self.sync.path)
        outcome = _ops.Outcome(
            status=status,
            stop_reason=stop_reason,
            final_code=final_code,
            final_reward=final_reward,
            hidden_passed=hidden_passed,
            hidden_report=hidden_report,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            wall_s=wall_s,
        )
        await self._submit(lambda conn: _ops.finish_trajectory(conn, where, trajectory_id, outcome))

    # -- rare calls, in a worker thread ----------------------------------------------------
    async def add_trajectory(self, record: TrajectoryRecord) -> str:
        return await asyncio.to_thread(self.sync.add_trajectory, record)

    async def resume_run(self, run_id: str) -> set[tuple[str, int]]:
        return await asyncio.to_thread(self.sync.resume_run, run_id)

    async def finish_run(self, run_id: str, ended_at: datetime | None = None) -> None:
        await asyncio.to_thread(self.sync.finish_run, run_id, ended_at)

    async def finished_pairs(self, run_id: str) -> set[tuple[str, int]]:
        return await asyncio.to_thread(self.sync.finished_pairs, run_id)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
