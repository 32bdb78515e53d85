"""A writer killed with SIGKILL mid-run leaves a store that opens, holds only whole steps,
exports, and resumes without duplicates."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from trajectory_data import ASYNC_WRITER, SQUARE, WRITER, run_record, writer_args

from codemend.trajectories import TrajectoryRecord, TrajectoryStore

pytest_plugins = ["trajectory_fixtures"]


def _committed_steps(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with TrajectoryStore(db, create=False) as store:
            return store.count_steps()
    except Exception:  # the writer may not have created the schema yet
        return 0


def _mid_run(db: Path) -> bool:
    """At least 16 trajectories finished, and one started with a step on disk but unfinished."""
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db) as conn:
            done, open_with_steps = conn.execute(
                "SELECT (SELECT COUNT(*) FROM trajectories WHERE finished = 1), "
                "(SELECT COUNT(DISTINCT trajectory_id) FROM steps JOIN trajectories USING (trajectory_id) "
                "WHERE finished = 0)"
            ).fetchone()
    except sqlite3.OperationalError:  # no schema yet
        return False
    return bool(done >= 16 and open_with_steps >= 1)


def test_sigkill_mid_run_leaves_a_readable_exportable_store(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    db = tmp_path / "crash.db"
    step = records[0].steps[0]
    args = writer_args(tmp_path, step, run_record())
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "run-crash", "100000", *args])
    try:
        deadline = time.monotonic() + 60
        while _committed_steps(db) < 41 and time.monotonic() < deadline:  # not on a trajectory boundary
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert Path(f"{db}-wal").exists()  # killed before any clean close

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    expected_reply = step.reply * 200  # type: ignore[operator]
    with TrajectoryStore(db, create=False) as store:
        every = list(store.trajectories(include_unfinished=True))
        finished = list(store.trajectories("run-crash"))
        assert len(finished) >= 10
        assert all(len(t.steps) == 4 for t in finished)
        assert all(s.reply == expected_reply and s.report == step.report for t in every for s in t.steps)
        assert all(t.problem == SQUARE for t in every)
        n_steps = store.count_steps()
        assert n_steps >= 41

    out = tmp_path / "export" / "raw.parquet"
    done = subprocess.run(
        [sys.executable, "-m", "codemend", "export", str(db), "--format", "raw", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.num_rows == len(finished)
    assert {json.loads(p)["id"] for p in table.column("problem").to_pylist()} == {"square"}

    with TrajectoryStore(db, create=False) as store:
        pairs = store.resume_run("run-crash")
        assert pairs == {("square", t.sample_index) for t in finished}
        assert len(list(store.trajectories(include_unfinished=True))) == len(finished)
        assert store.count_steps() == 4 * len(finished)


def test_sigkill_of_an_async_writer_loses_no_finished_trajectory(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """Steps written behind may die in the queue, but only those of unfinished trajectories:
    every trajectory the store calls finished has all its steps, and a resume redoes the rest."""
    db = tmp_path / "crash.db"
    args = writer_args(tmp_path, records[0].steps[0], run_record())
    proc = subprocess.Popen([sys.executable, "-c", ASYNC_WRITER, str(db), "run-crash", "100000", *args])
    try:
        deadline = time.monotonic() + 60
        while not _mid_run(db) and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with TrajectoryStore(db, create=False) as store:
        finished = list(store.trajectories("run-crash"))
        every = list(store.trajectories("run-crash", include_unfinished=True))
        assert len(finished) >= 16 and len(every) > len(finished)  # killed with solves in flight
        assert all([s.index for s in t.steps] == [0, 1, 2, 3] for t in finished)
        pairs = store.resume_run("run-crash")
        assert pairs == {("square", t.sample_index) for t in finished}
        assert store.count_steps() == 4 * len(finished)
