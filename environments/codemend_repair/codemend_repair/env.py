"""One task, one repair episode: the model answers, codemend's critic answers back.

Written against verifiers 0.4.0 (``verifiers/v1/env.py``: ``Env.run(task, agents)``, whose
exception is that episode's error and never the run's; ``verifiers/v1/agent.py``:
``agent.interaction(task)``, ``Interaction.turn(message) -> Segment``;
``verifiers/v1/tasksets/textarena/taskset.py`` drives a game engine the same way). The model's
reply of each segment is the action of a ``codemend.env.RowEpisode``; the critic's feedback (the
visible tests' failures) is the next user turn; when the repair loop stops, the hidden tests
have scored the final code in codemend's sandbox. The trace records the episode's reward
(``rewards["repair"]``, the sum of the turn rewards), ``info["turn_rewards"]`` and
``info["stop_reason"]``, and the metrics ``turns``, ``final_reward`` and ``hidden_passed``.

The model's code runs only in codemend's sandbox: a harness that would execute code itself (such
as verifiers' ``bash``) is refused. Bad rows and replies end their own episode (``RowEpisode``);
a sandbox failure raises ``InfrastructureError``, an error of the episode, never a score.
"""

from __future__ import annotations

from typing import Any

import verifiers.v1 as vf

from codemend.env import RowEpisode
from codemend.errors import UserError
from codemend_repair.taskset import RepairTask, RepairTasksetConfig

TASKSET_ID = "codemend-repair"


class RepairEnvConfig(vf.EnvConfig):
    """``--env.*``: the one seat, ``agent`` (the policy), on this machine by default."""

    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())


class VerifiersRepairEnv(vf.Env[RepairEnvConfig]):
    def __init__(self, config: RepairEnvConfig) -> None:
        super().__init__(config)
        for name, harness in self._harnesses.items():
            if harness.EXECUTES_CODE:
                raise UserError(
                    f"the {name!r} seat's harness {harness.config.id!r} executes code; codemend-repair "
                    "runs model code only in codemend's sandbox: use its own harness (the default) or null"
                )

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        if not isinstance(task, RepairTask) or not isinstance(self.taskset.config, RepairTasksetConfig):
            raise UserError("codemend-repair runs its own taskset's tasks")
        config = self.taskset.config.episode_config()
        episode = RowEpisode({"ground_truth": task.data.ground_truth}, config=config)
        first = await episode.reset()
        if first is None:
            raise UserError(f"task {task.data.name}: {episode.error}")
        try:
            if _as_chat(task.data.prompt) != first:
                raise UserError(f"task {task.data.name}: its prompt is not the episode's first observation")
            async with agents.agent.interaction(task) as interaction:
                segment = await interaction.turn()
                while not segment.terminated:
                    result = await episode.step(segment.last_reply)
                    if result.done:
                        break
                    segment = await interaction.turn(result.new_messages)
        finally:
            await episode.aclose()
        _record(interaction.trace, episode)


def _as_chat(prompt: Any) -> list[dict[str, str]]:
    """A task's prompt as the environment's chat messages."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m.role, "content": str(m.content)} for m in prompt or []]


def _record(trace: vf.Trace, episode: RowEpisode) -> None:
    info = episode.info
    trace.info["turn_rewards"] = list(episode.turn_rewards)
    trace.info["stop_reason"] = info.get("stop_reason") if episode.done else "agent_stopped"
    trace.record_metric("turns", len(episode.turn_rewards))
    if not episode.done:  # the agent's run ended first (a limit, an error): nothing was scored
        return
    trace.record_reward("repair", episode.reward)
    trace.record_metric("final_reward", float(info.get("final_reward") or 0.0))
    trace.record_metric("hidden_passed", 1.0 if info.get("hidden_passed") else 0.0)


def load_environment(**kwargs: Any) -> VerifiersRepairEnv:
    """The hub-style entry: taskset settings (``data``, ``max_turns``, ``reward_mode``,
    ``discount``, ``constraint_weight``, ``component_weights``, ``constraints``, ``feedback``) as
    keyword arguments, the environment out."""
    taskset = RepairTasksetConfig(id=TASKSET_ID, **kwargs)
    return VerifiersRepairEnv(RepairEnvConfig(taskset=taskset))
