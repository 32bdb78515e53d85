"""Async chat completions against one OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import openai
from typing_extensions import Unpack

from codemend.errors import ContextLengthExceeded, ModelMisbehaviour, UserError
from codemend.llm.retry import translate, with_retries
from codemend.llm.types import ChatInput, ChatResult, Choice, Message, SamplingParams, Usage
from codemend.settings import LLMSettings

log = logging.getLogger(__name__)

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
BUSY_NOTICE_S = 5.0  # a wait for a shared server's turn longer than this is reported
_BUSY_LOG_EVERY_S = 60.0
_TURN_POLL_S = 0.05
# No tokenizer's tokens average more bytes than this (BPE vocabularies: 3-5 bytes on text and
# code; the longest single tokens, whitespace runs, are far below it), so a prompt of more than
# context x this many bytes cannot fit: refused before it is sent, however large. Prompts under
# the bound are left to the endpoint, which says so itself (HTTP 400).
MAX_BYTES_PER_TOKEN = 64
_turn_waits: dict[int, float] = {}  # request -> when it started waiting for its turn
_last_busy_log = 0.0
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _endpoint_limiter(base_url: str, limit: int) -> asyncio.Semaphore:
    """One semaphore per endpoint and event loop, shared by every client of that endpoint.

    The first client of an endpoint sets its limit.
    """
    per_loop = _limiters.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(base_url.rstrip("/"), asyncio.Semaphore(limit))


class LLMClient:
    """Chat completions with retries, a per-endpoint concurrency limit and usage accounting.

    Use it within one event loop and close it (``async with`` or ``aclose()``) when done.
    ``usage`` and ``requests`` total what this client's successful calls cost.
    """

    def __init__(self, settings: LLMSettings):
        if settings.base_url is None:
            raise UserError("LLMClient needs an endpoint; use default_client() for the embedded one")
        if settings.model is None:
            raise UserError(f"no model set for {settings.base_url}: set CODEMEND_MODEL")
        self.settings = settings
        self.base_url: str = settings.base_url
        self.model: str = settings.model
        self.usage = Usage()
        self.requests = 0
        self._sdk = openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or "unused",
            timeout=openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            max_retries=0,
        )

    async def chat(
        self,
        messages: Sequence[ChatInput],
        *,
        model: str | None = None,
        **params: Unpack[SamplingParams],
    ) -> ChatResult:
        """One chat completion; raises only ``InfrastructureError`` subclasses."""
        sent = [_plain(m) for m in messages]
        _check_fits(sent, self.settings.context_tokens)
        started = time.perf_counter()
        attempts = 0
        request: dict[str, Any] = {"messages": sent, "model": model or self.model}
        if self.settings.max_tokens is not None:
            request["max_tokens"] = self.settings.max_tokens
        if self.settings.logprobs:  # top_logprobs 0: llama-cpp-python's server sends none without it
            request |= {"logprobs": True, "top_logprobs": 0, "return_token_ids": True}
        request |= params
        limiter = _endpoint_limiter(self.base_url, self.settings.max_concurrency)

        async def attempt() -> ChatResult:
            nonlocal attempts
            attempts += 1
            async with limiter, _turn(self.settings.request_lock, self.base_url):
                body = await self._post(request)
            return _parse(body, started=started, attempts=attempts)

        result = await with_retries(self.settings, attempt, endpoint=self.base_url)
        self.usage += result.usage
        self.requests += 1
        return result

    async def _post(self, request: dict[str, Any]) -> str:
        # The SDK's generic ``post`` (its documented way to make custom requests) returns the raw
        # body: we keep it for error reports and skip the typed-model round trip (~0.4 ms).
        try:
            return await self._sdk.post("/chat/completions", body=request, cast_to=str)
        except openai.APIError as exc:
            raise translate(exc) from exc

    async def aclose(self) -> None:
        """Close the client's HTTP connections."""
        await self._sdk.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _plain(message: ChatInput) -> dict[str, str]:
    if isinstance(message, Message):
        return {"role": message.role, "content": message.content}
    return {"role": message["role"], "content": message["content"]}


