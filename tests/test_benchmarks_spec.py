"""Selecting problems, what the repair loop may see of them, and per-sample sampling."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from codemend.benchmarks import load_humaneval
from codemend.benchmarks.remote import job_for
from codemend.benchmarks.spec import (
    BenchSpec,
    default_temperature,
    evaluation_tests,
    feedback_view,
    released,
    sample_seed,
    sampling_for,
    select,
)
from codemend.errors import UserError
from codemend.problems import Problem, load_problem

ROOT = Path(__file__).resolve().parent.parent
SQUARE = load_problem(ROOT / "examples" / "square.json")
MBPP_LIKE = Problem.model_validate(
    {
        "id": "mbpp/11",
        "prompt": "Square it.",
        "entry_point": "square",
        "tests": [
            {"code": "assert square(3) == 9"},
            {"code": "assert square(3) == 9", "visibility": "hidden"},
            {"code": "assert square(5) == 25", "visibility": "hidden"},
        ],
    }
)


def test_select_by_limit_and_ids() -> None:
    problems = load_humaneval()
    assert [p.id for p in select(problems, limit=2, ids=None)] == ["HumanEval/0", "HumanEval/1"]
    chosen = select(problems, limit=None, ids=["HumanEval/7", "3", "7"])
    assert [p.id for p in chosen] == ["HumanEval/7", "HumanEval/3"]
    with pytest.raises(UserError, match="no problem '999'"):
        select(problems, limit=None, ids=["999"])


def test_feedback_views() -> None:
    assert feedback_view(SQUARE, "visible") is SQUARE
    none = feedback_view(SQUARE, "none")
    assert none.visible_tests() == [] and none.hidden_tests() == SQUARE.hidden_tests()
    shown = feedback_view(MBPP_LIKE, "all")  # MBPP's first test is visible and hidden: once
    assert [t.code for t in shown.visible_tests()] == ["assert square(3) == 9", "assert square(5) == 25"]
    assert shown.hidden_tests() == []
    assert evaluation_tests(MBPP_LIKE) == MBPP_LIKE.hidden_tests()
    no_hidden = SQUARE.model_copy(update={"tests": SQUARE.visible_tests()})
    assert evaluation_tests(no_hidden) == SQUARE.visible_tests()  # scored on what it has


def test_every_sample_has_its_own_stable_seed() -> None:
    spec = BenchSpec(benchmark="humaneval", samples=4, temperature=0.8, max_tokens=300)
    seeds = {sample_seed(spec, f"HumanEval/{i}", s) for i in range(20) for s in range(4)}
    assert len(seeds) == 80
    assert sample_seed(spec, "HumanEval/0", 1) == sample_seed(spec.model_copy(), "HumanEval/0", 1)
    assert sample_seed(spec.model_copy(update={"seed": 1}), "HumanEval/0", 1) != sample_seed(
        spec, "HumanEval/0", 1
    )
    sampling = sampling_for(spec, "HumanEval/0", 1)
    assert sampling == {"temperature": 0.8, "seed": sample_seed(spec, "HumanEval/0", 1), "max_tokens": 300}
    assert default_temperature(1) == 0.2 and default_temperature(5) == 0.8


def _released(pid: str, day: str | None) -> Problem:
    return Problem(id=pid, prompt="", metadata={"release_date": day} if day else {})


def test_a_date_window_excludes_its_days_and_problems_without_a_date() -> None:
    problems = [_released("a", "2024-01-31"), _released("b", "2024-02-01T00:00:00"), _released("c", None)]
    problems.append(_released("d", "2024-03-01"))
    after = date(2024, 1, 31)
    assert [p.id for p in released(problems, after=after, before=None)] == ["b", "d"]
    assert [p.id for p in released(problems, after=after, before=date(2024, 3, 1))] == ["b"]
    assert released(problems, after=None, before=None) == problems  # no window: every problem
    with pytest.raises(UserError, match=r"no problem was released after 2024-03-01 \(their release dates"):
        released(problems, after=date(2024, 3, 1), before=None)
    with pytest.raises(UserError, match="problem x: release_date 'soon' is not a date"):
        released([_released("x", "soon")], after=after, before=None)
    with pytest.raises(ValueError, match="empty date window"):
        BenchSpec(benchmark="livecodebench", released_after=after, released_before=date(2024, 2, 1))


def test_constraints_are_run_settings_and_older_specs_load_without_them() -> None:
    stored_before = {"benchmark": "humaneval", "critic": "tests", "rounds": 2}  # no constraints key
    assert BenchSpec.model_validate(stored_before).constraints == []
    spec = BenchSpec(benchmark="humaneval", constraints=["security"])
    assert BenchSpec.model_validate_json(spec.model_dump_json()) == spec
    assert job_for(spec, SQUARE, 0, "run-1").constraints == ["security"]
    with pytest.raises(ValidationError, match="constraints"):
        BenchSpec.model_validate({"benchmark": "humaneval", "constraints": ["style"]})


def test_feedback_is_a_run_setting_and_older_specs_load_as_tests() -> None:
    stored_before = {"benchmark": "humaneval", "critic": "tests", "feedback_tests": "visible"}  # no feedback
    assert BenchSpec.model_validate(stored_before).feedback == "tests"
    spec = BenchSpec(benchmark="humaneval", feedback="trace")
    assert BenchSpec.model_validate_json(spec.model_dump_json()) == spec
    assert job_for(spec, SQUARE, 0, "run-1").feedback == "trace"
    with pytest.raises(ValidationError, match="feedback"):
        BenchSpec.model_validate({"benchmark": "humaneval", "feedback": "traces"})
