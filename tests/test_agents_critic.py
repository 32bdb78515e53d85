"""The critic's modes against the scripted endpoint: the deterministic report is always kept."""

from __future__ import annotations

import asyncio

import pytest
from repair_helpers import HIDDEN_MARK, RIGHT, WRONG, sent_text
from scripted_server import ScriptedServer, Status, ok

from codemend.agents import CriticMode, Verdict, make_critic, repair_feedback
from codemend.errors import UserError
from codemend.llm import LLMClient, LLMSettings
from codemend.problems import Problem
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
