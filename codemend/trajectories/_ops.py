"""The store's writes, each a function of an open transaction's connection.

``TrajectoryStore`` runs one per transaction; ``AsyncTrajectoryStore`` runs a batch of them
in one transaction (group commit), each inside its own savepoint so that one failing write
undoes only itself.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from codemend.errors import UserError
from codemend.problems import Problem
from codemend.records import Outcome, RunRecord, StepRecord
from codemend.trajectories import _sql


def now() -> datetime:
    return datetime.now(UTC)


def marks(n: int) -> str:
    return ", ".join("?" * n)


def trajectory_id_for(run_id: str, problem_id: str, sample_index: int) -> str:
    """Deterministic: the same sample of the same problem in a run always has the same id."""
    return f"{run_id}:{problem_id}:{sample_index}"


_STEP_VALUES = marks(len(_sql.STEP_INSERT_COLUMNS.split(",")))
_INSERT_STEP = (
    f"INSERT INTO steps ({_sql.STEP_INSERT_COLUMNS}) SELECT {_STEP_VALUES} "
    "WHERE EXISTS (SELECT 1 FROM trajectories WHERE trajectory_id = ? AND finished = 0)"
)


def insert_run(conn: sqlite3.Connection, run: RunRecord, where: str) -> str:
    try:
        conn.execute(f"INSERT INTO runs ({_sql.RUN_COLUMNS}) VALUES ({marks(11)})", _sql.run_params(run))
    except sqlite3.IntegrityError:
        raise UserError(
            f"run {run.run_id!r} is already in {where}: resume it with resume_run() or pick a new id"
        ) from None
    return run.run_id


def start_trajectory(
    conn: sqlite3.Connection,
    where: str,
    run_id: str,
    problem: Problem,
    sample_index: int,
    feedback_tests: str,
    started_at: datetime | None,
) -> str:
    tid = trajectory_id_for(run_id, problem.id, sample_index)
    row = conn.execute("SELECT finished FROM trajectories WHERE trajectory_id = ?", (tid,)).fetchone()
    if row is not None and row[0]:
        raise UserError(f"trajectory {tid!r} is already finished; skip the pairs resume_run() returns")
    if row is not None:
        conn.execute("DELETE FROM trajectories WHERE trajectory_id = ?", (tid,))
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
        raise UserError(f"no run {run_id!r} in {where}: call start_run() first")
    phash, pid, ptext = _sql.problem_row(problem)
    conn.execute("INSERT OR IGNORE INTO problems VALUES (?, ?, ?)", (phash, pid, ptext))
    conn.execute(
        "INSERT INTO trajectories (trajectory_id, run_id, problem_id, problem_hash, sample_index, "
        "feedback_tests, schema_version, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (tid, run_id, pid, phash, sample_index, feedback_tests, _sql.SCHEMA_VERSION,
         (started_at or now()).isoformat()),
    )  # fmt: skip
    return tid


def add_step(conn: sqlite3.Connection, where: str, trajectory_id: str, step: StepRecord) -> None:
    insert_step(conn, where, trajectory_id, _sql.step_params(trajectory_id, step))


def insert_step(conn: sqlite3.Connection, where: str, trajectory_id: str, row: tuple[object, ...]) -> None:
    """One statement: the row (``_sql.step_params``) goes in only while its trajectory is open."""
    try:
        done = conn.execute(_INSERT_STEP, (*row, trajectory_id))
    except sqlite3.IntegrityError:
        raise UserError(f"trajectory {trajectory_id!r} already has a step {row[1]}") from None
    if done.rowcount == 0:
        require_open(conn, where, trajectory_id)  # raises, naming what is wrong
        raise AssertionError("unreachable")


def finish_trajectory(conn: sqlite3.Connection, where: str, trajectory_id: str, outcome: Outcome) -> None:
    """Tokens default to the sum over the steps; ``wall_s`` to the time since the start."""
    ended = now()
    started = require_open(conn, where, trajectory_id)
    sums = conn.execute(
        "SELECT COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0) FROM steps WHERE trajectory_id = ?",
        (trajectory_id,),
    ).fetchone()
    o = outcome
    conn.execute(
        "UPDATE trajectories SET finished = 1, status = ?, stop_reason = ?, final_code = ?, "
        "final_reward = ?, hidden_passed = ?, hidden_report = ?, tokens_in = ?, tokens_out = ?, "
        "wall_s = ?, ended_at = ?, objective = ?, baseline_step = ?, final_measurement = ?, final_index = ? "
        "WHERE trajectory_id = ?",
        (
            o.status,
            o.stop_reason,
            o.final_code,
            o.final_reward,
            o.hidden_passed,
            o.hidden_report.model_dump_json() if o.hidden_report else None,
            sums[0] if o.tokens_in is None else o.tokens_in,
            sums[1] if o.tokens_out is None else o.tokens_out,
            (ended - started).total_seconds() if o.wall_s is None else o.wall_s,
            ended.isoformat(),
            o.objective,
            o.baseline_step,
            o.final_measurement.model_dump_json() if o.final_measurement else None,
            o.final_index,
            trajectory_id,
        ),
    )


def require_open(conn: sqlite3.Connection, where: str, trajectory_id: str) -> datetime:
    row = conn.execute(
        "SELECT finished, started_at FROM trajectories WHERE trajectory_id = ?", (trajectory_id,)
    ).fetchone()
    if row is None:
        raise UserError(f"no trajectory {trajectory_id!r} in {where}: call start_trajectory() first")
    if row[0]:
        raise UserError(f"trajectory {trajectory_id!r} is already finished")
    return datetime.fromisoformat(row[1])
