"""A verl adapter: ``RepairAgentLoop``, a verl agent loop whose rollouts are repair episodes.

Written against verl 0.9.1 (the release on PyPI): ``verl/experimental/agent_loop/agent_loop.py``
(``AgentLoopBase``, ``AgentLoopOutput``, ``register``; loops named in
``actor_rollout_ref.rollout.agent.agent_loop_config_path`` are built with
``hydra.utils.instantiate``, with the entry's other keys as keyword arguments) and its two loops
in the same folder, ``single_turn_agent_loop.py`` and ``tool_agent_loop.py``, whose token
bookkeeping this follows (``ct_build_initial_tokens``, ``ct_merge_assistant_token``,
``ct_merge_context_msg``: verl's "continuous token" builder,
``verl/utils/tokenizer/continuous_token.py``). verl 0.9.1 has no ``verl/interactions``
(``BaseInteraction`` was removed in verl PR #6074), which codemend's earlier adapter used.

Each ``run`` is one episode of ``RepairEnv`` over the row's problem (the ``ground_truth`` of a
codemend ``rl`` export row, read from ``reward_model``): the prompt tokens are the environment's
first observation; each turn asks the ``server_manager`` for tokens (mask 1, with their
logprobs when the server returns them), decodes them, steps the environment, and appends the
critic's feedback as environment tokens (mask 0). ``reward_score`` is the episode's return (the
sum of its turn rewards: with the default ``final`` mode, the best attempt's hidden-test score),
so verl's reward function is not called for these rows; ``extra_fields`` carries
``turn_scores`` (verl's key: the turn rewards), ``stop_reason`` and ``error``. When the next
feedback would not fit ``rollout.response_length`` the episode stops the graph's own way
(``context_length``) and is still scored on the hidden tests.

A row that is not codemend's, or another episode error of the row's making, ends that episode
only: an empty response, ``reward_score`` 0 and the message in ``extra_fields["error"]`` (its
response has no token to train on); the other episodes of the batch go on. A sandbox that fails
raises, as in the rest of codemend: it is not the model's wrong answer.

verl builds agent loops in its own workers, so the loop is named in an agent loop config file
(``actor_rollout_ref.rollout.agent.agent_loop_config_path``; README, "RL training")::

    - name: codemend_repair
      _target_: codemend.env.verl.RepairAgentLoop
      max_turns: 3            # optional: EnvConfig / EnvRewards settings
      reward_mode: final
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from codemend.agents import ExtraConstraint, FeedbackMode
from codemend.env.core import ChatMessages, EnvConfig, RepairEnv, chat
from codemend.env.rewards import EnvRewards, RewardMode
from codemend.env.rows import problem_from_row
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox.shared import shared_sandbox

try:
    from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput, register
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(
        f"codemend.env.verl needs verl ({exc}): pip install 'codemend[verl]' (in an environment of its "
        "own: verl 0.9.1 pins transformers<5.11)"
    ) from exc

__all__ = ["AGENT_NAME", "RepairAgentLoop"]

AGENT_NAME = "codemend_repair"


@register(AGENT_NAME)
class RepairAgentLoop(AgentLoopBase):
    """One repair episode per ``run``, on the process's shared sandbox pool."""

    def __init__(
        self,
        *args: Any,
        max_turns: int = 3,
        reward_mode: RewardMode = "final",
        discount: float = 0.9,
        constraint_weight: float = 0.0,
        component_weights: dict[str, float] | None = None,
        constraints: tuple[ExtraConstraint, ...] = (),
        feedback: FeedbackMode = "tests",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        rewards = EnvRewards(
            mode=reward_mode,
            discount=discount,
            constraint_weight=constraint_weight,
            component_weights=dict(component_weights or {}),
        )
        # "full": every observation continues the conversation, so the tokens only ever grow
        self.env_config = EnvConfig(
            max_turns=max_turns,
            rewards=rewards,
            history="full",
            constraints=tuple(constraints),
            feedback=feedback,
        )
        self.response_length = int(self.rollout_config.response_length)

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """One episode for verl's dataset row (``kwargs``); a row that names no problem, or an episode
        stopped by a user error, is a failed output with the error rather than an exception."""
        try:
            problem = problem_from_row(kwargs)
        except UserError as exc:
            return await self._failed(kwargs, str(exc), sampling_params)
        episode = _Episode(self, problem)
        try:
            return await episode.play(sampling_params)
        except UserError as exc:
            return await self._failed(kwargs, str(exc), sampling_params)
        finally:
            await episode.env.aclose()

    async def _failed(self, row: dict[str, Any], error: str, params: dict[str, Any]) -> AgentLoopOutput:
        """The output of an episode that could not run: the row's prompt and no response (with
        empty logprobs when the batch asks for them, so it stacks with the others)."""
        prompt = chat(list(row.get("raw_prompt") or []))
        ids = await self.ct_build_initial_tokens(prompt) if prompt else []
        return AgentLoopOutput(
            prompt_ids=ids,
            response_ids=[],
            response_mask=[],
            response_logprobs=[] if params.get("logprobs") else None,
            reward_score=0.0,
            num_turns=1,
            metrics={},
            extra_fields={"turn_scores": [], "tool_rewards": [], "stop_reason": None, "error": error},
        )


class _Episode:
    """The token stream of one episode: prompt, then generated (mask 1) and feedback (mask 0)."""

    def __init__(self, loop: RepairAgentLoop, problem: Problem) -> None:
        self.loop = loop
        self.env = RepairEnv(problem, sandbox=shared_sandbox(), config=loop.env_config, fits=self.fits)
        self.ids: list[int] = []
        self.prompt_length = 0
        self.mask: list[int] = []
        self.logprobs: list[float] | None = None
        self.before: ChatMessages | None = None
        """The conversation up to the latest reply (what the next feedback is appended to)."""

    def fits(self, prompt: list[Any]) -> bool:
        """Whether the feedback the graph is about to send fits ``response_length`` with room
        for one more generated token (checked by the environment before each prompt)."""
        if self.before is None:  # the first prompt: verl caps prompts itself
            return True
        added = self.loop.continuous_token_builder.tokenize_context_incremental_messages(
            self.before, chat(prompt)
        )
        return len(self.mask) + len(added) < self.loop.response_length

    async def play(self, sampling_params: dict[str, Any]) -> AgentLoopOutput:
        loop = self.loop
        messages = await self.env.reset()
        self.ids = await loop.ct_build_initial_tokens(messages)
        self.prompt_length = len(self.ids)
        request_id, rewards = uuid4().hex, []
        metrics: dict[str, Any] = {}
        while True:
            out = await loop.server_manager.generate(
                request_id=request_id, prompt_ids=self.ids, sampling_params=sampling_params
            )
            await self._add_reply(list(out.token_ids), out.log_probs)
            text = loop.tokenizer.decode(out.token_ids, skip_special_tokens=True)
            self.before = [*messages, {"role": "assistant", "content": text}]
            step = await self.env.step(text, tokens_in=len(self.ids), tokens_out=len(out.token_ids))
            rewards.append(step.reward)
            if step.done:
                break
            messages = [*self.before, *step.new_messages]
            await self._add_feedback(messages)
        return self._output(rewards, step.stop_reason, metrics)

    async def _add_reply(self, token_ids: list[int], logprobs: list[float] | None) -> None:
        keep = self.logprobs if (self.logprobs is not None or logprobs) else None
        if keep is None and logprobs:
            keep = []
        merged, self.mask, self.logprobs = await self.loop.ct_merge_assistant_token(
            self.ids, token_ids, self.mask, keep, assistant_logprobs=logprobs or None
        )
        self.ids = merged.token_ids

    async def _add_feedback(self, messages: ChatMessages) -> None:
        assert self.before is not None
        merged, self.mask, self.logprobs = await self.loop.ct_merge_context_msg(
            self.before, messages, self.ids, self.mask, self.logprobs
        )
        self.ids = merged.token_ids

    def _output(self, rewards: list[float], stop: str | None, metrics: dict[str, Any]) -> AgentLoopOutput:
        limit = self.loop.response_length
        response = self.ids[self.prompt_length :]
        return AgentLoopOutput(
            prompt_ids=self.ids[: self.prompt_length],
            response_ids=response[:limit],
            response_mask=self.mask[:limit],
            response_logprobs=self.logprobs[:limit] if self.logprobs else None,
            reward_score=float(sum(rewards)),
            num_turns=2 * len(rewards),  # the first prompt, each reply and each feedback between
            metrics=metrics,
            extra_fields={"turn_scores": rewards, "tool_rewards": [], "stop_reason": stop, "error": None},
        )
