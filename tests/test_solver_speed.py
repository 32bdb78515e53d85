"""``objective="speed"`` through ``codemend.solve()`` and ``codemend solve --objective speed``:
the loop starts from a correct program, the critic reports correctness first and then the
measured cost, and the reward is the correctness-gated speedup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from optimise_helpers import EXAMPLES, ROOT, example, fast_solution
from repair_helpers import fenced
from scripted_server import ScriptedServer

from codemend import UserError, solve
from codemend.llm import LLMSettings
from codemend.optimise import Speed
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["llm_fixtures"]

FAST = fast_solution("dedupe")
WRONG_FAST = "def dedupe(xs):\n    return sorted(set(xs))\n"
QUICK = Speed(repetitions=6)


@pytest.fixture(scope="module")
def dedupe() -> Problem:
    return example("dedupe")


def test_from_the_reference_to_a_faster_program(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox, dedupe: Problem
) -> None:
    scripted.queue(fenced(FAST))
    result = solve(dedupe, llm=llm_settings, sandbox=sandbox, objective=QUICK, rounds=2)
    first = scripted.requests[0].body["messages"][-1]["content"]
    assert "is correct. Make it faster" in first and dedupe.reference_solution in first
    assert "dedupe([(i * 7919) % 3000" not in first  # the hidden workload is never shown...
    assert "1 hidden input(s)" in first and "generated afresh" in first  # ...only described
    t = result.trajectory
    assert (result.passed, result.stop_reason, result.code, t.objective) == (True, "solved", FAST, "speed")
    m = t.steps[0].measurement
    assert m is not None and m.verdict == "faster" and m.method == "cpu"
    assert m.speedup is not None and m.speedup > 2 and len(m.candidate_s) == 6
    assert m.seed is not None and not m.hidden  # the loop's: a generated input, for feedback
    final = t.final_measurement  # the reward's: the hidden workload, measured afresh
    assert final is not None and final.hidden and final.verdict == "faster" and final.seed != m.seed
    assert t.baseline_step is None
    assert t.hidden_passed and t.final_reward is not None and t.final_reward > 0.5
    assert t.steps[0].rewards["speed"] == t.steps[0].reward > 0.5
    speed = next(c for c in t.steps[0].critique.constraints if c.name == "speed")  # type: ignore[union-attr]
    assert speed.satisfied and "faster than the reference solution" in speed.evidence


def test_correctness_comes_first_and_a_fast_wrong_answer_earns_nothing(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox, dedupe: Problem
) -> None:
    scripted.queue(fenced(WRONG_FAST), fenced(FAST))
    result = solve(dedupe, llm=llm_settings, sandbox=sandbox, objective=QUICK, rounds=1)
    wrong, right = result.steps
    assert wrong.reward == 0.0 and wrong.measurement is None
    assert wrong.critique is not None and wrong.critique.feedback.startswith("Test `assert dedupe(")
    repair = scripted.requests[1].body["messages"][-1]["content"]
    assert repair.startswith("Your Python solution to the task below is not correct yet.")
    assert right.measurement is not None and right.measurement.verdict == "faster"
    assert result.code == FAST and result.stop_reason == "solved"


def test_without_a_reference_the_first_passing_answer_is_the_baseline(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox, dedupe: Problem
) -> None:
    problem = dedupe.model_copy(update={"reference_solution": None})
    slow = dedupe.reference_solution or ""
    scripted.queue(fenced(slow), fenced(FAST))
    result = solve(problem, llm=llm_settings, sandbox=sandbox, objective=QUICK, rounds=1)
    base, faster = result.steps
    t = result.trajectory
    assert t.baseline_step == 0 and base.measurement is None and base.reward == 0.5
    assert base.critique is not None and "it is now the baseline" in base.critique.feedback
    ask = scripted.requests[1].body["messages"][-1]["content"]
    assert ask.startswith("The Python solution below to the task is correct. Make it faster.")
    assert "x not in out" in ask  # the baseline's code is what is to be made faster
    assert faster.measurement is not None and faster.measurement.verdict == "faster"
    assert "than the first passing solution (step 0)" in (faster.critique.feedback if faster.critique else "")
    assert result.code == FAST and t.final_measurement is not None and t.final_measurement.hidden


def test_handing_back_the_reference_is_no_progress(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox, dedupe: Problem
) -> None:
    scripted.queue(fenced(dedupe.reference_solution or ""))
    result = solve(dedupe, llm=llm_settings, sandbox=sandbox, objective=QUICK)
    assert result.stop_reason == "no_progress" and not result.passed
    assert result.trajectory.final_reward is None


def test_an_unknown_objective_is_refused(llm_settings: LLMSettings, dedupe: Problem) -> None:
    with pytest.raises(UserError, match="objective must be 'correctness', 'speed' or an objective value"):
        solve(dedupe, llm=llm_settings, objective="fast")  # type: ignore[typeddict-item]


def test_the_cli_reports_the_measurement(scripted: ScriptedServer) -> None:
    scripted.queue(fenced(FAST))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    env |= {"CODEMEND_BASE_URL": scripted.url, "CODEMEND_MODEL": "scripted-model", "COLUMNS": "250"}
    problem = str(EXAMPLES / "dedupe.json")
    command = [
        sys.executable,
        "-m",
        "codemend",
        "solve",
        problem,
        "--objective",
        "speed",
        "--repetitions",
        "4",
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == FAST
    assert "speed: faster" in out.stderr and "cpu medians" in out.stderr
    assert "solved: stopped (solved)" in out.stderr


def _cli(scripted: ScriptedServer, problem: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    env |= {"CODEMEND_BASE_URL": scripted.url, "CODEMEND_MODEL": "scripted-model", "COLUMNS": "250"}
    command = [sys.executable, "-m", "codemend", "solve", str(problem), "--objective", "speed", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_a_correct_answer_that_is_not_faster_exits_1(scripted: ScriptedServer, tmp_path: Path) -> None:
    """Issue 26: "speed: same, 0.99x" exited 0 as if a faster program had been found."""
    same = (EXAMPLES / "dedupe.json").read_text()
    renamed = example("dedupe").reference_solution.replace("out", "kept")  # type: ignore[union-attr]
    scripted.queue(fenced(renamed))
    (tmp_path / "dedupe.json").write_text(same)
    out = _cli(scripted, tmp_path / "dedupe.json", "--rounds", "0", "--repetitions", "4")
    assert out.returncode == 1, out.stderr
    assert ("solved: stopped" in out.stderr and "speed: same" in out.stderr) or "speed: slower" in out.stderr


def test_a_reference_failing_its_own_tests_is_bad_input(scripted: ScriptedServer, tmp_path: Path) -> None:
    """Issue 26: the candidate was then "incorrect on the workload" while the line said solved, exit 0."""
    problem = json.loads((EXAMPLES / "dedupe.json").read_text())
    problem["reference_solution"] = "def dedupe(xs):\n    return list(xs)\n"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(problem))
    out = _cli(scripted, path)
    assert out.returncode == 2, out.stderr
    assert "problem dedupe: the reference solution fails its own visible tests" in out.stderr
    assert not scripted.requests  # found before any model call


@pytest.mark.parametrize("command", ["solve", "bench"])
def test_cost_instructions_where_nothing_can_count_says_so_at_start(
    scripted: ScriptedServer, tmp_path: Path, command: str
) -> None:
    """Never a silent fallback to CPU time: exit 2 before any model call or sandbox run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_", "DOCKER_"))}
    env |= {"CODEMEND_BASE_URL": scripted.url, "CODEMEND_MODEL": "scripted-model", "COLUMNS": "250"}
    target = (
        [str(EXAMPLES / "dedupe.json")]
        if command == "solve"
        else [
            "jsonl",
            "--data",
            str(EXAMPLES / "problems.jsonl"),
            "--limit",
            "1",
            "--run-dir",
            str(tmp_path / "r"),
        ]
    )
    args = ["--objective", "speed", "--cost", "instructions", "--sandbox", "docker"]
    out = subprocess.run(
        [sys.executable, "-m", "codemend", command, *target, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 2, out.stderr
    assert "--cost instructions: the docker sandbox cannot count instructions" in out.stderr
    assert not scripted.requests
