"""Exports of ``--objective speed`` runs: DPO prefers a faster correct reply to a slower or
incorrect sibling, RL rows are scored by the gated speedup (``compute_score`` with the
objective), and the store keeps every measurement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from optimise_helpers import example, fast_solution
from repair_helpers import fenced
from scripted_server import ScriptedServer, serving

from codemend import rewards, solve
from codemend.llm import LLMSettings
from codemend.optimise import Speed
from codemend.problems import Problem
from codemend.records import RunRecord, TrajectoryRecord
from codemend.rewards import compute_score
from codemend.sandbox import LocalSandbox
from codemend.trajectories import ExportOptions, TrajectoryStore, export_trajectories
from codemend.trajectories.ground_truth import from_ground_truth

pytest_plugins = ["llm_fixtures"]

FAST = fast_solution("dedupe")
WRONG_FAST = "def dedupe(xs):\n    return sorted(set(xs))\n"
SLOW_VARIANT = """def dedupe(xs):
    out = []
    i = 0
    while i < len(xs):
        if xs[i] not in out:
            out.append(xs[i])
        i += 1
    return out
"""
QUICK = Speed(repetitions=6)


@pytest.fixture
def second() -> Iterator[ScriptedServer]:
    yield from serving()


def _run(
    server: ScriptedServer, problem: Problem, sandbox: LocalSandbox, sample: int, *replies: str
) -> TrajectoryRecord:
    server.queue(*(fenced(r) for r in replies))
    settings = LLMSettings(base_url=server.url, model="scripted", max_attempts=1, timeout_s=10)
    result = solve(
        problem, llm=settings, sandbox=sandbox, objective=QUICK, rounds=len(replies) - 1,
        run_id="speed-run", trajectory_id=f"speed-run:{problem.id}:{sample}",
    )  # fmt: skip
    return result.trajectory.model_copy(update={"sample_index": sample})


def _export(records: list[TrajectoryRecord], tmp_path: Path, fmt: str) -> list[dict[str, Any]]:
    out = tmp_path / f"{fmt}.jsonl"
    result = export_trajectories(records, ExportOptions(format=fmt, out=out))  # type: ignore[arg-type]
    return [json.loads(line) for p in result.files.values() for line in p.read_text().splitlines()]


def test_speed_runs_export_as_dpo_pairs_and_gated_rl_rows(
    scripted: ScriptedServer, second: ScriptedServer, sandbox: LocalSandbox, tmp_path: Path
) -> None:
    dedupe = example("dedupe")
    fast = _run(scripted, dedupe, sandbox, 0, FAST)
    slow = _run(second, dedupe, sandbox, 1, SLOW_VARIANT, WRONG_FAST)
    assert fast.steps[0].measurement and fast.steps[0].measurement.verdict == "faster"
    assert slow.steps[0].measurement and slow.steps[0].measurement.verdict != "faster"
    assert slow.steps[1].measurement is None and slow.steps[1].reward == 0.0  # wrong: not measured

    pairs = _export([fast, slow], tmp_path, "dpo")
    # the two first attempts share their prompt: the faster correct one is chosen over the slower
    sibling = next(p for p in pairs if FAST in p["chosen"][0]["content"])
    assert SLOW_VARIANT in sibling["rejected"][0]["content"]
    assert all(WRONG_FAST not in p["chosen"][0]["content"] for p in pairs)

    rows = _export([fast, slow], tmp_path, "rl")
    assert {r["extra_info"]["objective"] for r in rows} == {"speed"}
    assert {r["extra_info"]["cost"] for r in rows} == {"cpu"}  # compute_score measures as the run did
    hidden_call = dedupe.perf_tests[0].call or ""
    for exported in (rows, pairs):  # the hidden workload reaches no prompt the model sees
        assert all(hidden_call not in json.dumps(r.get("prompt", r.get("chosen"))) for r in exported)
    assert all(hidden_call not in str(s.messages) for t in (fast, slow) for s in t.steps)
    first = next(r for r in rows if r["extra_info"]["turn"] == 0)
    truth, info = first["reward_model"]["ground_truth"], first["extra_info"]
    assert from_ground_truth(truth).reference_solution == dedupe.reference_solution
    rewards.use_sandbox(sandbox)
    try:
        fast_score = compute_score("codemend", fenced(FAST).texts[0], truth, info)
        wrong_score = compute_score("codemend", fenced(WRONG_FAST).texts[0], truth, info)
        correctness = compute_score(
            "codemend", fenced(WRONG_FAST).texts[0], truth, {"objective": "correctness"}
        )
    finally:
        rewards.use_sandbox(None)
    assert fast_score > 0.5 and wrong_score == 0.0 and 0.0 < correctness < 1.0


def test_without_a_reference_the_rl_ground_truth_holds_the_baseline(
    scripted: ScriptedServer, sandbox: LocalSandbox, tmp_path: Path
) -> None:
    problem = example("dedupe").model_copy(update={"reference_solution": None})
    record = _run(scripted, problem, sandbox, 0, SLOW_VARIANT, FAST)
    assert record.baseline_step == 0
    run = RunRecord(run_id="speed-run", created_at=datetime.now(UTC), codemend_version="test")
    with TrajectoryStore(tmp_path / "store.db") as store:  # the speed fields survive the store
        store.start_run(run)
        store.add_trajectory(record)
        (back,) = store.trajectories()
    assert back.objective == "speed" and back.baseline_step == 0
    assert back.final_measurement == record.final_measurement and back.final_measurement is not None
    rows = _export([back], tmp_path, "rl")
    truth = from_ground_truth(rows[0]["reward_model"]["ground_truth"])
    assert truth.reference_solution == SLOW_VARIANT
    pairs = _export([back], tmp_path, "dpo")  # the fallback: the faster last reply over the baseline
    assert len(pairs) == 1 and FAST in pairs[0]["chosen"][0]["content"]
    assert SLOW_VARIANT in pairs[0]["rejected"][0]["content"]
