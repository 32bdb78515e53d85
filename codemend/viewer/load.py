"""What a run dir holds, read for the viewer: the run record, its trajectories (streamed, one at a
time, so a 10,000-trajectory run never sits in memory whole), and the bench outputs beside the
store when they exist (``summary.json``, ``hidden.jsonl``, ``passk_by_round.png``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemend.benchmarks import HiddenLog, HiddenVerdicts
from codemend.errors import UserError
from codemend.records import RunRecord, TrajectoryRecord
from codemend.runs import PLOT_FILE, STORE_FILE, SUMMARY_FILE
from codemend.trajectories import TrajectoryStore


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSource:
    """A run to show: where its store is, which run of it, and the outputs found beside it."""

    store: Path
    run: RunRecord
    summary: dict[str, Any] = field(default_factory=dict)
    """``summary.json`` (empty when the source is a bare store)."""
    hidden: dict[str, HiddenVerdicts] = field(default_factory=dict)
    """``hidden.jsonl``: per trajectory, the hidden verdict of every step and after every round."""
    plot: Path | None = None

    @property
    def rounds(self) -> int | None:
        """The run's repair rounds (``rounds`` in its settings); None when it did not record them."""
        value = self.run.settings.get("rounds")
        return value if isinstance(value, int) else None

    def trajectories(self) -> Iterator[TrajectoryRecord]:
        """The run's finished trajectories, read from its store (read-only)."""
        with TrajectoryStore(self.store, read_only=True) as store:
            yield from store.trajectories(self.run.run_id)


def _store_path(path: Path) -> Path:
    if path.is_dir():
        if not (path / STORE_FILE).is_file():
            raise UserError(f"{path} is a directory without {STORE_FILE}: give a bench run dir or a .db file")
        return path / STORE_FILE
    if not path.is_file():
        raise UserError(f"no run at {path}: give a bench run dir or a trajectory store (.db)")
    return path


def _pick_run(store: Path, run_id: str | None) -> RunRecord:
    with TrajectoryStore(store, read_only=True) as opened:
        if run_id is not None:
            return opened.run(run_id)
        runs = opened.runs()
    if not runs:
        raise UserError(f"{store} holds no run")
    if len(runs) > 1:
        ids = ", ".join(r.run_id for r in runs[-5:])
        raise UserError(f"{store} holds {len(runs)} runs: choose one with --run (latest: {ids})")
    return runs[0]


def _summary(folder: Path) -> dict[str, Any]:
    path = folder / SUMMARY_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def open_run(path: str | Path, run_id: str | None = None) -> RunSource:
    """A bench run dir (or a trajectory store file, then without bench outputs), read only."""
    store = _store_path(Path(path))
    run = _pick_run(store, run_id)
    folder = store.parent
    beside = store.name == STORE_FILE  # the outputs of this run, not of another store's
    summary = _summary(folder) if beside else {}
    if summary.get("run_id") not in (None, run.run_id):
        summary = {}
    hidden = HiddenLog(folder).read() if beside else {}
    plot = folder / PLOT_FILE if beside and summary and (folder / PLOT_FILE).is_file() else None
    return RunSource(store=store, run=run, summary=summary, hidden=hidden, plot=plot)
