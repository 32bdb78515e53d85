"""The SQLite schema of the trajectory store and the mapping between rows and records.

Columns hold what one queries (ids, status, rewards, tokens); nested values (messages, test
reports, critiques, problems) are JSON text. Problems are stored once per distinct content.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from codemend.errors import UserError
from codemend.problems import Problem
from codemend.records import (
    SCHEMA_VERSION,
    Critique,
    Message,
    RunRecord,
    SpeedMeasurement,
    StepRecord,
    TestReport,
)

DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    schema_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    ended_at TEXT,
    codemend_version TEXT NOT NULL,
    model TEXT, endpoint TEXT, critic_model TEXT, critic_endpoint TEXT,
    prompt_hashes TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS problems (
    problem_hash TEXT PRIMARY KEY,
    problem_id TEXT NOT NULL,
    problem TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trajectories (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trajectory_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    problem_id TEXT NOT NULL,
    problem_hash TEXT NOT NULL REFERENCES problems(problem_hash),
    sample_index INTEGER NOT NULL,
    feedback_tests TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    status TEXT, stop_reason TEXT,
    final_code TEXT, final_reward REAL,
    hidden_passed INTEGER, hidden_report TEXT,
    tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
    wall_s REAL NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL, ended_at TEXT,
    objective TEXT NOT NULL DEFAULT 'correctness', baseline_step INTEGER, final_measurement TEXT,
    final_index INTEGER,
    UNIQUE (run_id, problem_id, sample_index)
);
CREATE TABLE IF NOT EXISTS steps (
    trajectory_id TEXT NOT NULL REFERENCES trajectories(trajectory_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    parent INTEGER,
    messages TEXT NOT NULL,
    reply TEXT, code TEXT,
    report TEXT, critique TEXT,
    reward REAL, rewards TEXT NOT NULL,
    tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    error TEXT,
    started_at TEXT, ended_at TEXT,
    measurement TEXT,
    tokens TEXT,
    PRIMARY KEY (trajectory_id, idx)
);
"""

STEP_COLUMNS = (
    "idx, schema_version, kind, parent, messages, reply, code, report, critique, reward, rewards, "
    "tokens_in, tokens_out, latency_s, error, started_at, ended_at, measurement, tokens"
)
STEP_INSERT_COLUMNS = f"trajectory_id, {STEP_COLUMNS}"  # in ``step_params`` order
# Columns schemas 3 (speed measurements, the answer's step) and 4 (a step's token ids and logprobs,
# one JSON object) added, added in place to an older store.
_ADDED_COLUMNS = {
    "steps": ("measurement TEXT", "tokens TEXT"),
    "trajectories": (
        "objective TEXT NOT NULL DEFAULT 'correctness'",
        "baseline_step INTEGER",
        "final_measurement TEXT",
        "final_index INTEGER",
    ),
}
RUN_COLUMNS = (
    "run_id, schema_version, created_at, ended_at, codemend_version, model, endpoint, critic_model, "
    "critic_endpoint, prompt_hashes, settings"
)


_MESSAGES = TypeAdapter(list[Message])


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def problem_row(problem: Problem) -> tuple[str, str, str]:
    """(hash, id, JSON) of a problem; the hash is of its canonical JSON."""
    text = _dumps(problem.model_dump(mode="json"))
    return hashlib.sha256(text.encode()).hexdigest(), problem.id, text


def run_params(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.run_id,
        run.schema_version,
        run.created_at.isoformat(),
        run.ended_at.isoformat() if run.ended_at else None,
        run.codemend_version,
        run.model,
        run.endpoint,
        run.critic_model,
        run.critic_endpoint,
        _dumps(run.prompt_hashes),
        _dumps(run.settings),
    )


