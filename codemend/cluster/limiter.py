"""One rate limit per model endpoint across the cluster: a named async actor holding leases.

Every runner's client takes a lease before a chat request (its retries included) and returns it
after, so the whole cluster keeps at most ``max_concurrency`` requests in flight at one endpoint,
however many nodes run trajectories. A holder renews its lease every ``LEASE_S / 3`` while its
request runs; the lease of a holder that died (a lost node, a killed driver's runners) expires
``LEASE_S`` later, so nothing shrinks the limit for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import time
from collections.abc import Sequence
from typing import Any

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from typing_extensions import Unpack

from codemend.cluster.connect import NAMESPACE
from codemend.errors import InfrastructureError
from codemend.llm import ChatResult, LLMClient, LLMSettings, SamplingParams
from codemend.llm.types import ChatInput

LEASE_S = 10.0


class EndpointLimiter:
    """At most ``limit`` leases out at once (the limit each caller gives: a request waits while
    that many are out, whoever holds them)."""

    def __init__(self) -> None:
        self._leases: dict[int, float] = {}  # token -> expiry (monotonic)
        self._tokens = itertools.count()
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def _expire(self) -> float | None:
        """Drop expired leases; the seconds until the next expiry (None: no lease out)."""
        now = time.monotonic()
        for token, until in list(self._leases.items()):
            if until <= now:
                del self._leases[token]
        return min(self._leases.values()) - now if self._leases else None

    async def acquire(self, limit: int, lease_s: float) -> int:
        """Wait until fewer than ``limit`` leases are out, then take one for ``lease_s`` seconds;
        its token (for ``renew`` and ``release``)."""
        changed = self._condition()
        async with changed:
            while True:
                next_expiry = self._expire()
                if len(self._leases) < limit:
                    break
                try:
                    await asyncio.wait_for(changed.wait(), timeout=next_expiry)
                except TimeoutError:
                    continue
            token = next(self._tokens)
            self._leases[token] = time.monotonic() + lease_s
            return token

    async def renew(self, token: int, lease_s: float) -> bool:
        """Extend a lease still held; False when it already expired (its slot was given away)."""
        if token not in self._leases:
            return False
        self._leases[token] = time.monotonic() + lease_s
        return True

    async def release(self, token: int) -> None:
        """Return the lease ``token`` (one already expired: nothing happens) and wake the waiters."""
        changed = self._condition()
        async with changed:
            self._leases.pop(token, None)
            changed.notify_all()

    async def in_flight(self) -> int:
        """The leases out now, expired ones dropped."""
        self._expire()
        return len(self._leases)


def limiter_name(base_url: str) -> str:
    """The Ray actor name of ``base_url``'s limiter (from a hash of the URL: one actor per endpoint)."""
    return "codemend-endpoint-" + hashlib.sha256(base_url.encode()).hexdigest()[:16]


def limiter_for(base_url: str) -> Any:
    """The cluster's limiter of ``base_url`` (created on first use, next to this driver when it can
    be, restarted elsewhere if its node dies, kept until the cluster stops)."""
    actor = ray.remote(EndpointLimiter).options(
        name=limiter_name(base_url),
        namespace=NAMESPACE,
        get_if_exists=True,
        lifetime="detached",
        num_cpus=0,
        max_restarts=-1,
        max_task_retries=-1,
        scheduling_strategy=NodeAffinitySchedulingStrategy(
            ray.get_runtime_context().get_node_id(), soft=True
        ),
    )
    return actor.remote()


class LimitedClient(LLMClient):
    """An ``LLMClient`` that also holds a lease of the endpoint's cluster-wide limiter per request."""

    def __init__(self, settings: LLMSettings, limiter: Any) -> None:
        super().__init__(settings)
        self.limiter = limiter

    async def chat(
        self, messages: Sequence[ChatInput], *, model: str | None = None, **params: Unpack[SamplingParams]
    ) -> ChatResult:
        """``LLMClient.chat`` holding a lease of the endpoint's limiter, renewed while the request and
        its retries run; ``InfrastructureError`` when the limiter cannot be reached."""
        try:
            token = await self.limiter.acquire.remote(self.settings.max_concurrency, LEASE_S)
        except RayError as exc:
            raise InfrastructureError(
                f"the cluster's rate limiter for {self.base_url} failed: {exc}"
            ) from None
        renewing = asyncio.create_task(self._renew(token))
        try:
            return await super().chat(messages, model=model, **params)
        finally:
            renewing.cancel()
            self.limiter.release.remote(token)  # not awaited: the lease expires anyway if this is lost

    async def _renew(self, token: int) -> None:
        with contextlib.suppress(RayError):
            while True:
                await asyncio.sleep(LEASE_S / 3)
                await self.limiter.renew.remote(token, LEASE_S)
