"""The values the LLM client takes and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from typing_extensions import TypedDict, Unpack

from codemend.records import Message

__all__ = ["ChatInput", "ChatModel", "ChatResult", "Choice", "Message", "SamplingParams", "Usage"]

# What ``LLMClient.chat`` takes: ``Message``s, or the same as plain ``{"role", "content"}`` dicts.
ChatInput = Message | Mapping[str, str]


class SamplingParams(TypedDict, total=False):
    """Sampling knobs passed through to the endpoint; unset keys use the endpoint's defaults."""

    temperature: float
    top_p: float
    max_tokens: int
    stop: str | list[str]
    seed: int
    n: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    text: str
    finish_reason: str | None
    """``"stop"``, ``"length"`` (cut off by ``max_tokens``), ... as the endpoint reported it."""
    token_ids: tuple[int, ...] | None = None
    """The completion's token ids, when the endpoint returned them."""
    logprobs: tuple[float, ...] | None = None
    """The sampled tokens' logprobs, when the endpoint returned them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatResult:
    """One chat completion: ``n`` choices, the tokens they cost and how long they took."""

    choices: tuple[Choice, ...]
    model: str
    usage: Usage
    latency_s: float
    """Wall time of the call, retries and waits included."""
    attempts: int
    prompt_token_ids: tuple[int, ...] | None = None
    """The prompt as the endpoint tokenized it (chat template applied), when it said."""

    @property
    def text(self) -> str:
        """The first choice's text."""
        return self.choices[0].text

    @property
    def texts(self) -> list[str]:
        """Every choice's text, in order."""
        return [choice.text for choice in self.choices]

    @property
    def finish_reason(self) -> str | None:
        """The first choice's finish reason (``stop``, ``length``...), if the endpoint gave one."""
        return self.choices[0].finish_reason


@runtime_checkable
class ChatModel(Protocol):
    """What the agents need of a model: a name and chat completions. ``LLMClient`` (an HTTP
    endpoint) and the environment's ``PolicyChannel`` (the policy being trained) implement it."""

    model: str

    async def chat(
        self, messages: Sequence[ChatInput], *, model: str | None = None, **params: Unpack[SamplingParams]
    ) -> ChatResult:
        """One chat completion of ``messages`` by ``model`` (default: ``self.model``);
        ``ContextLengthExceeded`` for a prompt that does not fit, ``InfrastructureError`` for a
        model that cannot answer."""
        ...
