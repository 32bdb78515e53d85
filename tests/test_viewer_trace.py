"""A bench run with ``feedback="trace"`` (scripted HumanEval endpoint, real sandbox, real store):
each failing step's trace is stored, exported in ``raw`` (inside the critique) and shown in the
viewer, escaped; a trace that is not available shows why."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from bench_helpers import HumanEvalServer

from codemend.benchmarks import BenchDeps, BenchSpec, abench, load_humaneval
from codemend.llm import LLMClient, LLMSettings
from codemend.records import Trace, TraceBlock, TrajectoryRecord
from codemend.sandbox import LocalSandbox
from codemend.trajectories import TrajectoryStore
from codemend.trajectories.export.formats import from_raw_row, raw_row
from codemend.viewer import build_site, open_run

PLAN = {"HumanEval/1": ["wrong", "wrong"], "HumanEval/3": ["right"]}


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory: pytest.TempPathFactory, sandbox: LocalSandbox) -> Path:
    problems = [p for p in load_humaneval() if p.id in PLAN]
    server = HumanEvalServer(policy=lambda task, n, seed: PLAN[task][min(n, len(PLAN[task]) - 1)]).start()
    run_dir = tmp_path_factory.mktemp("traced-run")
    settings = LLMSettings(base_url=server.url, model="scripted", max_attempts=1, timeout_s=10)

    async def go() -> None:
        async with LLMClient(settings) as llm:
            spec = BenchSpec(benchmark="humaneval", rounds=1, feedback="trace")
            await abench(spec, problems, BenchDeps(llm=llm, sandbox=sandbox), run_dir=run_dir)

    try:
        asyncio.run(go())
    finally:
        server.stop()
    return run_dir


def _trajectories(run_dir: Path) -> dict[str, TrajectoryRecord]:
    return {t.problem.id: t for t in open_run(run_dir).trajectories()}


def test_each_failing_step_has_its_trace_and_raw_exports_it(traced_run: Path) -> None:
    found = _trajectories(traced_run)
    assert json.loads(open_run(traced_run).run.model_dump_json())["settings"]["feedback"] == "trace"
    wrong = found["HumanEval/1"]
    for step in wrong.steps:
        assert step.critique is not None and step.critique.trace is not None
        assert step.critique.trace.available and step.critique.trace.text in step.critique.feedback
    (right,) = found["HumanEval/3"].steps
    assert right.critique is not None and right.critique.trace == Trace(
        available=False, reason="no visible test fails"
    )
    row = raw_row(wrong)
    critique = json.loads(row["steps"][0]["critique"])
    assert critique["trace"]["blocks"] and critique["trace"]["text"].startswith("Execution trace of")
    assert from_raw_row(row).steps[0].critique == wrong.steps[0].critique


def test_the_viewer_shows_the_trace_escaped(traced_run: Path, tmp_path: Path) -> None:
    source = open_run(traced_run)
    t = _trajectories(traced_run)["HumanEval/1"]
    first, second = t.steps
    assert first.critique is not None and first.critique.trace is not None and second.critique is not None
    hostile = "'<script>alert(1)</script>'"
    forged = TraceBlock(first_line=2, last_line=2, function="<img src=x>", lines=[2], values={"s": hostile})
    trace = first.critique.trace.model_copy(update={"blocks": [forged], "note": "the candidate <b>lied</b>"})
    missing = Trace(available=False, reason="the docker sandbox cannot trace", test_index=0)
    steps = [
        first.model_copy(update={"critique": first.critique.model_copy(update={"trace": trace})}),
        second.model_copy(update={"critique": second.critique.model_copy(update={"trace": missing})}),
    ]
    db = tmp_path / "trace.db"
    with TrajectoryStore(db) as store:
        store.start_run(source.run)
        store.add_trajectory(t.model_copy(update={"steps": steps}))
    site = build_site(open_run(db), tmp_path / "site")
    html = _only_page(site.index.parent)
    step0, _, rest = html.partition('id="step-1"')
    assert "Execution trace of visible test" in step0 and "untrusted, feedback only" in step0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in step0 and "<script>alert(1)" not in html
    assert "&lt;img src=x&gt;" in step0 and "<img src=x>" not in html
    assert "partial: the candidate &lt;b&gt;lied&lt;/b&gt;" in step0
    assert "not available: the docker sandbox cannot trace" in rest


def _only_page(root: Path) -> str:
    pages = [p for p in root.rglob("*.html") if p.name != "index.html"]
    assert len(pages) == 1
    return pages[0].read_text()
