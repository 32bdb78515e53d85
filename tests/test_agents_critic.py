"""The critic's modes against the scripted endpoint: the deterministic report is always kept."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from repair_helpers import HIDDEN_MARK, RIGHT, WRONG, sent_text
from scripted_server import ScriptedServer, Status, ok
from security_helpers import UNSAFE, needs_bandit

from codemend.agents import (
    CriticMode,
    SecurityAnalyser,
    Verdict,
    make_critic,
    repair_feedback,
    reward_components,
    scored_structure,
)
from codemend.agents.credit import credit as sandbox_credit
from codemend.errors import UserError
from codemend.llm import LLMClient, LLMSettings
from codemend.optimise import Correctness
from codemend.problems import Problem
from codemend.records import StepRecord, TestReport, visible_solved
from codemend.sandbox import LocalSandbox

pytest_plugins = ["llm_fixtures", "repair_fixtures"]

DIAGNOSIS = "The sign is wrong. 1. Return x * x."


def critique(
    mode: CriticMode, problem: Problem, code: str, sandbox: LocalSandbox, settings: LLMSettings | None
) -> Verdict:
    report = sandbox.run(problem, code, problem.tests)  # hidden results too: the critic must skip them

    async def main() -> Verdict:
        if settings is None:
            return await make_critic(mode)(problem, code, report)
        async with LLMClient(settings) as llm:
            return await make_critic(mode, llm=llm, sampling={"temperature": 0.0})(problem, code, report)

    return asyncio.run(main())


def test_tests_mode_is_deterministic_and_calls_no_model(square: Problem, sandbox: LocalSandbox) -> None:
    verdict = critique("tests", square, WRONG, sandbox, None)
    c = verdict.critique
    assert (c.mode, c.llm_feedback, verdict.tokens_in) == ("tests", None, 0)
    assert [x.satisfied for x in c.constraints] == [True, True, True, False, False, True]
    assert c.score == pytest.approx(4 / 6)
    assert repair_feedback(c) == c.feedback


@pytest.mark.parametrize("mode", ["llm", "hybrid"])
def test_llm_modes_add_a_diagnosis_and_keep_the_report(
    mode: CriticMode,
    square: Problem,
    sandbox: LocalSandbox,
    scripted: ScriptedServer,
    llm_settings: LLMSettings,
) -> None:
    scripted.queue(ok(DIAGNOSIS, usage=(40, 9)))
    verdict = critique(mode, square, WRONG, sandbox, llm_settings)
    c = verdict.critique
    assert c.mode == mode and c.llm_feedback == DIAGNOSIS
    assert "expected: 9" in c.feedback  # the deterministic report is kept
    assert (verdict.tokens_in, verdict.tokens_out) == (40, 9)
    told = repair_feedback(c)
    assert told == DIAGNOSIS if mode == "llm" else (c.feedback in told and DIAGNOSIS in told)
    (request,) = scripted.requests
    content = request.body["messages"][0]["content"]
    assert "return -x * x" in content and "actual:   -9" in content
    assert request.body["temperature"] == 0.0
    assert HIDDEN_MARK not in sent_text(scripted.requests)
    # the critique keeps what the LLM critic was sent and what it cost, for audit
    assert [m.content for m in c.llm_messages] == [content]
    assert (c.llm_tokens_in, c.llm_tokens_out) == (40, 9) and c.llm_latency_s > 0


@pytest.mark.parametrize("mode", ["llm", "hybrid"])
def test_an_llm_critique_too_long_for_the_context_falls_back_to_the_report(
    mode: CriticMode,
    square: Problem,
    sandbox: LocalSandbox,
    scripted: ScriptedServer,
    llm_settings: LLMSettings,
) -> None:
    too_long = '{"error": {"code": "context_length_exceeded", "message": "too long"}}'
    scripted.queue(Status(code=400, body=too_long))
    verdict = critique(mode, square, WRONG, sandbox, llm_settings)
    c = verdict.critique
    assert c.llm_feedback is None and c.llm_error is not None and "context" in c.llm_error
    assert repair_feedback(c) == c.feedback and "expected: 9" in c.feedback
    assert verdict.tokens_in == 0 and len(scripted.requests) == 1


def test_no_model_call_when_every_constraint_holds(
    square: Problem, sandbox: LocalSandbox, scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    verdict = critique("hybrid", square, RIGHT, sandbox, llm_settings)
    assert verdict.critique.score == 1.0 and verdict.critique.llm_feedback is None
    assert scripted.requests == []


def test_llm_modes_need_a_client_and_modes_are_checked() -> None:
    with pytest.raises(UserError, match="needs an LLM client"):
        make_critic("llm")
    with pytest.raises(UserError, match="unknown critic mode 'oracle'"):
        make_critic("oracle")  # type: ignore[arg-type]


def _verdict(problem: Problem, code: str, sandbox: LocalSandbox, **options: Any) -> Verdict:
    report = sandbox.run(problem, code, problem.visible_tests())
    return asyncio.run(make_critic("tests", **options)(problem, code, report))


def _step(code: str, verdict: Verdict, report: TestReport) -> StepRecord:
    critique = verdict.critique
    return StepRecord(index=0, kind="generate", messages=[], code=code, report=report, critique=critique)


@needs_bandit
def test_security_a_passing_candidate_with_a_high_finding_is_not_solved(
    square: Problem, sandbox: LocalSandbox
) -> None:
    report = sandbox.run(square, UNSAFE, square.visible_tests())
    assert report.passed  # it passes its tests: the shell never runs
    plain = asyncio.run(make_critic("tests")(square, UNSAFE, report))
    assert plain.critique.security is None and Correctness().solved(_step(UNSAFE, plain, report))
    checked = asyncio.run(make_critic("tests", constraints=["security"])(square, UNSAFE, report))
    c = checked.critique
    assert c.security is not None and c.security.available
    assert [(x.name, x.satisfied, x.required) for x in c.constraints][-1] == ("security", False, True)
    assert c.score == pytest.approx(6 / 7)  # 2 tests, parses, entry point, imports, resources
    assert "line 5: subprocess call with shell=True" in c.feedback and "(B602, high)" in c.feedback
    assert "All 2 visible test(s) pass." in c.feedback
    step = _step(UNSAFE, checked, report)
    assert not Correctness().solved(step) and not visible_solved(step)
    assert reward_components(report, c)["security"] == pytest.approx(1 / 2.25)


@needs_bandit
def test_security_clean_code_is_solved_with_the_constraint(square: Problem, sandbox: LocalSandbox) -> None:
    verdict = _verdict(square, RIGHT, sandbox, constraints=["security"])
    report = sandbox.run(square, RIGHT, square.visible_tests())
    assert verdict.critique.constraints[-1].satisfied and verdict.critique.score == 1.0
    assert Correctness().solved(_step(RIGHT, verdict, report))
    assert reward_components(report, verdict.critique)["security"] == 1.0


def test_security_without_the_analyser_is_not_available_and_no_verdict(
    square: Problem, sandbox: LocalSandbox
) -> None:
    report = sandbox.run(square, UNSAFE, square.visible_tests())
    critic = dataclasses.replace(make_critic("tests"), security=SecurityAnalyser(module="codemend_no_bandit"))
    c = asyncio.run(critic(square, UNSAFE, report)).critique
    assert c.security is not None and not c.security.available
    assert c.security.reason is not None and "not installed" in c.security.reason
    assert "security" not in [x.name for x in c.constraints] and c.score == 1.0
    assert "security" not in reward_components(report, c)
    assert Correctness().solved(StepRecord(index=0, kind="generate", messages=[], report=report, critique=c))


def test_structure_is_a_component_with_a_reference_and_never_feedback(
    square: Problem, sandbox: LocalSandbox
) -> None:
    none = _verdict(square, RIGHT, sandbox).critique
    assert none.structure is not None and not none.structure.available
    assert none.structure.reason == "the problem has no reference solution"
    report = sandbox.run(square, WRONG, square.visible_tests())
    assert "structure" not in reward_components(report, none)
    referenced = square.model_copy(update={"reference_solution": RIGHT})
    c = _verdict(referenced, WRONG, sandbox).critique
    assert c.structure is not None and c.structure.available and c.structure.syntax_match is not None
    assert 0.0 < c.structure.syntax_match < 1.0
    # the reward waits for the executor to find the statements the passing tests need
    assert c.structure.score is None and c.structure.unscored is not None
    assert "structure" not in reward_components(report, c)
    credited = asyncio.run(sandbox_credit(sandbox, referenced, WRONG, report))
    scored = scored_structure(c.structure, referenced, WRONG, report, credited)
    assert scored.score == 0.0  # WRONG passes no visible test: nothing is credited
    c = c.model_copy(update={"structure": scored})
    assert reward_components(report, c)["structure"] == 0.0
    assert "structure" not in c.feedback.lower() and "reference" not in c.feedback.lower()
    assert [x.name for x in c.constraints] == [x.name for x in none.constraints]  # never a verdict
    assert _verdict(referenced, RIGHT, sandbox, structure=False).critique.structure is None


def test_an_unknown_constraint_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown constraint 'style'; expected one of security"):
        make_critic("tests", constraints=["style"])
