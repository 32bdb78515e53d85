"""The generator's endpoint inside an environment: the policy being trained.

The repair graph asks its generator's model (a ``ChatModel``) for a chat completion; here that request
is handed to whoever drives the environment (it is the next observation) and the completion is
the action passed to ``step``. The graph's nodes run unchanged around it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from typing_extensions import Unpack

from codemend.errors import ContextLengthExceeded
from codemend.llm import ChatInput, ChatResult, Choice, SamplingParams, Usage

FitsFn = Callable[[list[ChatInput]], bool]
"""Whether a prompt still fits the policy's context; False stops the episode with
``context_length``, the graph's own stop."""


@dataclass(slots=True, kw_only=True)
class Request:
    """A prompt waiting for the policy's answer."""

    messages: list[ChatInput]
    params: SamplingParams
    answer: asyncio.Future[tuple[str, Usage]]
    asked_at: float = field(default_factory=time.perf_counter)


class PolicyChannel:
    """A ``ChatModel`` (what the generator needs of a model) whose replies come from
    ``step(action)`` instead of an HTTP endpoint: it opens no connection."""

    def __init__(self, *, model: str = "policy", fits: FitsFn | None = None) -> None:
        self.model = model
        self.usage = Usage()
        self.requests = 0
        self.fits = fits
        self.pending: asyncio.Queue[Request] = asyncio.Queue()

    async def chat(
        self, messages: Sequence[ChatInput], *, model: str | None = None, **params: Unpack[SamplingParams]
    ) -> ChatResult:
        """Queue the prompt in ``pending`` and wait for the policy's reply (the action given to
        ``step``); ``ContextLengthExceeded`` when ``fits`` says the prompt does not fit."""
        prompt = list(messages)
        if self.fits is not None and not self.fits(prompt):
            raise ContextLengthExceeded("the prompt does not fit the policy's context")
        request = Request(messages=prompt, params=params, answer=asyncio.get_running_loop().create_future())
        await self.pending.put(request)
        text, usage = await request.answer
        self.usage += usage
        self.requests += 1
        return ChatResult(
            choices=(Choice(text=text, finish_reason="stop"),),
            model=self.model,
            usage=usage,
            latency_s=time.perf_counter() - request.asked_at,
            attempts=1,
        )

    async def aclose(self) -> None:
        """Nothing to close."""
