"""Which endpoint failures are worth retrying, and how long to wait before the next try.

``tenacity`` owns the retry loop (the openai SDK's own retries are off): 429, 5xx, timeouts and
dropped connections are retried with full-jitter exponential backoff, or after exactly the
server's ``Retry-After`` when it sent one, until the attempt or time budget runs out.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from codemend.errors import ContextLengthExceeded, ProviderError, RetriesExhausted
from codemend.settings import LLMSettings

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_RETRYABLE_STATUS = frozenset({408, 429})
# How OpenAI, vLLM, llama-cpp-python and llama.cpp's own server say a request is too long.
_CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
_CONTEXT_TEXT = re.compile(
    r"maximum context length|context window|context size|context_length_exceeded|prompt is too long", re.I
)


class Transient(Exception):
    """A failure worth another try; carries what the caller gets if no try succeeds."""

    def __init__(self, error: ProviderError, *, retry_after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def translate(exc: openai.APIError) -> ProviderError | ContextLengthExceeded | Transient:
    """Map an SDK error to ours: a ``Transient`` to retry, or a ``ProviderError`` (or
    ``ContextLengthExceeded``, which no retry can help) to raise."""
    if isinstance(exc, openai.APITimeoutError):
        return Transient(ProviderError("request timed out"))
    if isinstance(exc, openai.APIConnectionError):
        return Transient(ProviderError(f"connection failed: {exc.__cause__ or exc}"))
    if isinstance(exc, openai.APIStatusError):
        status, body = exc.status_code, exc.response.text
        error = ProviderError(f"HTTP {status} from endpoint: {_short(body)}", status=status, body=body)
        if status in _RETRYABLE_STATUS or status >= 500:
            return Transient(error, retry_after=parse_retry_after(exc.response.headers))
        if status in (400, 413) and _too_long(exc.body, body):
            return ContextLengthExceeded(
                f"the request does not fit the model's context (HTTP {status}): {_short(body)}",
                status=status,
                body=body,
            )
        return error
    return ProviderError(f"{type(exc).__name__}: {exc}")


def _too_long(parsed: object, text: str) -> bool:
    """Whether an HTTP 400/413 says the prompt plus ``max_tokens`` exceeds the context."""
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    if isinstance(error, dict) and any(str(error.get(k)) in _CONTEXT_CODES for k in ("code", "type")):
        return True
    return bool(_CONTEXT_TEXT.search(text))


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if (millis := _float(headers.get("retry-after-ms"))) is not None:
        return max(millis / 1000, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    if (seconds := _float(raw)) is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _short(body: str, limit: int = 300) -> str:
    body = " ".join(body.split())
    return body if len(body) <= limit else body[:limit] + "..."


class _Wait:
    """Honour the server's Retry-After; otherwise full-jitter exponential backoff."""

    def __init__(self, settings: LLMSettings):
        self._backoff = wait_random_exponential(
            multiplier=settings.backoff_initial_s, max=settings.backoff_max_s
        )

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)


def _announce(settings: LLMSettings, endpoint: str) -> Callable[[RetryCallState], None]:
    """One warning per retry: what failed, which try comes next and when."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "request to %s failed (%s); try %d of %d in %.1fs",
            endpoint,
            exc,
            state.attempt_number + 1,
            settings.max_attempts,
            wait,
        )

    return before_sleep


async def with_retries(
    settings: LLMSettings, attempt: Callable[[], Awaitable[_T]], *, endpoint: str = "the endpoint"
) -> _T:
    """Run ``attempt`` until it succeeds, raises a non-``Transient`` error or the budget is out.

    Each retry is logged as a warning. Raises ``RetriesExhausted`` (keeping the last status and
    body) when the budget runs out.
    """
    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.max_attempts) | stop_before_delay(settings.max_retry_time_s),
        wait=_Wait(settings),
        retry=retry_if_exception_type(Transient),
        before_sleep=_announce(settings, endpoint),
        reraise=False,
    )
    started = time.monotonic()
    try:
        return await retrying(attempt)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        assert isinstance(last, Transient)
        raise RetriesExhausted(
            str(last.error),
            attempts=exc.last_attempt.attempt_number,
            elapsed_s=time.monotonic() - started,
            status=last.error.status,
            body=last.error.body,
        ) from last.error
