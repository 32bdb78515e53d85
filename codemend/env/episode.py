"""``RowEpisode``: one repair episode built from a trainer's dataset row, for the adapters
whose framework drives the turns (SkyRL's generator, a verifiers ``Env.run``).

A framework runs many episodes in one worker, and an exception escaping one of them ends the
whole batch. So bad input ends *that* episode with an ``error`` instead of raising: a row that
names no codemend problem (no ``ground_truth`` of an ``rl`` export), a policy reply that is not
text, or a step after the episode ended. Such an episode's last step has reward 0, ``done``,
no stop reason and ``info["error"]``. Infrastructure still raises (``InfrastructureError``, a
sandbox that failed): it is no reply's fault and must never be scored as one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from codemend.env.core import ChatMessages, EnvConfig, EnvStep, RepairEnv
from codemend.env.rows import problem_from_row
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox import Sandbox
from codemend.sandbox.shared import shared_sandbox

log = logging.getLogger(__name__)


class RowEpisode:
    """The episode of ``row``'s problem (async; the sandbox defaults to the shared one)."""

    def __init__(
        self,
        row: Mapping[str, Any],
        *,
        sandbox: Sandbox | None = None,
        config: EnvConfig | None = None,
    ) -> None:
        self.config = config or EnvConfig()
        self.problem: Problem | None = None
        self.error: str | None = None
        self.done = False
        self.turn_rewards: list[float] = []
        self.info: dict[str, Any] = {}
        """The last turn's ``info`` (its stop reason, and once done the hidden-test result)."""
        self._sandbox = sandbox
        self._env: RepairEnv | None = None
        try:
            self.problem = problem_from_row(row)
        except UserError as exc:
            self.error = str(exc)

    @property
    def reward(self) -> float:
        """The episode's return: the sum of its turn rewards."""
        return sum(self.turn_rewards)

    async def reset(self) -> ChatMessages | None:
        """The first observation, or None when the row names no problem (``error`` says why)."""
        if self.problem is None:
            return None
        await self.aclose()
        self._env = RepairEnv(self.problem, sandbox=self._sandbox or shared_sandbox(), config=self.config)
        self.done, self.turn_rewards, self.info = False, [], {}
        return await self._env.reset()

    async def step(self, action: object) -> EnvStep:
        """Run one turn on ``action``; bad input ends the episode (see the module docstring)."""
        if self.done:
            return await self.fail("step() after the episode ended")
        if self.error is not None:
            return await self.fail(self.error)
        if not isinstance(action, str):
            return await self.fail(f"the policy's reply is {type(action).__name__}, not text")
        if self._env is None:
            return await self.fail("step() before reset()")
        result = await self._env.step(action)
        self.turn_rewards.append(result.reward)
        self.done, self.info = result.done, result.info
        return result

    async def fail(self, why: str) -> EnvStep:
        """End the episode with ``why`` as its error: reward 0, never an exception."""
        problem_id = self.problem.id if self.problem is not None else None
        log.warning("the repair episode of %s ended with an error: %s", problem_id, why)
        if self.error is None:
            self.error = why
        self.done = True
        await self.aclose()
        info = {"error": why, "problem_id": problem_id, "stop_reason": None}
        return EnvStep(observation=[], new_messages=[], reward=0.0, done=True, stop_reason=None, info=info)

    async def aclose(self) -> None:
        """End a running episode without storing it (idempotent)."""
        env, self._env = self._env, None
        if env is not None:
            await env.aclose()
