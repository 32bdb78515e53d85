"""Trajectories seen as attempts: a state (the messages sent), a reply, and whether it passed.

Every training format is built from these. Two rules live here:
- **passing**: a step passes when every visible test passed and, for the trajectory's last
  step, the hidden tests did not fail (a reply that only fits the visible tests is no example
  to learn from); in a speed trajectory (``--objective speed``) it must also have been measured
  significantly faster than the baseline, so a DPO pair there is a faster correct reply against
  a slower or incorrect sibling;
- **clean**: a state may go into a prompt field only if no hidden test can be read from it — the
  trajectory's feedback came from visible tests only, and no hidden test's text appears in it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from codemend.problems import Problem
from codemend.records import Message, StepRecord, TrajectoryRecord, required_satisfied

_MIN_IO_SNIPPET = 8  # shorter stdin/stdout text ("3\n") appears in prompts by chance


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """What the model was sent at one step."""

    trajectory: TrajectoryRecord
    step: StepRecord
    depth: int
    key: str
    clean: bool

    @property
    def task_id(self) -> str:
        """The trajectory's problem id."""
        return self.trajectory.problem.id

    @property
    def messages(self) -> list[Message]:
        """The messages the step sent the model."""
        return self.step.messages


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """A state with a usable reply: the reply was tested (no infrastructure error)."""

    state: State
    reply: str
    code: str
    passed: bool
    reward: float
    structure: float | None = None
    """The step's ``structure`` reward component, where it has one."""

    @property
    def task_id(self) -> str:
        """The trajectory's problem id."""
        return self.state.task_id


def state_key(task_id: str, messages: list[Message]) -> str:
    """Equal for sibling attempts: the same task and the same messages sent."""
    text = json.dumps([task_id, [[m.role, m.content] for m in messages]], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def hidden_snippets(problem: Problem) -> list[str]:
    """Texts of hidden tests that no prompt may contain (those also visible are fair game)."""
    visible = {s for t in problem.visible_tests() for s in _texts(t)}
    return [s for t in problem.hidden_tests() for s in _texts(t) if s not in visible]


def _texts(test: object) -> list[str]:
    code = getattr(test, "code", None)
    if code is not None:
        return [code.strip()]
    texts = [getattr(test, "stdin", "").strip(), getattr(test, "expected_stdout", "").strip()]
    return [t for t in texts if len(t) >= _MIN_IO_SNIPPET]


def leaks(messages: list[Message], snippets: list[str]) -> bool:
    """Whether any of ``messages`` contains one of ``snippets`` (texts of hidden tests)."""
    return any(s and s in m.content for m in messages for s in snippets)


def states(trajectory: TrajectoryRecord) -> Iterator[State]:
    """Every step's state, in step order."""
    snippets = hidden_snippets(trajectory.problem)
    honest = trajectory.feedback_tests != "all"
    depth: dict[int, int] = {}
    for step in trajectory.steps:
        depth[step.index] = 0 if step.parent is None else depth.get(step.parent, 0) + 1
        yield State(
            trajectory=trajectory,
            step=step,
            depth=depth[step.index],
            key=state_key(trajectory.problem.id, step.messages),
            clean=(honest or step.parent is None) and not leaks(step.messages, snippets),
        )


def attempts(trajectory: TrajectoryRecord) -> list[Attempt]:
    """The trajectory's tested attempts, in step order."""
    last = trajectory.steps[-1].index if trajectory.steps else None
    found = []
    for state in states(trajectory):
        step = state.step
        if step.reply is None or step.report is None or step.error is not None:
            continue
        passed = step.report.passed and required_satisfied(step)  # --constraints security
        passed = passed and (step.index != last or trajectory.hidden_passed is not False)
        if trajectory.objective == "speed":
            passed = passed and step.measurement is not None and step.measurement.verdict == "faster"
        reward = step.reward if step.reward is not None else step.report.fraction_passed
        code = step.code if step.code is not None else step.reply
        found.append(
            Attempt(
                state=state,
                reply=step.reply,
                code=code,
                passed=passed,
                reward=reward,
                structure=step.rewards.get("structure"),
            )
        )
    return found


def final_attempt(trajectory: TrajectoryRecord) -> Attempt | None:
    """The last step's attempt, if that step was tested."""
    found = attempts(trajectory)
    if not found or found[-1].state.step is not trajectory.steps[-1]:
        return None
    return found[-1]


def trajectory_reward(trajectory: TrajectoryRecord) -> float:
    """The final (hidden-test) reward, else the last attempt's reward, else 0."""
    if trajectory.final_reward is not None:
        return trajectory.final_reward
    last = final_attempt(trajectory)
    return last.reward if last else 0.0


def solved(trajectory: TrajectoryRecord) -> bool:
    """Whether the trajectory's last step was tested and passed."""
    last = final_attempt(trajectory)
    return last is not None and last.passed


def chat(messages: list[Message]) -> list[dict[str, str]]:
    """``messages`` as chat dicts (``role``, ``content``)."""
    return [{"role": m.role, "content": m.content} for m in messages]


def assistant(text: str) -> list[dict[str, str]]:
    """``text`` as a one-message assistant turn."""
    return [{"role": "assistant", "content": text}]
