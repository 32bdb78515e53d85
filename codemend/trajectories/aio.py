"""``AsyncTrajectoryStore``: the store for many async solves at once.

Writes go to one writer thread, which commits whatever has queued up meanwhile in a single
transaction (group commit), each write in its own savepoint; the event loop never waits on
SQLite.

Steps are written behind: ``add_step`` returns once the step is queued, and the writer commits
it at most ``step_delay_s`` later, together with every write queued by then. Batching the steps
of concurrent solves this way takes more than half of the store's CPU off a busy machine
(``perf/store_throughput.py``). Every other write, and ``flush()``, is awaited until it and
everything queued before it are committed: when ``finish_trajectory`` returns, the trajectory
and all its steps are on disk. A process killed in between loses at most the last
``step_delay_s`` of steps, all of them steps of unfinished trajectories, which ``resume_run``
drops and redoes anyway. A step that cannot be stored (a repeated index, a closed trajectory)
is logged, and ``finish_trajectory`` then refuses to finish that trajectory and raises why.
``step_delay_s=0`` instead commits each step before ``add_step`` returns, raising its error
there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from codemend.errors import UserError
from codemend.problems import Problem
from codemend.records import Outcome, RunRecord, StepRecord, TrajectoryRecord
from codemend.trajectories import _ops, _sql
from codemend.trajectories.store import FeedbackTests, Job, TrajectoryStore

log = logging.getLogger(__name__)

_MAX_BATCH = 512
DEFAULT_STEP_DELAY_S = 0.05


@dataclass(frozen=True, slots=True)
class _Write:
    job: Job
    future: asyncio.Future[Any] | None  # None: written behind, nobody awaits it
    loop: asyncio.AbstractEventLoop | None = None


class AsyncTrajectoryStore:
    """Awaitable ``TrajectoryStore``; share one instance between all solves of a run."""

    def __init__(self, store: TrajectoryStore, *, step_delay_s: float = DEFAULT_STEP_DELAY_S) -> None:
        if step_delay_s < 0:
            raise ValueError(f"step_delay_s must be >= 0, got {step_delay_s}")
        self.sync = store
        self.step_delay_s = step_delay_s
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        # trajectory id -> why one of its steps written behind was not stored (writer thread only)
        self._failed: dict[str, BaseException] = {}

    # -- the writer thread ---------------------------------------------------------------
    def _put(self, write: _Write) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="codemend-store", daemon=True)
                self._writer.start()
            self._queue.put(write)

    async def _submit(self, job: Job) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._put(_Write(job, future, loop))
        return await future

    def _write_loop(self) -> None:
        batch: list[_Write] = []
        deadline = 0.0
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()) if batch else None)
            except queue.Empty:  # the oldest step has waited step_delay_s
                batch = self._commit(batch)
                continue
            if item is None:  # close(): commit what came before, then stop
                self._commit(batch)
                return
            batch.append(item)
            if item.future is None and len(batch) < _MAX_BATCH:
                if len(batch) == 1:
                    deadline = time.monotonic() + self.step_delay_s
                continue
            if not self._take_queued(batch):  # an awaited write: commit it with all queued so far
                self._commit(batch)
                return
            batch = self._commit(batch)

    def _take_queued(self, batch: list[_Write]) -> bool:
        """Move what is queued into ``batch`` (up to its size limit); False if close() came."""
        while len(batch) < _MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return True
            if item is None:
                return False
            batch.append(item)
        return True

    def _commit(self, batch: list[_Write]) -> list[_Write]:
        if not batch:
            return batch
        try:
            results = self.sync.run_batch([w.job for w in batch])
        except BaseException as exc:  # the whole transaction failed: every write learns why
            results = [(False, exc)] * len(batch)
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]]
        settled = defaultdict(list)
        for write, (ok, value) in zip(batch, results, strict=True):
            if write.future is None:
                if not ok:
                    self._step_failed(write.job, value)
            else:
                assert write.loop is not None
                settled[write.loop].append((write.future, ok, value))
        for loop, outcomes in settled.items():
            with contextlib.suppress(RuntimeError):  # that caller's event loop is gone
                loop.call_soon_threadsafe(_settle, outcomes)
        return []

    def _step_failed(self, job: Job, exc: BaseException) -> None:
        assert isinstance(job, _StepJob)
        self._failed.setdefault(job.trajectory_id, exc)  # the job set it unless the commit failed
        log.error("step %d of trajectory %s was not stored: %s", job.index, job.trajectory_id, exc)

    async def flush(self) -> None:
        """Wait until every write queued so far is committed."""
        await self._submit(_nothing)

    async def close(self) -> None:
        """Commit the queued writes, stop the writer and close the store."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._queue.put(None)
        if writer is not None:
            await asyncio.to_thread(writer.join)
        await asyncio.to_thread(self.sync.close)

    # -- writes ---------------------------------------------------------------------------
    async def start_run(self, run: RunRecord) -> str:
        """As ``TrajectoryStore.start_run``, after the writes queued before it."""
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
        """As ``TrajectoryStore.start_trajectory``, after the writes queued before it; a restarted
        trajectory forgets an earlier failure to store one of its steps."""
        where = str(self.sync.path)

        def job(conn: sqlite3.Connection) -> str:
            tid = _ops.start_trajectory(
                conn, where, run_id, problem, sample_index, feedback_tests, started_at
            )
            self._failed.pop(tid, None)  # a fresh start of that trajectory
            return tid

        result: str = await self._submit(job)
        return result

    async def add_step(self, trajectory_id: str, step: StepRecord) -> None:
        """Queue ``step`` (see the module's doc); with ``step_delay_s=0``, commit it first."""
        where = str(self.sync.path)
        row = _sql.step_params(trajectory_id, step)  # serialised now: later changes to step do not count
        if self.step_delay_s == 0:
            await self._submit(_StepJob(where, trajectory_id, step.index, row, None))
        else:
            self._put(_Write(_StepJob(where, trajectory_id, step.index, row, self._failed), None))

    async def finish_trajectory(self, trajectory_id: str, outcome: Outcome) -> None:
        """As ``TrajectoryStore.finish_trajectory``; a ``UserError`` if one of the trajectory's
        steps could not be stored (it then stays unfinished, so a resume redoes it)."""
        where = str(self.sync.path)

        def job(conn: sqlite3.Connection) -> None:
            failed = self._failed.get(trajectory_id)
            if failed is not None:
                raise UserError(
                    f"trajectory {trajectory_id!r} left unfinished: one of its steps was not stored: {failed}"
                ) from failed
            _ops.finish_trajectory(conn, where, trajectory_id, outcome)

        await self._submit(job)

    # -- rare calls, in a worker thread, after the queued writes --------------------------
    async def add_trajectory(self, record: TrajectoryRecord) -> str:
        """As ``TrajectoryStore.add_trajectory``, once the queued writes are committed."""
        await self.flush()
        return await asyncio.to_thread(self.sync.add_trajectory, record)

    async def resume_run(self, run_id: str) -> set[tuple[str, int]]:
        """As ``TrajectoryStore.resume_run``, once the queued writes are committed."""
        await self.flush()
        return await asyncio.to_thread(self.sync.resume_run, run_id)

    async def finish_run(self, run_id: str, ended_at: datetime | None = None) -> None:
        """As ``TrajectoryStore.finish_run``, once the queued writes are committed."""
        await self.flush()
        await asyncio.to_thread(self.sync.finish_run, run_id, ended_at)

    async def finished_pairs(self, run_id: str) -> set[tuple[str, int]]:
        """As ``TrajectoryStore.finished_pairs``, once the queued writes are committed."""
        await self.flush()
        return await asyncio.to_thread(self.sync.finished_pairs, run_id)

    async def run(self, run_id: str) -> RunRecord:
        """As ``TrajectoryStore.run``, once the queued writes are committed."""
        await self.flush()
        return await asyncio.to_thread(self.sync.run, run_id)

    async def trajectories(self, run_id: str | None = None) -> list[TrajectoryRecord]:
        """The finished trajectories (of ``run_id``), read after the queued writes."""
        await self.flush()
        return await asyncio.to_thread(lambda: list(self.sync.trajectories(run_id)))

    async def discard_trajectory(self, trajectory_id: str) -> None:
        """As ``TrajectoryStore.discard_trajectory``, once the queued writes are committed."""
        await self.flush()
        await asyncio.to_thread(self.sync.discard_trajectory, trajectory_id)


@dataclass(frozen=True, slots=True)
class _StepJob:
    """``add_step`` as a job; one written behind notes its failure in ``failed`` at once, so that
    a ``finish_trajectory`` later in the same transaction already sees it."""

    where: str
    trajectory_id: str
    index: int
    row: tuple[object, ...]
    failed: dict[str, BaseException] | None

    def __call__(self, conn: sqlite3.Connection) -> None:
        try:
            _ops.insert_step(conn, self.where, self.trajectory_id, self.row)
        except BaseException as exc:
            if self.failed is not None:
                self.failed.setdefault(self.trajectory_id, exc)
            raise


def _nothing(conn: sqlite3.Connection) -> None:
    return None


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
