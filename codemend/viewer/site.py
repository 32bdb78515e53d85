"""``build_site``: a run dir in, a static site out (``index.html``, one page per trajectory in
``t/``, ``assets/``, ``data/``). Trajectories are read and written one at a time, so the memory
and each page stay small however large the run; nothing is fetched from anywhere when it opens."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from codemend.benchmarks import infrastructure_cause
from codemend.errors import UserError
from codemend.trajectories import TrajectoryRecord
from codemend.viewer.index_page import DATA_SCRIPT, Row, data_script, index_html
from codemend.viewer.load import RunSource
from codemend.viewer.outcome import Outcome, classify
from codemend.viewer.trajectory_page import stop_reason, trajectory_html

MARKER = ".codemend-view"  # a folder holding it was written by this command and may be rewritten
PAGES = "t"
ASSET_FILES = ("viewer.css", "viewer.js")


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    index: Path
    trajectories: int
    bytes: int


def page_name(t: TrajectoryRecord) -> str:
    """A file name of its own for every trajectory: readable, and unique by a hash of its id."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", t.problem.id).strip("_.")[:80] or "problem"
    digest = hashlib.sha256(t.trajectory_id.encode()).hexdigest()[:8]
    return f"{stem}-s{t.sample_index}-{digest}.html"


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: give a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UserError(
            f"--out {out} is not empty and was not written by codemend view: give a new directory"
        )
    if (out / PAGES).is_dir():
        shutil.rmtree(out / PAGES)  # pages of an earlier view
    for sub in (PAGES, "assets", "data"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by codemend view\n", encoding="utf-8")


def _copy_assets(out: Path) -> None:
    folder = resources.files("codemend.viewer") / "assets"
    for name in ASSET_FILES:
        (out / "assets" / name).write_text((folder / name).read_text(encoding="utf-8"), encoding="utf-8")


def _row(t: TrajectoryRecord, outcome: Outcome, href: str) -> Row:
    cause = None
    if t.status == "infrastructure_error":
        cause = infrastructure_cause(t)
    elif outcome.scoring_error:
        cause = f"hidden-test scoring failed: {outcome.scoring_error}"
    return Row(
        problem_id=t.problem.id,
        sample=t.sample_index,
        href=href,
        categories=outcome.categories,
        by_round=outcome.by_round,
        stop_reason=t.stop_reason,
        stop_label=stop_reason(t)[0],
        steps=len(t.steps),
        tokens=t.tokens_in + t.tokens_out,
        wall_s=t.wall_s,
        final_reward=t.final_reward,
        infra_cause=cause,
    )


def build_site(source: RunSource, out: str | Path) -> Site:
    """Write the static site of ``source`` into ``out``: a page per trajectory, the index, its data
    and the assets; what was written (index path, pages, bytes)."""
    folder = Path(out)
    _prepare(folder)
    _copy_assets(folder)
    rows: list[Row] = []
    for t in source.trajectories():
        outcome = classify(t, source.hidden.get(t.trajectory_id))
        name = page_name(t)
        (folder / PAGES / name).write_text(trajectory_html(t, outcome), encoding="utf-8")
        rows.append(_row(t, outcome, f"{PAGES}/{name}"))
    rows.sort(key=lambda r: (_natural(r.problem_id), r.sample))
    plot = None
    if source.plot is not None:
        shutil.copyfile(source.plot, folder / source.plot.name)
        plot = source.plot.name
    (folder / DATA_SCRIPT).write_text(data_script(rows, source.rounds), encoding="utf-8")
    index = folder / "index.html"
    index.write_text(index_html(source, rows, plot), encoding="utf-8")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return Site(index=index, trajectories=len(rows), bytes=size)


def _natural(text: str) -> list[tuple[int, int | str]]:
    """``HumanEval/2`` before ``HumanEval/10``."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p]
