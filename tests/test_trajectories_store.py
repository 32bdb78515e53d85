"""The SQLite trajectory store: lossless round trips, the incremental API the graph uses,
concurrent writers (threads, processes), resume, and bad stores."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from trajectory_data import ADD, RUN_ID, SQUARE, T0, WRITER, run_record, writer_args

from codemend.errors import UserError
from codemend.records import (
    Outcome,
    SecurityFinding,
    SecurityReport,
    StructureScore,
    Trace,
)
from codemend.trajectories import (
    SCHEMA_VERSION,
    TrajectoryRecord,
    TrajectoryStore,
)

pytest_plugins = ["trajectory_fixtures"]


def test_records_round_trip_exactly(store_path: Path, records: list[TrajectoryRecord]) -> None:
    with TrajectoryStore(store_path, create=False) as store:
        assert list(store.trajectories()) == records
        assert list(store.trajectories(RUN_ID)) == records
        assert list(store.trajectories("other-run")) == []
        [run] = store.runs()
        assert run == run_record().model_copy(update={"ended_at": T0 + timedelta(hours=1)})
        assert store.count_steps() == sum(len(r.steps) for r in records)
        assert store.count_steps(RUN_ID) == store.count_steps()


def test_wal_mode_and_one_row_per_problem(store_path: Path, records: list[TrajectoryRecord]) -> None:
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT COUNT(*) FROM problems").fetchone()[0] == len(
            {r.problem.id for r in records}
        )


def test_incremental_writes_as_the_graph_makes_them(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    source = records[0]  # square, failed then repaired
    store = TrajectoryStore(tmp_path / "s.db")
    assert not (tmp_path / "s.db").exists()  # nothing happens until the first use
    with store:
        store.start_run(run_record())
        tid = store.start_trajectory(RUN_ID, SQUARE, 0)
        assert tid == source.trajectory_id
        store.add_step(tid, source.steps[0])
        # a reader sees the committed step while the trajectory is still open
        with TrajectoryStore(tmp_path / "s.db", create=False) as reader:
            [partial] = reader.trajectories(include_unfinished=True)
            assert partial.steps == source.steps[:1]
            assert (partial.status, partial.stop_reason) == ("infrastructure_error", "infrastructure")
            assert list(reader.trajectories()) == []
        store.add_step(tid, source.steps[1])
        outcome = Outcome(
            status="solved",
            stop_reason="solved",
            final_code=source.final_code,
            final_reward=1.0,
            hidden_passed=True,
            hidden_report=source.hidden_report,
        )
        store.finish_trajectory(tid, outcome)
        store.finish_run(RUN_ID)
        [done] = store.trajectories()
        assert done.steps == source.steps
        assert done.tokens_in == sum(s.tokens_in for s in source.steps)
        assert done.tokens_out == sum(s.tokens_out for s in source.steps)
        assert 0 <= done.wall_s < 60
        assert done.hidden_report == source.hidden_report
        assert store.run(RUN_ID).ended_at is not None


def test_misuse_is_a_user_error_naming_the_fix(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    step = records[0].steps[0]
    with TrajectoryStore(tmp_path / "s.db") as store:
        with pytest.raises(UserError, match="start_run"):
            store.start_trajectory("nope", SQUARE)
        store.start_run(run_record())
        with pytest.raises(UserError, match="resume_run"):
            store.start_run(run_record())
        with pytest.raises(UserError, match="start_trajectory"):
            store.add_step("missing", step)
        tid = store.start_trajectory(RUN_ID, SQUARE)
        store.add_step(tid, step)
        with pytest.raises(UserError, match="already has a step 0"):
            store.add_step(tid, step)
        store.finish_trajectory(tid, Outcome(status="unsolved", stop_reason="max_rounds"))
        with pytest.raises(UserError, match="already finished"):
            store.add_step(tid, step.model_copy(update={"index": 1}))
        with pytest.raises(UserError, match="already finished"):
            store.start_trajectory(RUN_ID, SQUARE)
        with pytest.raises(UserError, match="latest runs: run-0001"):
            store.run("run-9")
        with pytest.raises(UserError, match="no run"):
            store.finish_run("run-9")
        # nothing half-done was left by the failed calls
        assert [len(t.steps) for t in store.trajectories()] == [1]


def test_resume_skips_finished_and_replaces_unfinished(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    step = records[0].steps[0]
    with TrajectoryStore(tmp_path / "s.db") as store:
        store.start_run(run_record())
        for i in range(3):
            tid = store.start_trajectory(RUN_ID, SQUARE, i)
            store.add_step(tid, step)
            if i != 1:
                store.finish_trajectory(tid, Outcome(status="unsolved", stop_reason="max_rounds"))
        open_one = store.start_trajectory(RUN_ID, ADD, 0)
        store.add_step(open_one, step)
        # a run killed here: on resume, the unfinished pairs are dropped and not returned
        assert store.resume_run(RUN_ID) == {("square", 0), ("square", 2)}
        assert len(list(store.trajectories(include_unfinished=True))) == 2
        # restarting an unfinished sample replaces it instead of duplicating it
        tid = store.start_trajectory(RUN_ID, SQUARE, 1)
        store.add_step(tid, step)
        tid = store.start_trajectory(RUN_ID, SQUARE, 1)
        assert [len(t.steps) for t in store.trajectories(include_unfinished=True)] == [1, 1, 0]
        assert store.discard_unfinished(RUN_ID) == 1
        assert store.finished_pairs(RUN_ID) == {("square", 0), ("square", 2)}


def test_threads_write_concurrently(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    step = records[0].steps[0]
    store = TrajectoryStore(tmp_path / "s.db")
    store.start_run(run_record())
    errors: list[BaseException] = []

    def solve(i: int) -> None:
        try:
            tid = store.start_trajectory(RUN_ID, SQUARE, i)
            for k in range(10):
                store.add_step(tid, step.model_copy(update={"index": k}))
            store.finish_trajectory(tid, Outcome(status="unsolved", stop_reason="max_rounds"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=solve, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store:
        assert store.count_steps() == 160
        assert sorted(t.sample_index for t in store.trajectories()) == list(range(16))


def test_processes_write_the_same_store(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    db = tmp_path / "s.db"
    args = writer_args(tmp_path, records[0].steps[0], run_record())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), f"run-{p}", "25", *args], stdout=subprocess.PIPE
        )
        for p in range(3)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out == b"done\n"
    with TrajectoryStore(db) as store:
        assert sorted(r.run_id for r in store.runs()) == ["run-0", "run-1", "run-2"]
        assert store.count_steps() == 3 * 25 * 4


def test_refuses_what_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no trajectory store at"):
        TrajectoryStore(tmp_path / "missing.db", create=False).runs()
    (tmp_path / "notes.db").write_text("not sqlite " * 200)
    with pytest.raises(UserError, match="not a codemend trajectory store"):
        TrajectoryStore(tmp_path / "notes.db").runs()
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UserError, match="upgrade codemend"):
        TrajectoryStore(newer).runs()


def test_a_store_of_the_previous_schema_opens_and_is_upgraded(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """Schema 2 only added values (a stop reason, a critique field): a schema-1 store reads as is."""
    store_path = tmp_path / "v1.db"
    with TrajectoryStore(store_path) as store:
        store.start_run(run_record())
        store.add_trajectory(records[0])
    with sqlite3.connect(store_path) as conn:
        conn.execute("PRAGMA user_version = 1")
        conn.execute("UPDATE steps SET schema_version = 1")
    with TrajectoryStore(store_path) as store:
        (back,) = store.trajectories()
        assert [s.schema_version for s in back.steps] == [1] * len(records[0].steps)
        assert back.model_dump(exclude={"steps"}) == records[0].model_dump(exclude={"steps"})
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6


def test_reading_a_file_that_is_not_a_store_is_a_user_error(tmp_path: Path) -> None:
    """A truncated or foreign SQLite file used to end an export with "no such table: runs"."""
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (text)").connection.close()
    with (
        pytest.raises(UserError, match="is not a codemend trajectory store"),
        TrajectoryStore(other, read_only=True) as store,
    ):
        store.runs()
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


@pytest.mark.parametrize("table", ["steps", "runs"])
def test_a_store_that_lost_a_table_is_a_user_error_naming_it(store_path: Path, table: str) -> None:
    """A resume on such a store ended in a "no such table" traceback."""
    with sqlite3.connect(store_path) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(f"DROP TABLE {table}")
    with pytest.raises(UserError, match=f"has lost its {table} table"), TrajectoryStore(store_path) as store:
        store.runs()
    with (
        pytest.raises(UserError, match="not a codemend trajectory store"),
        TrajectoryStore(store_path, read_only=True) as store,
    ):
        store.runs()
    with sqlite3.connect(store_path) as conn:  # nothing was recreated in its place
        assert table not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def _speed_record(record: TrajectoryRecord) -> TrajectoryRecord:
    from codemend.records import SpeedMeasurement

    m = SpeedMeasurement(
        contained=True, baseline_s=[0.2, 0.21], candidate_s=[0.05, 0.06], speedup=3.8, verdict="faster"
    )
    steps = [s.model_copy(update={"measurement": m}) for s in record.steps]
    return record.model_copy(
        update={"steps": steps, "objective": "speed", "baseline_step": 0, "final_measurement": m}
    )


def test_speed_measurements_round_trip_and_a_schema_2_store_is_upgraded(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """Schema 3 added columns (step measurements; objective, baseline step, final measurement)."""
    old = tmp_path / "v2.db"
    with TrajectoryStore(old) as store:
        store.start_run(run_record())
        store.add_trajectory(records[0])
    with sqlite3.connect(old) as conn:
        conn.execute("ALTER TABLE steps DROP COLUMN measurement")
        for column in ("objective", "baseline_step", "final_measurement"):
            conn.execute(f"ALTER TABLE trajectories DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 2")
    with TrajectoryStore(old, read_only=True) as store:  # read as it is, not upgraded
        assert list(store.trajectories()) == [records[0]]
    speedy = _speed_record(records[1])
    with TrajectoryStore(old) as store:  # upgraded in place, then holds speed data
        store.add_trajectory(speedy)
        assert list(store.trajectories()) == [records[0], speedy]
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _with_tokens(record: TrajectoryRecord) -> TrajectoryRecord:
    steps = [
        s.model_copy(
            update={
                "prompt_token_ids": [1, 2, 3 + s.index],
                "completion_token_ids": [7, 8],
                "completion_logprobs": [-0.5, -0.0625],
            }
        )
        for s in record.steps
    ]
    return record.model_copy(update={"steps": steps})


def test_token_ids_and_logprobs_round_trip_and_a_schema_3_store_is_upgraded(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """Schema 4 added the steps' ``tokens`` column (token ids and logprobs, when the endpoint
    returned them); a schema-3 store reads as it is and is upgraded when written."""
    old = tmp_path / "v3.db"
    with TrajectoryStore(old) as store:
        store.start_run(run_record())
        store.add_trajectory(records[0])
    with sqlite3.connect(old) as conn:
        conn.execute("ALTER TABLE steps DROP COLUMN tokens")
        conn.execute("PRAGMA user_version = 3")
    with TrajectoryStore(old, read_only=True) as store:
        (back,) = store.trajectories()
        assert back == records[0] and back.steps[0].completion_logprobs is None
    tokened = _with_tokens(records[1])
    with TrajectoryStore(old) as store:
        store.add_trajectory(tokened)
        assert list(store.trajectories()) == [records[0], tokened]
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_schema_4_store_opens_and_its_critiques_have_no_signals(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """Schema 5 added the critic's signals inside the critique: a schema-4 store's steps read with
    none (not asked for), and a signal written now reads back whole."""
    store_path = tmp_path / "v4.db"
    with TrajectoryStore(store_path) as store:
        store.start_run(run_record())
        store.add_trajectory(records[0])
    with sqlite3.connect(store_path) as conn:
        conn.execute("PRAGMA user_version = 4")
        conn.execute("UPDATE steps SET schema_version = 4")
    with TrajectoryStore(store_path) as store:
        (back,) = store.trajectories()
        critiques = [s.critique for s in back.steps if s.critique is not None]
        assert critiques and all(c.trace is None and c.security is None for c in critiques)
        assert all(c.structure is None for c in critiques)
        signals = {
            "trace": Trace(available=False, reason="the candidate crashed the tracer"),
            "security": SecurityReport(
                available=True,
                analyser="bandit 1.8",
                findings=[SecurityFinding(line=4, severity="high", rule="B602", message="shell=True")],
            ),
            "structure": StructureScore(available=True, syntax_match=0.5, dataflow_match=1.0, score=0.75),
        }
        steps = [
            s.model_copy(update={"critique": s.critique.model_copy(update=signals)}) if s.critique else s
            for s in records[1].steps
        ]
        signalled = records[1].model_copy(update={"steps": steps})
        store.add_trajectory(signalled)
        (again,) = [t for t in store.trajectories() if t.trajectory_id == signalled.trajectory_id]
        assert again.steps == signalled.steps and again.steps[0].critique is not None
        assert again.steps[0].critique.security == signals["security"]
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