def _check_fits(messages: Sequence[dict[str, str]], context_tokens: int | None) -> None:
    """``ContextLengthExceeded`` for a prompt too large for any tokenizer to fit the context."""
    if context_tokens is None:
        return
    size = sum(len(m["content"].encode("utf-8", "replace")) for m in messages)
    if size > context_tokens * MAX_BYTES_PER_TOKEN:
        raise ContextLengthExceeded(
            f"the prompt ({size:,} bytes) cannot fit the model's context of {context_tokens:,} tokens "
            f"(checked before sending it)"
        )


def turn_wait_s() -> float:
    """How long the longest request of this process has waited for a shared server (0: none)."""
    now = time.monotonic()
    return max((now - since for since in list(_turn_waits.values())), default=0.0)


@contextlib.asynccontextmanager
async def _turn(lock: Path | None, base_url: str) -> AsyncIterator[None]:
    """Hold ``lock`` (an exclusive ``flock``) for the block: one request at a time across the
    processes sharing a server. Polled, so that a cancelled request never holds it."""
    if lock is None:
        yield
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    key = id(object())
    try:
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                _turn_waits.setdefault(key, started)
                _report_busy(base_url, time.monotonic() - started)
                await asyncio.sleep(_TURN_POLL_S)
        _turn_waits.pop(key, None)
        yield
    finally:
        _turn_waits.pop(key, None)
        os.close(fd)  # releases the lock


def _report_busy(base_url: str, waited: float) -> None:
    global _last_busy_log
    now = time.monotonic()
    if waited >= BUSY_NOTICE_S and now - _last_busy_log >= _BUSY_LOG_EVERY_S:
        _last_busy_log = now
        log.warning(
            "the model server at %s is busy with another process's requests: a request has waited "
            "%.0f s for its turn (waiting here, not in the server, so its timeout is not running)",
            base_url,
            waited,
        )


def _parse(body: str, *, started: float, attempts: int) -> ChatResult:
    """The completion in ``body``; ``ModelMisbehaviour`` if it is not JSON or has no choices."""
    try:
        data = json.loads(body)
        choices = tuple(
            Choice(
                text=c["message"].get("content") or "",
                finish_reason=c.get("finish_reason"),
                **_token_details(c),
            )
            for c in data["choices"]
        )
        usage = data.get("usage") or {}
        tokens = {k: int(usage.get(k) or 0) for k in _USAGE_KEYS}
        model = str(data.get("model", ""))
        prompt_ids = data.get("prompt_token_ids")
        prompt_ids = tuple(int(i) for i in prompt_ids) if isinstance(prompt_ids, list) else None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ModelMisbehaviour(f"endpoint sent an unreadable completion: {exc!r}", body=body) from exc
    if not choices:
        raise ModelMisbehaviour("endpoint sent a completion without choices", body=body)
    latency = time.perf_counter() - started
    return ChatResult(
        choices=choices,
        model=model,
        usage=Usage(**tokens),
        latency_s=latency,
        attempts=attempts,
        prompt_token_ids=prompt_ids,
    )


def _token_details(choice: dict[str, Any]) -> dict[str, Any]:
    """A choice's token ids and logprobs, from whichever form the endpoint used: vLLM's
    ``token_ids`` (``return_token_ids``), OpenAI's ``logprobs.content[].logprob``, and ids from
    llama.cpp's ``logprobs.content[].id`` or vLLM's ``token_id:N`` tokens. Absent ones are None."""
    content = (choice.get("logprobs") or {}).get("content") or []
    logprobs = tuple(float(t["logprob"]) for t in content) or None
    ids = choice.get("token_ids")
    if isinstance(ids, list):
        return {"token_ids": tuple(int(i) for i in ids), "logprobs": logprobs}
    if content and all(isinstance(t.get("id"), int) for t in content):
        return {"token_ids": tuple(t["id"] for t in content), "logprobs": logprobs}
    if content and all(str(t.get("token", "")).startswith("token_id:") for t in content):
        return {"token_ids": tuple(int(t["token"][9:]) for t in content), "logprobs": logprobs}
    return {"token_ids": None, "logprobs": logprobs}
