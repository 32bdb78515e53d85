"""LLMClient against the scripted OpenAI-compatible server: retries, errors, usage, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from scripted_server import (
    EMPTY_CHOICES,
    MALFORMED_JSON,
    Drop,
    ScriptedServer,
    Status,
    Tokens,
    ok,
    retry_after,
    slow,
)

from codemend.errors import (
    ContextLengthExceeded,
    InfrastructureError,
    ModelMisbehaviour,
    ProviderError,
    RetriesExhausted,
    UserError,
)
from codemend.llm import ChatResult, LLMClient, LLMSettings, Message
from codemend.llm.client import MAX_BYTES_PER_TOKEN

pytest_plugins = ["llm_fixtures"]

T = TypeVar("T")
HELLO: list[Message] = [{"role": "user", "content": "hello"}]


def run(settings: LLMSettings, use: Callable[[LLMClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with LLMClient(settings) as llm:
            return await use(llm)

    return asyncio.run(main())


def chat_once(settings: LLMSettings) -> ChatResult:
    return run(settings, lambda llm: llm.chat(HELLO))


def test_returns_text_finish_reason_usage_and_latency(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(ok("def f():\n    return 1", usage=(12, 7), finish_reason="length"))
    result = chat_once(llm_settings)
    assert result.text == "def f():\n    return 1"
    assert result.finish_reason == "length"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 7)
    assert result.usage.total_tokens == 19
    assert result.model == "scripted-model"
    assert result.attempts == 1
    assert result.latency_s > 0


def test_a_default_max_tokens_applies_where_a_call_sets_none(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(ok(), ok())
    bounded = llm_settings.model_copy(update={"max_tokens": 300})
    run(bounded, lambda llm: llm.chat(HELLO))
    run(bounded, lambda llm: llm.chat(HELLO, max_tokens=20))
    assert [r.body["max_tokens"] for r in scripted.requests] == [300, 20]


def test_sends_messages_model_and_sampling_params(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(ok("a", "b"))
    params = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "stop": ["\n\n"], "seed": 7}
    result = run(
        llm_settings,
        lambda llm: llm.chat(HELLO, model="other", n=2, **params),  # type: ignore[arg-type]
    )
    assert result.texts == ["a", "b"]
    (request,) = scripted.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.body == {"messages": HELLO, "model": "other", "n": 2, **params}


@pytest.mark.parametrize("failure", [Status(code=500), Status(code=503), Drop()])
def test_server_errors_and_dropped_connections_are_retried(
    scripted: ScriptedServer, llm_settings: LLMSettings, failure: Status | Drop
) -> None:
    scripted.queue(failure, failure, ok("fine"))
    result = chat_once(llm_settings)
    assert (result.text, result.attempts, len(scripted.requests)) == ("fine", 3, 3)


def test_timeout_is_retried(scripted: ScriptedServer, llm_settings: LLMSettings) -> None:
    scripted.queue(slow(5.0), ok("in time"))
    result = chat_once(llm_settings.model_copy(update={"timeout_s": 0.3}))
    assert (result.text, result.attempts) == ("in time", 2)


@pytest.mark.parametrize(
    "limited",
    [retry_after(0.3), Status(code=429, headers=(("retry-after-ms", "300"),))],
    ids=["retry-after", "retry-after-ms"],
)
def test_429_waits_as_long_as_the_server_asks(
    scripted: ScriptedServer, llm_settings: LLMSettings, limited: Status
) -> None:
    scripted.queue(limited, ok())
    assert chat_once(llm_settings).attempts == 2
    first, second = scripted.requests
    assert second.at - first.at >= 0.3


def test_retry_after_beyond_the_time_budget_gives_up_at_once(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(retry_after(30))
    with pytest.raises(RetriesExhausted) as caught:
        chat_once(llm_settings.model_copy(update={"max_retry_time_s": 1.0}))
    assert (caught.value.attempts, caught.value.status) == (1, 429)


def test_exhausted_retries_are_an_infrastructure_error_with_the_last_answer(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(*[Status(code=503, body='{"error": "overloaded"}')] * 4)
    with pytest.raises(RetriesExhausted) as caught:
        chat_once(llm_settings)
    error = caught.value
    assert isinstance(error, InfrastructureError)
    assert (error.attempts, error.status, error.body) == (4, 503, '{"error": "overloaded"}')
    assert "gave up after 4 attempt(s)" in str(error)
    assert len(scripted.requests) == 4


def test_exhausted_timeouts_say_so(scripted: ScriptedServer, llm_settings: LLMSettings) -> None:
    scripted.queue(slow(5.0), slow(5.0))
    settings = llm_settings.model_copy(update={"timeout_s": 0.2, "max_attempts": 2})
    with pytest.raises(RetriesExhausted, match="timed out") as caught:
        chat_once(settings)
    assert caught.value.status is None


@pytest.mark.parametrize("code", [400, 401, 404, 422])
def test_other_4xx_raise_at_once_with_status_and_body(
    scripted: ScriptedServer, llm_settings: LLMSettings, code: int
) -> None:
    scripted.queue(Status(code=code, body='{"error": {"message": "no such model"}}'))
    with pytest.raises(ProviderError) as caught:
        chat_once(llm_settings)
    assert not isinstance(caught.value, RetriesExhausted | ContextLengthExceeded)
    assert (caught.value.status, caught.value.body) == (
        code,
        '{"error": {"message": "no such model"}}',
    )
    assert len(scripted.requests) == 1


TOO_LONG = {  # what each server sends when the prompt plus max_tokens exceeds its context
    "openai": '{"error": {"message": "Your messages resulted in 9000 tokens.", '
    '"type": "invalid_request_error", "code": "context_length_exceeded"}}',
    "llama-cpp-python": '{"error": {"message": "This model\'s maximum context length is 2048 tokens. '
    'However, you requested 2300 tokens (2100 in the messages, 200 in the completion).", '
    '"type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}',
    "vllm": '{"object": "error", "message": "This model\'s maximum context length is 2048 tokens. However, '
    'you requested 2300 tokens.", "type": "BadRequestError", "code": 400}',
    "llama.cpp": '{"error": {"code": 400, "message": "the request exceeds the available context size, '
    'try increasing it", "type": "exceed_context_size_error"}}',
}


@pytest.mark.parametrize("server", list(TOO_LONG))
def test_a_prompt_too_long_for_the_context_says_so_at_once(
    scripted: ScriptedServer, llm_settings: LLMSettings, server: str
) -> None:
    scripted.queue(Status(code=400, body=TOO_LONG[server]))
    with pytest.raises(ContextLengthExceeded) as caught:
        chat_once(llm_settings)
    assert caught.value.status == 400 and caught.value.body == TOO_LONG[server]
    assert "does not fit the model's context" in str(caught.value)
    assert len(scripted.requests) == 1  # the same request cannot fit on a retry


def test_a_prompt_no_tokenizer_could_fit_is_refused_before_sending(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    """A 50 MB prompt used to hang the embedded server while it grew to 5 GB."""
    settings = llm_settings.model_copy(update={"context_tokens": 100})
    huge: list[Message] = [{"role": "user", "content": "x" * (100 * MAX_BYTES_PER_TOKEN + 1)}]
    with pytest.raises(ContextLengthExceeded, match=r"6,401 bytes\) cannot fit the model's context of 100"):
        run(settings, lambda llm: llm.chat(huge))
    assert scripted.requests == []  # never sent
    scripted.queue(ok("fits"))  # at the bound it is the endpoint's to judge
    edge: list[Message] = [{"role": "user", "content": "x" * (100 * MAX_BYTES_PER_TOKEN)}]
    assert run(settings, lambda llm: llm.chat(edge)).text == "fits"


@pytest.mark.parametrize("answer", [MALFORMED_JSON, EMPTY_CHOICES], ids=["malformed", "empty"])
def test_unusable_answers_keep_the_raw_body(
    scripted: ScriptedServer, llm_settings: LLMSettings, answer: object
) -> None:
    scripted.queue(answer)  # type: ignore[arg-type]
    with pytest.raises(ModelMisbehaviour) as caught:
        chat_once(llm_settings)
    assert caught.value.body == answer.body  # type: ignore[attr-defined]
    assert isinstance(caught.value, InfrastructureError)


def test_usage_is_totalled_over_successful_calls(scripted: ScriptedServer, llm_settings: LLMSettings) -> None:
    scripted.queue(ok(usage=(10, 5)), Status(code=500), ok(usage=(3, 4)))

    async def twice(llm: LLMClient) -> LLMClient:
        await llm.chat(HELLO)
        await llm.chat(HELLO)
        return llm

    llm = run(llm_settings, twice)
    assert llm.requests == 2
    assert (llm.usage.prompt_tokens, llm.usage.completion_tokens, llm.usage.total_tokens) == (
        13,
        9,
        22,
    )


def test_requests_in_flight_are_limited_per_endpoint(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    scripted.queue(*[ok(delay_s=0.15)] * 8)
    settings = llm_settings.model_copy(update={"max_concurrency": 3})

    async def main() -> list[ChatResult]:
        async with LLMClient(settings) as a, LLMClient(settings) as b:
            calls = [client.chat(HELLO) for client in (a, b) for _ in range(4)]
            return await asyncio.gather(*calls)

    results = asyncio.run(main())
    assert len(results) == 8
    assert scripted.peak_in_flight == 3


def test_an_exhausted_script_fails_loudly(llm_settings: LLMSettings) -> None:
    with ScriptedServer() as server:
        settings = llm_settings.model_copy(update={"base_url": server.url, "max_attempts": 1})
        with pytest.raises(RetriesExhausted, match="script exhausted"):
            chat_once(settings)
    with pytest.raises(AssertionError, match="script exhausted at request 1"):
        server.check()


def test_a_client_needs_an_endpoint_and_a_model() -> None:
    with pytest.raises(UserError, match="default_client"):
        LLMClient(LLMSettings(model="m"))
    with pytest.raises(UserError, match="CODEMEND_MODEL"):
        LLMClient(LLMSettings(base_url="http://127.0.0.1:9/v1"))


def test_a_prompt_too_long_is_not_an_infrastructure_error() -> None:
    """Handlers that catch infrastructure failures must not swallow it by type (it used to be
    a ProviderError, so every handler had to catch it first)."""
    from codemend.errors import CodemendError, InfrastructureError

    assert issubclass(ContextLengthExceeded, CodemendError)
    assert not issubclass(ContextLengthExceeded, InfrastructureError)


def test_token_ids_and_logprobs_in_each_servers_form(
    scripted: ScriptedServer, llm_settings: LLMSettings
) -> None:
    """vLLM (``return_token_ids``: ids on the choice, the prompt's at the top) and llama.cpp's
    server (ids in ``logprobs.content``, no prompt ids); sent only when the setting asks."""
    asking = llm_settings.model_copy(update={"logprobs": True})
    scripted.queue(
        ok("a", tokens=Tokens(completion=(5, 6), logprobs=(-0.5, -1.5), prompt=(1, 2, 3))),
        ok("b", tokens=Tokens(completion=(7,), logprobs=(-0.25,), ids_in_logprobs=True)),
    )
    vllm, llama = chat_once(asking), chat_once(asking)
    asked = scripted.requests[0].body
    assert (asked["logprobs"], asked["top_logprobs"], asked["return_token_ids"]) == (True, 0, True)
    assert vllm.prompt_token_ids == (1, 2, 3)
    assert (vllm.choices[0].token_ids, vllm.choices[0].logprobs) == ((5, 6), (-0.5, -1.5))
    assert llama.prompt_token_ids is None
    assert (llama.choices[0].token_ids, llama.choices[0].logprobs) == ((7,), (-0.25,))

