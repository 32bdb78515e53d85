"""``codemend.solve()`` / ``asolve()``: the library call, its inputs, its result, Jupyter."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from repair_helpers import RIGHT, WRONG, fenced
from scripted_server import ScriptedServer, ok, serving
from security_helpers import UNSAFE, needs_bandit

import codemend
from codemend import SolveResult, UserError, asolve, solve
from codemend.llm import LLMClient, LLMSettings
from codemend.problems import Problem
from codemend.records import RunRecord
from codemend.sandbox import LocalSandbox
from codemend.trajectories import ExportOptions, TrajectoryStore, export_trajectories
from codemend.trajectories.export.formats import from_raw_row

pytest_plugins = ["llm_fixtures", "repair_fixtures"]


@pytest.fixture
def critic_server() -> Iterator[ScriptedServer]:
    yield from serving()


def test_public_names() -> None:
    assert {"solve", "asolve", "SolveResult"} <= set(codemend.__all__)
    assert codemend.solve is solve


def test_prompt_tests_and_entry_point_instead_of_a_problem(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(RIGHT))
    result = solve(
        prompt="Square a number.",
        tests=["assert square(3) == 9"],
        entry_point="square",
        llm=llm_settings,
        sandbox=sandbox,
    )
    assert result.passed and result.code == RIGHT
    assert result.trajectory.hidden_passed is None  # no hidden tests: the visible ones decide
    assert result.trajectory.final_reward == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs a problem, or prompt= and tests="),
        ({"prompt": "x"}, "needs a problem"),
        ({"prompt": "x", "tests": ["assert f() == 1"]}, "assertion tests need an entry_point"),
        (
            {"prompt": "x", "tests": ["assert f() == 1"], "entry_point": "f", "rounds": -1},
            "rounds must be an int, 0 or more",
        ),
        (
            {"prompt": "x", "tests": ["assert f() == 1"], "entry_point": "f", "reward": "bleu"},
            "unknown reward",
        ),
    ],
)
def test_bad_input_is_a_user_error(kwargs: dict[str, Any], message: str, sandbox: LocalSandbox) -> None:
    with pytest.raises(UserError, match=message):
        solve(sandbox=sandbox, llm=LLMSettings(base_url="http://127.0.0.1:9/v1", model="m"), **kwargs)


def test_a_problem_and_a_prompt_together_is_a_user_error(square: Problem) -> None:
    with pytest.raises(UserError, match="not both"):
        solve(square, prompt="x")


def test_solve_works_inside_a_running_event_loop(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(RIGHT))

    async def notebook_cell() -> SolveResult:
        return solve(square, llm=llm_settings, sandbox=sandbox)  # what a Jupyter user types

    assert asyncio.run(notebook_cell()).passed


def test_the_result_round_trips_as_json(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG), fenced(RIGHT))
    result = solve(square, llm=llm_settings, sandbox=sandbox, trajectory_id="abc", run_id="run-1")
    again = SolveResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert (again.trajectory.trajectory_id, again.trajectory.run_id) == ("abc", "run-1")
    assert (again.rounds, again.stop_reason, [s.index for s in again.steps]) == (1, "solved", [0, 1])


def test_the_critic_may_use_another_endpoint_and_model(
    square: Problem,
    scripted: ScriptedServer,
    critic_server: ScriptedServer,
    llm_settings: LLMSettings,
    sandbox: LocalSandbox,
) -> None:
    scripted.queue(fenced(WRONG), fenced(RIGHT))
    critic_server.queue(ok("Drop the minus sign."))
    critic = llm_settings.model_copy(update={"base_url": critic_server.url, "model": "critic-model"})
    result = solve(square, llm=llm_settings, critic_llm=critic, critic="hybrid", sandbox=sandbox)
    assert result.passed
    assert [r.body["model"] for r in scripted.requests] == ["scripted-model", "scripted-model"]
    (critic_request,) = critic_server.requests
    assert critic_request.body["model"] == "critic-model"
    assert "return -x * x" in critic_request.body["messages"][0]["content"]
    assert "Drop the minus sign." in scripted.requests[1].body["messages"][-1]["content"]
    assert result.steps[0].critique is not None and result.steps[0].critique.mode == "hybrid"


def test_a_client_passed_in_is_used_and_left_open(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(RIGHT), fenced(RIGHT))

    async def main() -> int:
        async with LLMClient(llm_settings) as llm:
            await asolve(square, llm=llm, sandbox=sandbox)
            await asolve(square, llm=llm, sandbox=sandbox)
            return llm.requests

    assert asyncio.run(main()) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"round": 2}, "unknown solve() option 'round': did you mean 'rounds'?"),
        ({"sampling": {"max_token": 50}}, "unknown key of sampling 'max_token': did you mean 'max_tokens'?"),
        ({"repair_sampling": {"temprature": 0}}, "did you mean 'temperature'?"),
        ({"rounds": "2"}, "rounds must be an int"),
    ],
)
def test_misspelt_options_are_refused_before_anything_starts(
    square: Problem, kwargs: dict[str, Any], message: str
) -> None:
    """``solve(p, round=2)`` used to run the default 3 rounds; no endpoint or sandbox is given
    here, so a check that came after starting anything would fail differently."""
    with pytest.raises(UserError, match=re.escape(message)):
        solve(square, **kwargs)
    with pytest.raises(UserError, match=re.escape(message)):
        asyncio.run(asolve(square, **kwargs))


def test_help_lists_every_option_with_its_default() -> None:
    doc = asolve.__doc__ or ""
    for option in ("rounds", "critic", "llm", "critic_llm", "sandbox", "sampling", "repair_sampling",
                   "history", "imports", "constraints", "reward", "token_budget", "time_budget_s", "prompts",
                   "run_dir", "trajectory_id", "run_id", "on_step", "prompt", "tests", "entry_point"):
        assert f"``{option}``" in doc, option
    assert "``rounds`` (3)" in doc and "``critic`` (\"tests\")" in doc
    assert "help(codemend.asolve)" in (solve.__doc__ or "")


@needs_bandit
def test_constraints_security_repairs_a_passing_candidate_with_a_high_finding(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(UNSAFE), fenced(RIGHT))
    result = solve(square, llm=llm_settings, sandbox=sandbox, constraints=["security"])
    assert result.passed and result.code == RIGHT and result.rounds == 1
    first, second = result.steps
    assert first.report is not None and first.report.passed  # its tests pass: not solved all the same
    assert first.critique is not None and first.critique.security is not None
    assert [f.rule for f in first.critique.security.findings] == ["B602", "B404"]
    repair_prompt = scripted.requests[1].body["messages"][-1]["content"]
    assert "line 5: subprocess call with shell=True" in repair_prompt and "(B602, high)" in repair_prompt
    assert first.rewards["security"] == pytest.approx(1 / 2.25) and second.rewards["security"] == 1.0


def test_without_constraints_the_same_candidate_is_solved_at_once(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(UNSAFE))
    result = solve(square, llm=llm_settings, sandbox=sandbox)
    assert result.passed and result.code == UNSAFE and result.rounds == 0
    (step,) = result.steps
    assert step.critique is not None and step.critique.security is None and "security" not in step.rewards


def test_an_unknown_constraint_is_refused_before_anything_starts(square: Problem) -> None:
    with pytest.raises(UserError, match="unknown constraint 'style'"):
        solve(square, constraints=["style"])  # type: ignore[list-item]
    with pytest.raises(UserError, match="a list of names"):
        solve(square, constraints="security")  # type: ignore[arg-type]


@needs_bandit
def test_signals_are_stored_exported_raw_and_as_the_structure_column(
    square: Problem,
    scripted: ScriptedServer,
    llm_settings: LLMSettings,
    sandbox: LocalSandbox,
    tmp_path: Path,
) -> None:
    referenced = square.model_copy(update={"reference_solution": RIGHT})
    scripted.queue(fenced(UNSAFE), fenced(RIGHT))
    ids = {"run_id": "run-s", "trajectory_id": "run-s:square:0"}
    t = solve(referenced, llm=llm_settings, sandbox=sandbox, constraints=["security"], **ids).trajectory
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        store.start_run(RunRecord(run_id="run-s", created_at=datetime.now(UTC), codemend_version="test"))
        store.add_trajectory(t)
        (stored,) = store.trajectories("run-s")
    assert [s.critique for s in stored.steps] == [s.critique for s in t.steps]
    first = stored.steps[0].critique
    assert first is not None and first.security is not None and first.structure is not None
    # ``subprocess`` could read the candidate's own file: which statements its tests need cannot
    # be told, so it has CodeBLEU's columns and no reward (a null column, never a 0)
    structure = first.structure
    assert structure.available and structure.score is None and structure.syntax_match is not None
    why = "line 1: the candidate uses `import subprocess`, so it could read its own code"
    assert structure.unscored == why
    assert "structure" not in stored.steps[0].rewards and stored.steps[1].rewards["structure"] == 1.0
    export_trajectories([stored], ExportOptions(format="raw", out=tmp_path / "raw.jsonl"))
    row = json.loads((tmp_path / "raw.jsonl").read_text().splitlines()[0])
    critique = json.loads(row["steps"][0]["critique"])
    assert critique["security"]["findings"][0]["rule"] == "B602" and critique["structure"]["available"]
    assert row["steps"][0]["structure"] == first.structure.score and row["steps"][1]["structure"] == 1.0
    assert from_raw_row(row).steps == stored.steps  # the signals come back whole
    export_trajectories([stored], ExportOptions(format="kto", out=tmp_path / "kto.jsonl"))
    kto = [json.loads(line) for line in (tmp_path / "kto.jsonl").read_text().splitlines()]
    assert sorted(r["structure"] for r in kto if r["structure"] is not None) == [1.0]
    assert [r["structure"] for r in kto].count(None) == 1
    export_trajectories([stored], ExportOptions(format="dpo", out=tmp_path / "dpo.jsonl"))
    (dpo,) = [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert (dpo["chosen_structure"], dpo["rejected_structure"]) == (1.0, None)
