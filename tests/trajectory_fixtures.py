"""Fixtures over ``trajectory_data``; test modules load them with
``pytest_plugins = ["trajectory_fixtures"]`` (kept out of ``conftest.py``, owned by the sandbox work).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from trajectory_data import PLANS, RUN_ID, T0, build_trajectory, run_record

from codemend.sandbox import LocalSandbox
from codemend.trajectories import TrajectoryRecord, TrajectoryStore


@pytest.fixture(scope="session")
def records(sandbox: LocalSandbox) -> list[TrajectoryRecord]:
    return [build_trajectory(sandbox, plan) for plan in PLANS]


@pytest.fixture
def store_path(tmp_path: Path, records: list[TrajectoryRecord]) -> Iterator[Path]:
    """A store file holding one finished run with every record."""
    path = tmp_path / "trajectories.db"
    with TrajectoryStore(path) as store:
        store.start_run(run_record())
        for record in records:
            store.add_trajectory(record)
        store.finish_run(RUN_ID, ended_at=T0 + timedelta(hours=1))
    yield path
