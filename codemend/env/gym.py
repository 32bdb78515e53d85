"""A Gymnasium-style adapter: ``reset(seed) -> (obs, info)`` and
``step(action) -> (obs, reward, terminated, truncated, info)``.

The signatures are Gymnasium's ``Env`` API (gymnasium ``core.py``); the class does not
subclass ``gymnasium.Env`` (gymnasium is not a dependency; text observations have no ``Space``).
An observation is the prompt as chat messages; ``terminated`` is true for the stops that end the
task (``solved``, ``no_progress``), ``truncated`` for the limits (``max_rounds``,
``context_length``, budgets).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from codemend.env.core import ChatMessages, EnvConfig, RepairEnv
from codemend.env.sync import SyncRepairEnv
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox import Sandbox
from codemend.sandbox.shared import shared_sandbox
from codemend.trajectories import AsyncTrajectoryStore


class GymRepairEnv:
    """Episodes over ``problems``: ``reset(seed=s)`` picks one at random with seed ``s``, or
    ``options={"index": i}`` the i-th."""

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        sandbox: Sandbox | None = None,
        config: EnvConfig | None = None,
        store: AsyncTrajectoryStore | None = None,
        run_id: str = "env",
    ) -> None:
        if not problems:
            raise UserError("GymRepairEnv needs at least one problem")
        self.problems = list(problems)
        self.sandbox = sandbox or shared_sandbox()
        self.config = config or EnvConfig()
        self.store = store
        self.run_id = run_id
        self._rng = random.Random()
        self._env: SyncRepairEnv | None = None
        self._episodes = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ChatMessages, dict[str, Any]]:
        """Start an episode on ``options["index"]``'s problem (default: one drawn at random, ``seed``
        reseeding the draw); the first observation and ``{"problem_id", "index"}``."""
        if seed is not None:
            self._rng.seed(seed)
        index = (options or {}).get("index")
        if index is None:
            index = self._rng.randrange(len(self.problems))
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.problems):
            raise UserError(
                f"reset(options={{'index': {index!r}}}): the index must be an int from 0 to "
                f"{len(self.problems) - 1} ({len(self.problems)} problem(s))"
            )
        problem = self.problems[index]
        if self._env is not None:
            self._env.close()
        inner = RepairEnv(
            problem,
            sandbox=self.sandbox,
            config=self.config,
            store=self.store,
            run_id=self.run_id,
            sample_index=self._episodes,
        )
        self._episodes += 1
        self._env = SyncRepairEnv(inner)
        return self._env.reset(), {"problem_id": problem.id, "index": index}

    def step(self, action: str) -> tuple[ChatMessages, float, bool, bool, dict[str, Any]]:
        """Gymnasium's ``(observation, reward, terminated, truncated, info)`` for the policy's reply;
        ``UserError`` before ``reset``."""
        if self._env is None:
            raise UserError("step() needs reset() first")
        result = self._env.step(action)
        return result.observation, result.reward, result.terminated, result.truncated, result.info

    def close(self) -> None:
        """End the running episode, if any."""
        if self._env is not None:
            self._env.close()
            self._env = None
