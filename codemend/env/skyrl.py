"""A SkyRL-gym adapter: ``BaseTextEnv``'s ``init(prompt) -> (messages, metadata)`` and
``step(action) -> BaseTextEnvStepOutput(observations, reward, done, metadata)``.

Written against ``skyrl-gym/skyrl_gym/envs/base_text_env.py`` (NovaSky-AI/SkyRL): the
constructor takes ``(env_config, extras)`` with the row's ``reward_spec.ground_truth`` in
``extras``, as its multi-turn GSM8k environment does; ``observations`` are the messages SkyRL
appends to the conversation. SkyRL is not installed here (it needs GPUs and Ray), so this class
is duck-typed, not a subclass, and the output is the plain dict ``BaseTextEnvStepOutput`` (a
TypedDict) describes; register it with
``skyrl_gym.envs.register(id="codemend_repair", entry_point="codemend.env.skyrl:SkyRLRepairEnv")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemend.env.core import ChatMessages, EnvConfig, RepairEnv
from codemend.env.rewards import EnvRewards
from codemend.env.rows import problem_from_row, shared_sandbox
from codemend.env.sync import SyncRepairEnv
from codemend.sandbox import Sandbox


def config_from(env_config: Mapping[str, Any] | None) -> EnvConfig:
    """``max_turns``, ``reward_mode``, ``discount``, ``constraint_weight``, ``history`` from a
    framework's config mapping (absent keys keep the defaults)."""
    given = dict(env_config or {})
    rewards = EnvRewards(
        mode=given.get("reward_mode", "final"),
        discount=float(given.get("discount", 0.9)),
        constraint_weight=float(given.get("constraint_weight", 0.0)),
    )
    return EnvConfig(
        max_turns=int(given.get("max_turns", 3)), rewards=rewards, history=given.get("history", "full")
    )


class SkyRLRepairEnv:
    """One episode of the repair loop per instance, as SkyRL creates them (one per rollout)."""

    def __init__(
        self,
        env_config: Mapping[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
        *,
        sandbox: Sandbox | None = None,
    ) -> None:
        extras = extras or {}
        self.problem = problem_from_row(extras)
        self.turns = 0
        self.config = config_from(env_config)
        self.max_turns = self.config.max_turns
        inner = RepairEnv(self.problem, sandbox=sandbox or shared_sandbox(), config=self.config)
        self._env = SyncRepairEnv(inner)

    def init(self, prompt: ChatMessages) -> tuple[ChatMessages, dict[str, Any]]:
        """The environment's own first prompt (the row's ``prompt`` is replaced by it, so the
        conversation is the one the repair loop continues)."""
        return self._env.reset(), {"problem_id": self.problem.id}

    def step(self, action: str) -> dict[str, Any]:
        self.turns += 1
        result = self._env.step(action)
        return {
            "observations": result.new_messages,
            "reward": result.reward,
            "done": result.done,
            "metadata": result.info,
            "postprocessed_action": None,
        }

    def close(self) -> None:
        self._env.close()
