"""``TrajectoryStore``: runs, trajectories and steps in one SQLite file (WAL).

Every write is one transaction, committed before the call returns: a step is stored whole or
not at all, and a process killed mid-run leaves a store that opens and exports (its unfinished
trajectories are kept apart until ``resume_run`` or ``discard_unfinished`` removes them).
Writes from many threads share one connection behind a lock; other processes writing the same
file wait for SQLite's lock (``busy_timeout_s``). Reads use their own connection and a
snapshot, so exporting never blocks writers. Async callers use ``AsyncTrajectoryStore``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from codemend.errors import UserError
from codemend.problems import Problem
from codemend.records import (
    Outcome,
    RunRecord,
    SpeedMeasurement,
    StepRecord,
    TestReport,
    TrajectoryRecord,
)
from codemend.trajectories import _ops, _sql
from codemend.trajectories._ops import trajectory_id_for

__all__ = ["DEFAULT_STORE_PATH", "FeedbackTests", "Job", "Outcome", "TrajectoryStore", "trajectory_id_for"]

DEFAULT_STORE_PATH = Path("codemend.db")
FeedbackTests = Literal["visible", "all", "none"]
Job = Callable[[sqlite3.Connection], Any]  # one write, run inside an open transaction


class TrajectoryStore:
    """A trajectory store at ``path``; the file is opened (and created) on first use.

    ``create=False`` makes opening a missing file a ``UserError`` instead of creating it;
    ``read_only=True`` (implies ``create=False``) opens it for reading only, so that a store on
    read-only media or owned by another user can still be read and exported.
    """

    def __init__(
        self, path: str | Path, *, create: bool = True, read_only: bool = False, busy_timeout_s: float = 30.0
    ) -> None:
        self.path = Path(path)
        self.create = create and not read_only
        self.read_only = read_only
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # -- connection ---------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if not self.create and not self.path.is_file():
            raise UserError(f"no trajectory store at {self.path}: give the path of an existing .db file")
        try:
            if self.read_only:
                return _sql.open_read_only(str(self.path), busy_timeout_s=self.busy_timeout_s)
            return _sql.open_store(str(self.path), busy_timeout_s=self.busy_timeout_s)
        except sqlite3.OperationalError as exc:
            raise UserError(f"cannot open the trajectory store {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{self.path} is not a codemend trajectory store: {exc}") from None

    def _connection(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, holding SQLite's write lock from its start (no upgrade deadlocks)."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._connection().execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (the store reopens it on its next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> TrajectoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------------------
    def start_run(self, run: RunRecord) -> str:
        """Record a new run; a run id already in the store is a ``UserError`` (use ``resume_run``)."""
        with self._write() as conn:
            return _ops.insert_run(conn, run, str(self.path))

    def resume_run(self, run_id: str) -> set[tuple[str, int]]:
        """Reopen a run: drop its unfinished trajectories and return the finished
        ``(problem_id, sample_index)`` pairs, which the caller skips."""
        self.run(run_id)
        with self._write() as conn:
            conn.execute("DELETE FROM trajectories WHERE run_id = ? AND finished = 0", (run_id,))
            conn.execute("UPDATE runs SET ended_at = NULL WHERE run_id = ?", (run_id,))
        return self.finished_pairs(run_id)

    def finish_run(self, run_id: str, ended_at: datetime | None = None) -> None:
        """Record the run's end (default: now); ``UserError`` for a run not in the store."""
        with self._write() as conn:
            done = conn.execute(
                "UPDATE runs SET ended_at = ? WHERE run_id = ?",
                ((ended_at or _ops.now()).isoformat(), run_id),
            )
            if done.rowcount == 0:
                raise UserError(f"no run {run_id!r} in {self.path}")

    def runs(self) -> list[RunRecord]:
        """Every run in the store, oldest first."""
        rows = self._query(f"SELECT {_sql.RUN_COLUMNS} FROM runs ORDER BY created_at, run_id")
        return [_sql.run_from_row(r) for r in rows]

    def run(self, run_id: str) -> RunRecord:
        """The run ``run_id``; ``UserError`` naming the latest runs when there is none."""
        rows = self._query(f"SELECT {_sql.RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            known = ", ".join(r.run_id for r in self.runs()[-5:]) or "none"
            raise UserError(f"no run {run_id!r} in {self.path} (latest runs: {known})")
        return _sql.run_from_row(rows[0])

    def finished_pairs(self, run_id: str) -> set[tuple[str, int]]:
        """The ``(problem_id, sample_index)`` pairs of the run's finished trajectories."""
        rows = self._query(
            "SELECT problem_id, sample_index FROM trajectories WHERE run_id = ? AND finished = 1", (run_id,)
        )
        return {(r[0], r[1]) for r in rows}

    def discard_unfinished(self, run_id: str | None = None) -> int:
        """Delete unfinished trajectories (and their steps); returns how many."""
        with self._write() as conn:
            where, params = ("AND run_id = ?", (run_id,)) if run_id else ("", ())
            return conn.execute(f"DELETE FROM trajectories WHERE finished = 0 {where}", params).rowcount

    # -- trajectories -------------------------------------------------------------------
    def start_trajectory(
        self,
        run_id: str,
        problem: Problem,
        sample_index: int = 0,
        *,
        feedback_tests: FeedbackTests = "visible",
        started_at: datetime | None = None,
    ) -> str:
        """Open a trajectory and return its id. An unfinished trajectory of the same sample (left
        by a killed run) is replaced; a finished one is a ``UserError``."""
        with self._write() as conn:
            return _ops.start_trajectory(
                conn, str(self.path), run_id, problem, sample_index, feedback_tests, started_at
            )

    def add_step(self, trajectory_id: str, step: StepRecord) -> None:
        """Store one finished step, committed before this returns."""
        with self._write() as conn:
            _ops.add_step(conn, str(self.path), trajectory_id, step)

    def finish_trajectory(self, trajectory_id: str, outcome: Outcome) -> None:
        """Close a trajectory with its ``outcome`` (``Outcome.of(record)`` for a finished
        ``TrajectoryRecord``)."""
        with self._write() as conn:
            _ops.finish_trajectory(conn, str(self.path), trajectory_id, outcome)

    def add_trajectory(self, record: TrajectoryRecord) -> str:
        """Store a whole finished trajectory in one transaction (imports, tests)."""
        where = str(self.path)
        with self._write() as conn:
            tid = _ops.start_trajectory(
                conn, where, record.run_id, record.problem, record.sample_index, record.feedback_tests, None
            )
            if tid != record.trajectory_id:
                raise UserError(f"trajectory id {record.trajectory_id!r} should be {tid!r}")
            for step in record.steps:
                _ops.add_step(conn, where, tid, step)
            _ops.finish_trajectory(conn, where, tid, Outcome.of(record))
        return tid

    def run_batch(self, jobs: Sequence[Job]) -> list[tuple[bool, Any]]:
        """Run ``jobs`` in one transaction, each in its own savepoint: ``(True, result)`` or
        ``(False, exception)`` per job; one failing job undoes only its own writes."""
        results: list[tuple[bool, Any]] = []
        with self._write() as conn:
            for job in jobs:
                conn.execute("SAVEPOINT job")
                try:
                    results.append((True, job(conn)))
                except (UserError, sqlite3.Error) as exc:
                    conn.execute("ROLLBACK TO job")
                    results.append((False, exc))
                conn.execute("RELEASE job")
        return results

    def discard_trajectory(self, trajectory_id: str) -> None:
        """Delete a trajectory and its steps, finished or not (nothing if there is none)."""
        with self._write() as conn:
            conn.execute("DELETE FROM trajectories WHERE trajectory_id = ?", (trajectory_id,))

    # -- reading ------------------------------------------------------------------------
    def trajectories(
        self, run_id: str | None = None, *, include_unfinished: bool = False
    ) -> Iterator[TrajectoryRecord]:
        """Trajectories in the order they were started, read from one snapshot.

        Unfinished ones (a killed run) are skipped unless ``include_unfinished``; they then come
        back with ``status="infrastructure_error"`` and ``stop_reason="infrastructure"``.
        """
        self._connection()  # creates or checks the schema
        if self.read_only:
            reader = _sql.open_read_only(str(self.path), busy_timeout_s=self.busy_timeout_s)
        else:
            reader = _sql.connect(str(self.path), busy_timeout_s=self.busy_timeout_s)
        try:
            reader.execute("BEGIN")  # one snapshot for the whole iteration
            yield from _read_trajectories(reader, run_id, include_unfinished)
        finally:
            reader.close()

    def count_steps(self, run_id: str | None = None) -> int:
        """How many steps are stored: in run ``run_id``, or in all runs."""
        if run_id is None:
            return int(self._query("SELECT COUNT(*) FROM steps")[0][0])
        sql = "SELECT COUNT(*) FROM steps JOIN trajectories USING (trajectory_id) WHERE run_id = ?"
        return int(self._query(sql, (run_id,))[0][0])


def _read_trajectories(
    conn: sqlite3.Connection, run_id: str | None, include_unfinished: bool
) -> Iterator[TrajectoryRecord]:
    where = [] if include_unfinished else ["finished = 1"]
    params: tuple[Any, ...] = ()
    if run_id is not None:
        where.append("run_id = ?")
        params = (run_id,)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    problems: dict[str, Problem] = {}
    rows = conn.execute(f"SELECT * FROM trajectories {clause} ORDER BY seq", params).fetchall()
    columns = _sql.step_select(conn)
    for row in rows:
        phash = row["problem_hash"]
        if phash not in problems:
            text = conn.execute("SELECT problem FROM problems WHERE problem_hash = ?", (phash,)).fetchone()[0]
            problems[phash] = Problem.model_validate_json(text)
        steps = conn.execute(
            f"SELECT {columns} FROM steps WHERE trajectory_id = ? ORDER BY idx",
            (row["trajectory_id"],),
        ).fetchall()
        yield _trajectory_from_row(row, problems[phash], [_sql.step_from_row(s) for s in steps])


def _trajectory_from_row(row: sqlite3.Row, problem: Problem, steps: list[StepRecord]) -> TrajectoryRecord:
    finished = bool(row["finished"])
    hidden = row["hidden_passed"]
    return TrajectoryRecord(
        schema_version=row["schema_version"],
        trajectory_id=row["trajectory_id"],
        run_id=row["run_id"],
        problem=problem,
        sample_index=row["sample_index"],
        status=row["status"] if finished else "infrastructure_error",
        stop_reason=row["stop_reason"] if finished else "infrastructure",
        final_code=row["final_code"],
        final_reward=row["final_reward"],
        hidden_passed=None if hidden is None else bool(hidden),
        hidden_report=TestReport.model_validate_json(row["hidden_report"]) if row["hidden_report"] else None,
        steps=steps,
        tokens_in=row["tokens_in"] if finished else sum(s.tokens_in for s in steps),
        tokens_out=row["tokens_out"] if finished else sum(s.tokens_out for s in steps),
        wall_s=row["wall_s"],
        feedback_tests=row["feedback_tests"],
        **_speed_fields(row),
    )


def _speed_fields(row: sqlite3.Row) -> dict[str, Any]:
    """Schema 3's trajectory columns; absent when reading an older store without upgrading it."""
    if "objective" not in row.keys():  # noqa: SIM118 - "in" on a Row looks at its values
        return {}
    final = row["final_measurement"]
    return {
        "objective": row["objective"],
        "baseline_step": row["baseline_step"],
        "final_measurement": SpeedMeasurement.model_validate_json(final) if final else None,
        **({"final_index": row["final_index"]} if "final_index" in row.keys() else {}),  # noqa: SIM118
    }
