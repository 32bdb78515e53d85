"""A verl adapter: a ``BaseInteraction`` for verl's ``tool_agent`` agent loop.

Written against ``verl/interactions/base.py`` and ``verl/experimental/agent_loop/
tool_agent_loop.py`` (volcengine/verl): the loop calls ``start_interaction(request_id,
**interaction_kwargs)`` with the row's ``extra_info.interaction_kwargs``, then after each
assistant turn ``generate_response(request_id, messages, **interaction_kwargs) -> (should_terminate,
response_content, turn_score, extra)``; it appends the response as a user turn with
``response_mask`` 0 and collects the scores in ``extra_fields["turn_scores"]``.

Why an interaction rather than an ``AgentLoopBase``: the critic's feedback *is* the user turn an
interaction supplies, and the ``tool_agent`` loop already does the token bookkeeping (prompt and
response ids, masks, limits) with verl's rollout server; a verl user registers it in an
interaction config (``name: codemend_repair``, ``class_name: codemend.env.verl.CodemendInteraction``)
with no generation code of their own. An agent loop would re-implement that loop.

verl is not installed here (it needs GPUs and Ray): the class is duck-typed on the documented
interface, not a subclass of ``BaseInteraction``. The row's ``interaction_kwargs`` must carry
the ``ground_truth`` of a codemend ``rl`` export; the trajectory reward verl trains on is still
its reward function's (``codemend.rewards.compute_score``), the turn scores ride along.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from codemend.env.core import RepairEnv
from codemend.env.rows import problem_from_row, shared_sandbox
from codemend.env.skyrl import config_from
from codemend.errors import UserError


class CodemendInteraction:
    """One ``RepairEnv`` per rollout (``instance_id``), sharing one sandbox pool."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.name: str = config.get("name", "codemend_repair")
        self.env_config = config_from(config)
        self.sandbox = config.get("sandbox") or shared_sandbox()
        self._envs: dict[str, RepairEnv] = {}
        self._totals: dict[str, float] = {}
        self.first_prompts: dict[str, list[dict[str, str]]] = {}

    async def start_interaction(self, instance_id: str | None = None, **kwargs: Any) -> str:
        instance_id = instance_id or uuid4().hex
        env = RepairEnv(problem_from_row(kwargs), sandbox=self.sandbox, config=self.env_config)
        self.first_prompts[instance_id] = await env.reset()
        self._envs[instance_id], self._totals[instance_id] = env, 0.0
        return instance_id

    async def generate_response(
        self, instance_id: str, messages: list[dict[str, Any]], **kwargs: Any
    ) -> tuple[bool, str, float, dict[str, Any]]:
        env = self._envs.get(instance_id)
        if env is None:
            raise UserError(f"no interaction {instance_id!r}: start_interaction first")
        replies = [m for m in messages if m.get("role") == "assistant"]
        action = str(replies[-1].get("content") or "") if replies else ""
        result = await env.step(action)
        self._totals[instance_id] += result.reward
        text = "\n\n".join(m["content"] for m in result.new_messages)
        extra = {"stop_reason": result.stop_reason, "turn": result.info["turn"]}
        extra["reward_components"] = result.info["reward_components"]
        return result.done, text, result.reward, extra

    async def calculate_score(self, instance_id: str | None = None, **kwargs: Any) -> float:
        return self._totals.get(instance_id or "", 0.0)

    async def finalize_interaction(self, instance_id: str | None = None, **kwargs: Any) -> None:
        env = self._envs.pop(instance_id or "", None)
        self._totals.pop(instance_id or "", None)
        self.first_prompts.pop(instance_id or "", None)
        if env is not None:
            await env.aclose()
