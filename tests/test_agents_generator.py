"""The generator: what it sends for a first attempt and for repairs, and what it records."""

from __future__ import annotations

import asyncio

from repair_helpers import HIDDEN_MARK, WRONG, fenced, sent_text
from scripted_server import ScriptedServer, Tokens

from codemend.agents import Generator, History, code_fingerprint, make_generator
from codemend.llm import LLMClient, LLMSettings
from codemend.problems import Problem
from codemend.trajectories import Message, StepRecord

pytest_plugins = ["llm_fixtures", "repair_fixtures"]


def first_step(settings: LLMSettings, problem: Problem, history: History = "latest") -> StepRecord:
    async def main() -> StepRecord:
        async with LLMClient(settings) as llm:
            gen = make_generator(llm=llm, sampling={"max_tokens": 64}, repair_sampling={"temperature": 0.7})
            messages = gen.first_messages(problem)
            return await gen.complete(problem, messages, kind="generate", index=0, parent=None)

    return asyncio.run(main())


def a_generator(history: History) -> Generator:
    return make_generator(llm=None, history=history)  # type: ignore[arg-type]  # messages need no client


def test_first_attempt_sends_the_task_and_only_the_visible_tests(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(fenced(WRONG, usage=(30, 12)))
    step = first_step(llm_settings, square)
    (request,) = scripted.requests
    (message,) = request.body["messages"]
    assert message["role"] == "user"
    assert "Write `square(x)` that returns x squared." in message["content"]
    assert "assert square(3) == 9\nassert square(-2) == 4" in message["content"]
    assert "a function named `square`" in message["content"]
    assert HIDDEN_MARK not in sent_text(scripted.requests)
    assert "0.25" not in message["content"]
    assert request.body["max_tokens"] == 64
    assert (step.kind, step.index, step.parent, step.code) == ("generate", 0, None, WRONG)
    assert (step.tokens_in, step.tokens_out) == (30, 12)
    assert step.latency_s > 0 and step.started_at is not None and step.ended_at is not None
    assert step.messages == [Message(role="user", content=message["content"])]


def previous_step() -> StepRecord:
    return StepRecord(
        index=0,
        kind="generate",
        messages=[Message(role="user", content="FIRST PROMPT")],
        reply="REPLY",
        code=WRONG,
    )


def test_latest_history_repairs_from_one_self_contained_message(square: Problem) -> None:
    (message,) = a_generator("latest").repair_messages(square, previous_step(), "FEEDBACK")
    assert message.role == "user"
    assert "return -x * x\n```" in message.content and "FEEDBACK" in message.content
    assert "Write `square(x)`" in message.content


def test_full_history_keeps_the_conversation(square: Problem) -> None:
    messages = a_generator("full").repair_messages(square, previous_step(), "FEEDBACK")
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert messages[0].content == "FIRST PROMPT" and messages[1].content == "REPLY"
    assert "FEEDBACK" in messages[2].content


def test_repairs_use_their_own_sampling(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(fenced(WRONG))

    async def main() -> None:
        async with LLMClient(llm_settings) as llm:
            gen = make_generator(llm=llm, sampling={"max_tokens": 64}, repair_sampling={"temperature": 0.7})
            messages = gen.repair_messages(square, previous_step(), "FEEDBACK")
            await gen.complete(square, messages, kind="repair", index=1, parent=0)

    asyncio.run(main())
    (request,) = scripted.requests
    assert request.body["temperature"] == 0.7 and "max_tokens" not in request.body


def test_fingerprints_ignore_layout_and_comments_only() -> None:
    same = "def square(x):  # squares\n\n    return x*x\n"
    assert code_fingerprint("def square(x):\n    return x * x\n") == code_fingerprint(same)
    assert code_fingerprint(WRONG) != code_fingerprint(same)
    assert code_fingerprint("def f(:\n  pass") == code_fingerprint("def f(:   \n\n  pass")


def test_the_step_keeps_the_token_ids_and_logprobs_the_endpoint_returned(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    tokens = Tokens(completion=(11, 12, 13), logprobs=(-0.5, -0.25, -0.125), prompt=(1, 2))
    scripted.queue(fenced(WRONG, tokens=tokens), fenced(WRONG, tokens=tokens))
    step = first_step(llm_settings.model_copy(update={"logprobs": True}), square)
    assert step.prompt_token_ids == [1, 2] and step.completion_token_ids == [11, 12, 13]
    assert step.completion_logprobs == [-0.5, -0.25, -0.125]
    plain = first_step(llm_settings, square)  # not asked for: nothing sent, nothing kept
    assert "logprobs" not in scripted.requests[1].body
    assert plain.prompt_token_ids is plain.completion_token_ids is plain.completion_logprobs is None

