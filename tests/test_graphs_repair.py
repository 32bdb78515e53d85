"""The repair graph against the scripted endpoint and the real sandbox: every stop reason."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from repair_helpers import CRASH, HIDDEN_MARK, RIGHT, WRONG, fenced, sent_text
from scripted_server import ScriptedServer, Status, ok

from codemend.errors import SandboxUnavailable
from codemend.llm import LLMSettings
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox
from codemend.solver import SolveResult, asolve
from codemend.trajectories import StepRecord

pytest_plugins = ["llm_fixtures", "repair_fixtures"]


def run(problem: Problem, settings: LLMSettings, sandbox: Any, **options: Any) -> SolveResult:
    return asyncio.run(asolve(problem, llm=settings, sandbox=sandbox, **options))


def test_solved_at_once(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(RIGHT, usage=(50, 20)))
    result = run(square, llm_settings, sandbox)
    t = result.trajectory
    assert (result.passed, result.rounds, result.stop_reason, result.code) == (True, 0, "solved", RIGHT)
    assert (t.status, t.hidden_passed, t.final_reward, t.tokens_in, t.tokens_out) == (
        "solved",
        True,
        1.0,
        50,
        20,
    )
    (step,) = t.steps
    assert step.reward == 1.0 and step.rewards == {"pass_fraction": 1.0, "constraint_score": 1.0}
    assert step.report is not None and all(r.visibility == "visible" for r in step.report.results)
    assert t.hidden_report is not None and len(t.hidden_report.results) == 2


def test_fail_then_repaired_with_the_feedback(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG), fenced(RIGHT))
    result = run(square, llm_settings, sandbox)
    first, second = result.steps
    assert (first.kind, first.reward, second.kind, second.parent, second.reward) == (
        "generate",
        0.0,
        "repair",
        0,
        1.0,
    )
    assert first.critique is not None and first.critique.score == pytest.approx(4 / 6)
    repair_prompt = scripted.requests[1].body["messages"][-1]["content"]
    assert first.critique.feedback in repair_prompt and "return -x * x" in repair_prompt
    assert (result.passed, result.rounds, result.stop_reason) == (True, 1, "solved")


def test_the_same_code_again_stops_for_no_progress(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG), fenced("def square(x):  # fixed!\n    return -x*x\n"))
    result = run(square, llm_settings, sandbox)
    assert (result.stop_reason, result.passed, len(result.steps)) == ("no_progress", False, 2)
    repeat = result.steps[1]
    assert repeat.report is None and repeat.critique is None  # not run again
    assert result.trajectory.final_code == WRONG


def test_max_rounds_keeps_the_best_candidate(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    half = "def square(x):\n    return 9\n"
    scripted.queue(fenced(WRONG), fenced(half), fenced(CRASH))
    result = run(square, llm_settings, sandbox, rounds=2)
    assert (result.stop_reason, result.rounds, result.passed) == ("max_rounds", 2, False)
    assert [s.reward for s in result.steps] == [0.0, 0.5, 0.0]
    assert result.code == half
    assert result.trajectory.final_reward == 0.0  # the hidden tests fail on it


def test_no_rounds_means_one_attempt(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG))
    result = run(square, llm_settings, sandbox, rounds=0)
    assert (result.stop_reason, len(result.steps), result.trajectory.status) == ("max_rounds", 1, "unsolved")


def test_token_budget(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG, usage=(60, 30)), fenced(WRONG.replace("-", "1-"), usage=(60, 30)))
    result = run(square, llm_settings, sandbox, token_budget=150)
    assert (result.stop_reason, len(result.steps)) == ("token_budget", 2)


def test_time_budget(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG))
    result = run(square, llm_settings, sandbox, time_budget_s=1e-6)
    assert (result.stop_reason, len(result.steps)) == ("time_budget", 1)
    assert result.trajectory.wall_s > 0


def test_endpoint_down_is_an_infrastructure_stop_not_a_wrong_answer(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG), *[Status(code=503)] * llm_settings.max_attempts)
    result = run(square, llm_settings, sandbox)
    t = result.trajectory
    assert (t.status, t.stop_reason, result.passed) == ("infrastructure_error", "infrastructure", False)
    failed = result.steps[-1]
    assert failed.kind == "repair" and failed.error is not None and "RetriesExhausted" in failed.error
    assert failed.reward is None and failed.report is None
    assert result.code == WRONG  # the best real candidate is still reported, with its hidden result
    assert t.final_reward == 0.0


TOO_LONG = Status(
    code=400,
    body='{"error": {"message": "This model\'s maximum context length is 2048 tokens.", '
    '"type": "invalid_request_error", "code": "context_length_exceeded"}}',
)


def test_a_repair_prompt_too_long_for_the_context_ends_the_run_scored(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    """Not an infrastructure error: the answer so far is the answer, and its hidden tests count."""
    scripted.queue(fenced(WRONG), TOO_LONG)
    result = run(square, llm_settings, sandbox, rounds=3)
    t = result.trajectory
    assert (t.status, t.stop_reason, result.passed) == ("unsolved", "context_length", False)
    first, unanswered = result.steps
    assert first.code == WRONG and first.report is not None
    assert unanswered.kind == "repair" and unanswered.reply is None and unanswered.report is None
    assert unanswered.error is not None and "ContextLengthExceeded" in unanswered.error
    assert unanswered.messages  # what did not fit is kept
    assert result.code == WRONG and t.hidden_report is not None and t.final_reward == 0.0
    assert len(scripted.requests) == 2


def test_a_task_too_long_for_the_context_is_unsolved_without_an_answer(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(TOO_LONG)
    result = run(square, llm_settings, sandbox)
    t = result.trajectory
    assert (t.status, t.stop_reason) == ("unsolved", "context_length")
    assert result.code is None and t.final_reward is None
    assert [s.kind for s in result.steps] == ["generate"]


def test_sandbox_failure_is_an_infrastructure_stop(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(fenced(RIGHT))
    broken = LocalSandbox(workers=1, isolation="namespaces", bwrap_path="/nonexistent/bwrap")
    with broken:
        result = run(square, llm_settings, broken)
    assert result.trajectory.status == "infrastructure_error"
    assert SandboxUnavailable.__name__ in (result.steps[0].error or "")
    assert result.code is None and result.trajectory.final_reward is None


def test_critic_endpoint_down_is_an_infrastructure_stop(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG), *[Status(code=500)] * llm_settings.max_attempts)
    result = run(square, llm_settings, sandbox, critic="llm", critic_llm=llm_settings)
    assert result.trajectory.stop_reason == "infrastructure"
    assert result.steps[0].report is not None and result.steps[0].error is not None


@pytest.mark.parametrize(("critic", "history"), [("tests", "full"), ("llm", "latest"), ("hybrid", "full")])
def test_hidden_tests_never_reach_a_model(
    critic: str,
    history: str,
    square: Problem,
    scripted: ScriptedServer,
    llm_settings: LLMSettings,
    sandbox: LocalSandbox,
) -> None:
    wrong_on_hidden = "def square(x):\n    return {3: 9, -2: 4}.get(x, 0)\n"
    diagnosis = [ok("Use multiplication.")] if critic != "tests" else []
    scripted.queue(fenced(WRONG), *diagnosis, fenced(wrong_on_hidden))
    result = run(square, llm_settings, sandbox, critic=critic, critic_llm=llm_settings, history=history)
    assert result.stop_reason == "solved" and result.trajectory.hidden_passed is False
    sent = sent_text(scripted.requests)
    assert HIDDEN_MARK not in sent and "square(4)" not in sent and "0.25" not in sent
    for step in result.steps:
        assert all(HIDDEN_MARK not in m.content for m in step.messages)


def test_full_history_sends_the_whole_conversation(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(WRONG), fenced(CRASH), fenced(RIGHT))
    result = run(square, llm_settings, sandbox, history="full")
    assert [len(r.body["messages"]) for r in scripted.requests] == [1, 3, 5]
    assert [m.role for m in result.steps[2].messages] == ["user", "assistant", "user", "assistant", "user"]


def test_every_finished_step_reaches_the_hook_in_order(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    seen: list[StepRecord] = []

    async def commit(step: StepRecord) -> None:
        await asyncio.sleep(0)
        seen.append(step)

    scripted.queue(fenced(WRONG), fenced(RIGHT))
    result = run(square, llm_settings, sandbox, on_step=commit)
    assert seen == result.steps
    assert all(isinstance(s, StepRecord) and s.critique is not None for s in seen)


def test_without_visible_tests_the_structural_constraints_decide(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    problem = Problem.model_validate(
        {
            "id": "h",
            "prompt": "f returns 1",
            "entry_point": "f",
            "tests": [{"code": "assert f() == 1", "visibility": "hidden"}],
        }
    )
    scripted.queue(fenced("def g():\n    return 1\n"), fenced("def f():\n    return 1\n"))
    result = run(problem, llm_settings, sandbox)
    assert [s.critique.score for s in result.steps if s.critique] == [pytest.approx(3 / 4), 1.0]
    assert (result.stop_reason, result.passed) == ("solved", True)


def test_a_program_problem(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    problem = Problem.model_validate(
        {
            "id": "io",
            "prompt": "Print the double of the number read.",
            "tests": [{"stdin": "2\n", "expected_stdout": "4\n"}],
        }
    )
    scripted.queue(fenced("print(int(input()) * 2)\n"))
    result = run(problem, llm_settings, sandbox)
    assert result.passed
    assert "reads standard input" in scripted.requests[0].body["messages"][0]["content"]
