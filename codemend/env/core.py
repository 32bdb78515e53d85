"""``RepairEnv``: one problem's repair loop as a multi-turn text environment.

``reset()`` returns the first observation (the generate prompt as chat messages); each
``step(action)`` extracts the code from the action, runs the visible tests in the sandbox and
the critic, and returns the next observation (the repair prompt with the critic's feedback), a
reward, ``done`` and info. It is the repair graph itself, run with the policy as its generator's
endpoint (``PolicyChannel``): prompt rendering, code extraction, executor, critic, rewards and
the stop reasons (solved, max_rounds, no_progress, context_length) are the graph's own, and the
hidden tests run once, in its ``finish`` node, for the final reward. Many environments may run
at once in one event loop, sharing one sandbox pool.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from codemend.agents import (
    FEEDBACK_MODES,
    Critic,
    ExtraConstraint,
    FeedbackMode,
    History,
    ImportPolicy,
    extra_constraints,
    make_critic,
    make_generator,
    reward_function,
)
from codemend.env.policy import FitsFn, PolicyChannel, Request
from codemend.env.rewards import EnvRewards, TurnScore, shaped
from codemend.errors import ContextLengthExceeded, InfrastructureError, UserError
from codemend.graphs import Limits, RepairContext, build_context, run_repair, to_trajectory
from codemend.llm import Usage
from codemend.optimise import Correctness, Speed, baseline_note
from codemend.problems import Problem
from codemend.prompts import Prompts
from codemend.records import StepRecord, StopReason, TrajectoryRecord
from codemend.sandbox import Sandbox
from codemend.trajectories import AsyncTrajectoryStore, trajectory_id_for

ChatMessages = list[dict[str, str]]
TRUNCATING_STOPS: frozenset[StopReason] = frozenset(
    {"max_rounds", "token_budget", "time_budget", "context_length"}
)
"""Stops that cut an episode short (Gymnasium's ``truncated``); the others end it (``terminated``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvConfig:
    max_turns: int = 3
    """Attempts per episode: the first one and ``max_turns - 1`` repairs."""
    rewards: EnvRewards = field(default_factory=EnvRewards)
    history: History = "full"
    """``full``: each observation continues the conversation (what multi-turn trainers append);
    ``latest``: only the latest attempt and its feedback, as ``codemend solve`` sends."""
    step_reward: str = "pass_fraction"
    """The graph's per-step reward (``pass_fraction`` or ``constraint_score``)."""
    imports: ImportPolicy | str = "default"
    feedback: FeedbackMode = "tests"
    """``trace``: a failing turn's first failing visible test is traced and the trace joins the
    next observation's feedback (the candidate's own data: feedback only, never a reward)."""
    constraints: tuple[ExtraConstraint, ...] = ()
    """Constraints added to the critic's (``("security",)``: bandit's findings in the feedback,
    no "solved" with a high-severity one); weigh its reward component in ``rewards``."""
    prompts: Prompts | None = None
    objective: Correctness | Speed = field(default_factory=Correctness)
    """``Speed(...)``: episodes start from the reference solution and ask for faster code; the
    final reward is the gated speedup measured on the hidden workload (never on inputs the
    policy was shown)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_turns, bool) or not isinstance(self.max_turns, int) or self.max_turns < 1:
            raise UserError(f"max_turns must be an int, at least 1, got {self.max_turns!r}")
        if self.history not in ("full", "latest"):
            raise UserError(f"history must be 'full' or 'latest', got {self.history!r}")
        if self.feedback not in FEEDBACK_MODES:
            raise UserError(f"feedback must be one of {', '.join(FEEDBACK_MODES)}, got {self.feedback!r}")
        extra_constraints(self.constraints)
        if not isinstance(self.objective, Correctness | Speed):
            raise UserError(f"objective must be Correctness() or Speed(...), got {self.objective!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvStep:
    """What ``step`` returns."""

    observation: ChatMessages
    """The whole next prompt (empty once done)."""
    new_messages: ChatMessages
    """What the next prompt adds after the action's assistant message (with ``history="full"``),
    else the whole prompt; empty once done."""
    reward: float
    done: bool
    stop_reason: StopReason | None
    info: dict[str, Any]

    @property
    def truncated(self) -> bool:
        """The episode was cut short (a ``TRUNCATING_STOPS`` reason: turns, budget or context used up)."""
        return self.stop_reason in TRUNCATING_STOPS

    @property
    def terminated(self) -> bool:
        """The episode ended on its own (solved, no progress, an error), not cut short."""
        return self.done and not self.truncated


def chat(messages: list[Any]) -> ChatMessages:
    """Records' or the client's messages as plain chat dicts."""
    out = []
    for m in messages:
        role, content = (m["role"], m["content"]) if isinstance(m, dict) else (m.role, m.content)
        out.append({"role": str(role), "content": str(content)})
    return out


def first_observation(problem: Problem, config: EnvConfig | None = None) -> ChatMessages:
    """An episode's first prompt, rendered as the graph's ``generate`` node does, without one."""
    settings = config or EnvConfig()
    prompts = settings.prompts or Prompts.load()
    generator = make_generator(
        llm=PolicyChannel(),
        generate_prompt=prompts.generate,
        repair_prompt=prompts.repair,
        optimise_prompt=prompts.optimise,
    )
    objective, reference = settings.objective, problem.reference_solution
    if isinstance(objective, Speed) and reference is not None:
        note = baseline_note(problem, reference=True, method=objective.cost)
        return chat(generator.optimise_messages(problem, reference, note, None))
    return chat(generator.first_messages(problem))


MAX_ACTION_CHARS = 200_000
"""The longest reply a turn runs (as the LLM path caps prompts): a policy's runaway generation
is refused as such instead of being compiled, checked and sandboxed for minutes."""


def checked_action(action: object) -> str:
    """The action as text to run: a ``UserError`` for anything that is not a string, lone
    surrogates replaced (they cannot be encoded to reach the sandbox), an oversize reply replaced
    by a note saying so."""
    if not isinstance(action, str):
        raise UserError(f"step() takes the policy's reply as a string, got {type(action).__name__}")
    if len(action) > MAX_ACTION_CHARS:
        return oversize_note(len(action))
    return action.encode("utf-8", "replace").decode("utf-8")


def oversize_note(size: int) -> str:
    """What stands for a reply too long to run: a comment (so no code of it runs), saying why."""
    return (
        f"# a reply of {size:,} characters, over the {MAX_ACTION_CHARS:,} an episode takes: not run; "
        "answer with the code alone\n"
    )


class RepairEnv:
    """The repair loop over ``problem``, driven by ``reset``/``step`` (async).

    ``sandbox`` may be shared by many environments; ``critic`` defaults to the deterministic
    (``tests``) critic; ``fits`` tells whether a prompt fits the policy's context. With
    ``store`` each finished episode is kept as a trajectory of ``run_id`` (the run must have been
    started), exportable like any other.
    """

    def __init__(
        self,
        problem: Problem,
        *,
        sandbox: Sandbox,
        config: EnvConfig | None = None,
        critic: Critic | None = None,
        fits: FitsFn | None = None,
        store: AsyncTrajectoryStore | None = None,
        run_id: str = "env",
        sample_index: int = 0,
    ) -> None:
        self.problem = problem
        self.sandbox = sandbox
        self.config = config or EnvConfig()
        # the structure reward's check runs the tests again per statement: only when it is a term
        weighted = "structure" in self.config.rewards.component_weights
        self.critic = critic or make_critic(
            "tests", imports=self.config.imports, constraints=self.config.constraints, structure=weighted
        )
        self.fits = fits
        self.store = store
        self.run_id = run_id
        self.sample_index = sample_index
        self.trajectory: TrajectoryRecord | None = None
        self._task: asyncio.Task[dict[str, Any]] | None = None
        self._channel: PolicyChannel | None = None
        self._request: Request | None = None
        self._steps: list[StepRecord] = []
        self._value = 0.0
        self._turn = 0
        self._trajectory_id = ""
        self._oversize: int | None = None
        """The length of this turn's action when it was too long to run."""

    def _context(self, channel: PolicyChannel) -> RepairContext:
        return build_context(
            self.problem,
            llm=channel,
            critic=self.critic,
            sandbox=self.sandbox,
            prompts=self.config.prompts or Prompts.load(),
            history=self.config.history,
            reward=reward_function(self.config.step_reward),
            limits=Limits(max_rounds=self.config.max_turns - 1),
            on_step=self._steps.append,
            objective=self.config.objective,
            feedback=self.config.feedback,
        )

    async def reset(self) -> ChatMessages:
        """Start an episode (ending one still running) and return its first observation."""
        await self.aclose()
        self._steps, self._value, self._turn, self.trajectory = [], 0.0, 0, None
        self._channel = PolicyChannel(fits=self.fits)
        ctx = self._context(self._channel)
        self._trajectory_id = trajectory_id_for(self.run_id, self.problem.id, self.sample_index)
        self._task = asyncio.create_task(run_repair(ctx, thread_id=self._trajectory_id))
        self._request = await self._next_request()
        if self._request is None:  # the first prompt did not fit, or the sandbox failed
            raise UserError(f"the episode of {self.problem.id!r} ended before its first prompt")
        return chat(self._request.messages)

    async def step(self, action: str, *, tokens_in: int = 0, tokens_out: int = 0) -> EnvStep:
        """Answer the pending prompt with ``action`` and run the turn; raises
        ``InfrastructureError`` when the sandbox failed (never scored as a wrong answer), and
        ``UserError`` for an action that is not text (the episode stays where it was). An action
        longer than ``MAX_ACTION_CHARS`` is not run: the turn sees a reply saying so (no code)."""
        if self._request is None:
            raise UserError("step() needs a running episode: call reset() first")
        checked = checked_action(action)
        self._oversize = len(action) if checked != action and len(action) > MAX_ACTION_CHARS else None
        action = checked
        asked = self._request
        usage = Usage(
            prompt_tokens=tokens_in, completion_tokens=tokens_out, total_tokens=tokens_in + tokens_out
        )
        asked.answer.set_result((action, usage))
        self._turn += 1
        self._request = await self._next_request()
        turn = next((s for s in self._steps if s.index == self._turn - 1), None)
        if self._request is not None:
            observation = chat(self._request.messages)
            return self._result(turn, observation, self._new_messages(asked, action, observation), None)
        values = await self._finished()
        return self._result(turn, [], [], values)

    async def _next_request(self) -> Request | None:
        """The policy's next prompt, or None once the graph has ended."""
        assert self._channel is not None and self._task is not None
        return await _next(self._channel, self._task)

    async def _finished(self) -> dict[str, Any]:
        assert self._task is not None
        values = self._task.result()
        self._task = None
        self.trajectory = to_trajectory(
            values,
            problem=self.problem,
            trajectory_id=self._trajectory_id,
            run_id=self.run_id,
            sample_index=self.sample_index,
            objective=self.config.objective.name,
        )
        if values.get("stop_reason") == "infrastructure":
            raise InfrastructureError(f"the episode of {self.problem.id!r} failed: {values.get('error')}")
        if self.store is not None:
            await self.store.add_trajectory(self.trajectory)
        return values

    def _new_messages(self, asked: Request, action: str, observation: ChatMessages) -> ChatMessages:
        before = [*chat(asked.messages), {"role": "assistant", "content": action}]
        if observation[: len(before)] == before:
            return observation[len(before) :]
        return observation

    def _result(
        self,
        step: StepRecord | None,
        observation: ChatMessages,
        new_messages: ChatMessages,
        values: dict[str, Any] | None,
    ) -> EnvStep:
        final = None
        if values is not None:
            final = values.get("final_reward")
            final = float(final) if final is not None else 0.0
        critique = step.critique if step is not None else None
        score = TurnScore(
            turn=self._turn,
            score=float(step.reward or 0.0) if step is not None else 0.0,
            previous=self._value,
            constraint_score=critique.score if critique is not None else None,
            final=final,
            components=dict(step.rewards) if step is not None else {},
        )
        parts = shaped(self.config.rewards, score)
        self._value = parts["value"]
        stop: StopReason | None = values.get("stop_reason") if values is not None else None
        info: dict[str, Any] = {
            "turn": self._turn,
            "code": step.code if step is not None else None,
            "report": step.report if step is not None else None,
            "critique": critique,
            "reward_components": parts | (step.rewards if step is not None else {}),
            "stop_reason": stop,
            "oversize_action": self._oversize,
        }
        if values is not None and self.trajectory is not None:
            info |= {"final_reward": final, "hidden_passed": self.trajectory.hidden_passed}
            info["trajectory_id"] = self.trajectory.trajectory_id
        return EnvStep(
            observation=observation,
            new_messages=new_messages,
            reward=parts["reward"],
            done=values is not None,
            stop_reason=stop,
            info=info,
        )

    async def aclose(self) -> None:
        """End a running episode without storing it: its pending prompt is answered with
        "closed" (the graph's ``context_length`` stop), so the graph ends as it always does."""
        task, channel, request = self._task, self._channel, self._request
        self._task, self._request = None, None
        if task is None or channel is None:
            return
        while not task.done():
            if request is not None and not request.answer.done():
                request.answer.set_exception(ContextLengthExceeded("the environment was closed"))
            request = await _next(channel, task)
        task.exception()  # retrieved: an abandoned episode's failure is not reported


async def _next(channel: PolicyChannel, task: asyncio.Task[dict[str, Any]]) -> Request | None:
    waiting = asyncio.ensure_future(channel.pending.get())
    await asyncio.wait({waiting, task}, return_when=asyncio.FIRST_COMPLETED)
    if waiting.done():
        return waiting.result()
    waiting.cancel()
    return None