def run_from_row(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    data["prompt_hashes"] = json.loads(data["prompt_hashes"])
    data["settings"] = json.loads(data["settings"])
    return RunRecord.model_validate(data)


def step_params(trajectory_id: str, step: StepRecord) -> tuple[Any, ...]:
    return (
        trajectory_id,
        step.index,
        step.schema_version,
        step.kind,
        step.parent,
        _MESSAGES.dump_json(step.messages).decode(),
        step.reply,
        step.code,
        step.report.model_dump_json() if step.report else None,
        step.critique.model_dump_json() if step.critique else None,
        step.reward,
        _dumps(step.rewards),
        step.tokens_in,
        step.tokens_out,
        step.latency_s,
        step.error,
        step.started_at.isoformat() if step.started_at else None,
        step.ended_at.isoformat() if step.ended_at else None,
        step.measurement.model_dump_json() if step.measurement else None,
        _token_json(step),
    )


_TOKEN_FIELDS = ("prompt_token_ids", "completion_token_ids", "completion_logprobs")


def _token_json(step: StepRecord) -> str | None:
    """A step's token ids and logprobs as one JSON object; None when the endpoint gave none."""
    found = {name: getattr(step, name) for name in _TOKEN_FIELDS if getattr(step, name) is not None}
    return _dumps(found) if found else None


def step_select(conn: sqlite3.Connection) -> str:
    """``STEP_COLUMNS`` for a SELECT, as NULL where an older store (read, not upgraded) lacks one."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(steps)")}
    return ", ".join(c if c in have else f"NULL AS {c}" for c in STEP_COLUMNS.split(", "))


def step_from_row(row: Mapping[str, Any]) -> StepRecord:
    return StepRecord(
        schema_version=row["schema_version"],
        index=row["idx"],
        kind=row["kind"],
        parent=row["parent"],
        messages=_MESSAGES.validate_json(row["messages"]),
        reply=row["reply"],
        code=row["code"],
        report=TestReport.model_validate_json(row["report"]) if row["report"] else None,
        critique=Critique.model_validate_json(row["critique"]) if row["critique"] else None,
        reward=row["reward"],
        rewards=json.loads(row["rewards"]),
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        latency_s=row["latency_s"],
        error=row["error"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        measurement=SpeedMeasurement.model_validate_json(row["measurement"]) if row["measurement"] else None,
        **(json.loads(row["tokens"]) if row["tokens"] else {}),
    )


def connect(path: str, *, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on."""
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process loses no commit
    except BaseException:
        conn.close()
        raise
    return conn


def open_read_only(path: str, *, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection that only reads (e.g. for export), working on a file or directory this
    user cannot write; a store written by a newer codemend is refused."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(
        uri, uri=True, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    try:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.OperationalError:  # WAL without its -shm in a directory we cannot write
            conn.close()
            conn = sqlite3.connect(
                f"{Path(path).resolve().as_uri()}?immutable=1", uri=True, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
            conn.row_factory = sqlite3.Row
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{path}: trajectory store schema {version} is newer than this codemend's "
                f"({SCHEMA_VERSION}); upgrade codemend to read it"
            )
        if missing_tables(conn):
            raise UserError(f"{path} is not a codemend trajectory store (an SQLite file without its tables)")
    except BaseException:
        conn.close()
        raise
    return conn


def open_store(path: str, *, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection to a store with its schema in place."""
    conn = connect(path, busy_timeout_s=busy_timeout_s)
    try:
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


TABLES = ("runs", "problems", "trajectories", "steps")


def missing_tables(conn: sqlite3.Connection) -> list[str]:
    """The store's tables that are not in the file."""
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [table for table in TABLES if table not in have]


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Create the tables in a new store; refuse a store written by a newer codemend."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{path}: trajectory store schema {version} is newer than this codemend's "
            f"({SCHEMA_VERSION}); upgrade codemend to read it"
        )
    missing = missing_tables(conn) if version else []
    if missing:  # a store codemend made, damaged since: a query would fail with "no such table"
        raise UserError(
            f"{path}: this trajectory store has lost its {', '.join(missing)} table(s) and cannot be "
            "used (restore it from a copy, or start a new run dir)"
        )
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise UserError(f"{path}: cannot use WAL mode (got {mode!r}); put the store on a local file system")
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        _add_columns(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _add_columns(conn: sqlite3.Connection) -> None:
    """Bring the tables of an older store up to this schema (columns only ever get added)."""
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column.split()[0] not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
