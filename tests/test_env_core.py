"""``RepairEnv``: the repair graph driven by ``reset``/``step``, with the real sandbox.

The policy is scripted: each action is a reply text, as a model would write it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from env_helpers import HALF, reply, run_episode
from repair_helpers import HIDDEN_MARK, RIGHT, WRONG
from trajectory_data import RUN_ID, run_record

from codemend.env import EnvConfig, RepairEnv, SyncRepairEnv
from codemend.env.core import first_observation
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox
from codemend.trajectories import (
    AsyncTrajectoryStore,
    ExportOptions,
    TrajectoryStore,
    export_trajectories,
)

pytest_plugins = ["repair_fixtures"]


def test_episode_observations_rewards_and_stop(square: Problem, sandbox: LocalSandbox) -> None:
    env = RepairEnv(square, sandbox=sandbox, config=EnvConfig(max_turns=3))
    observations, steps = run_episode(env, [WRONG, RIGHT])
    first = observations[0]
    assert first == first_observation(square) and first[-1]["role"] == "user"
    assert "assert square(3) == 9" in first[-1]["content"]
    # the repair prompt continues the conversation: the attempt, then the critic's feedback
    assert observations[1][: len(first)] == first
    assert observations[1][len(first)] == {"role": "assistant", "content": reply(WRONG)}
    assert steps[0].new_messages == observations[1][len(first) + 1 :]
    assert "expected: 4" in steps[0].new_messages[0]["content"]
    assert [s.done for s in steps] == [False, True]
    assert steps[1].stop_reason == "solved" and steps[1].terminated and not steps[1].truncated
    assert [s.reward for s in steps] == [0.0, 1.0]  # final-only by default, on the hidden tests
    info = steps[1].info
    assert info["report"].passed and info["critique"].score == 1.0 and info["hidden_passed"] is True
    assert info["reward_components"]["final"] == 1.0
    assert steps[0].info["report"].n_passed == 0 and steps[0].info["critique"].feedback
    # the hidden test is scored but never shown
    shown = str(observations) + str([s.new_messages for s in steps])
    assert HIDDEN_MARK not in shown
    assert env.trajectory is not None and env.trajectory.status == "solved"
    assert [s.kind for s in env.trajectory.steps] == ["generate", "repair"]


def test_max_turns_truncates_and_final_reward_uses_the_best_attempt(
    square: Problem, sandbox: LocalSandbox
) -> None:
    env = RepairEnv(square, sandbox=sandbox, config=EnvConfig(max_turns=2))
    _, steps = run_episode(env, [WRONG, HALF])
    assert steps[-1].stop_reason == "max_rounds" and steps[-1].truncated and steps[-1].done
    assert steps[-1].info["code"] == HALF
    # the best attempt (HALF) is scored on the hidden tests: square(4) == 16 passes
    assert steps[-1].reward == pytest.approx(steps[-1].info["final_reward"]) and steps[-1].reward == 1.0
    assert steps[-1].info["hidden_passed"] is True


def test_repeating_an_attempt_ends_with_no_progress(square: Problem, sandbox: LocalSandbox) -> None:
    env = RepairEnv(square, sandbox=sandbox, config=EnvConfig(max_turns=4))
    _, steps = run_episode(env, [WRONG, WRONG.replace("x * x", "x*x"), RIGHT])
    assert len(steps) == 2 and steps[-1].stop_reason == "no_progress" and steps[-1].terminated
    assert steps[-1].info["report"] is None  # the repeat is not run again


def test_a_prompt_that_does_not_fit_stops_with_context_length(square: Problem, sandbox: LocalSandbox) -> None:
    env = RepairEnv(square, sandbox=sandbox, fits=lambda messages: len(messages) < 3)
    _, steps = run_episode(env, [WRONG, RIGHT])
    assert len(steps) == 1 and steps[0].stop_reason == "context_length" and steps[0].truncated


def test_many_episodes_in_flight_share_one_sandbox(square: Problem, tmp_path: Path) -> None:
    async def one(env: RepairEnv, codes: list[str]) -> float:
        await env.reset()
        for code in codes:
            result = await env.step(reply(code))
            if result.done:
                return result.reward
        raise AssertionError("the episode did not end")

    async def main(sandbox: LocalSandbox) -> list[float]:
        store = AsyncTrajectoryStore(TrajectoryStore(tmp_path / "env.db"))
        await store.start_run(run_record())
        plans = [[WRONG, RIGHT], [RIGHT], [WRONG, HALF, RIGHT], [HALF, RIGHT]] * 2
        envs = [
            RepairEnv(square, sandbox=sandbox, store=store, run_id=RUN_ID, sample_index=i)
            for i in range(len(plans))
        ]
        rewards = await asyncio.gather(*(one(e, p) for e, p in zip(envs, plans, strict=True)))
        await store.close()
        return list(rewards)

    with LocalSandbox(workers=2, isolation="namespaces") as sandbox:
        rewards = asyncio.run(main(sandbox))
    assert rewards == [1.0] * 8
    with TrajectoryStore(tmp_path / "env.db") as store:
        stored = list(store.trajectories(RUN_ID))
    assert sorted(t.sample_index for t in stored) == list(range(8))
    # online episodes are the same exportable data as solves
    result = export_trajectories(stored, ExportOptions(format="sft", out=tmp_path / "sft.jsonl"))
    assert result.rows["train"] == 8 and HIDDEN_MARK not in (tmp_path / "sft.jsonl").read_text()


def test_bad_actions_are_errors_of_the_step_and_the_episode_goes_on(
    square: Problem, sandbox: LocalSandbox
) -> None:
    """Issue 26: ``step(None | 42 | dict)``, a lone surrogate, ``max_turns="3"``: tracebacks."""
    env = SyncRepairEnv(RepairEnv(square, sandbox=sandbox, config=EnvConfig(max_turns=2)))
    env.reset()
    for bad in (None, 42, {"content": "x"}):
        with pytest.raises(UserError, match="takes the policy's reply as a string"):
            env.step(bad)  # type: ignore[arg-type]
    result = env.step(reply(WRONG) + "\ud800")  # a lone surrogate: replaced, then run
    assert not result.done and result.info["report"].n_passed == 0
    assert env.step(reply(RIGHT)).stop_reason == "solved"  # the episode went on
    env.close()
    with pytest.raises(UserError, match="max_turns must be an int, at least 1, got '3'"):
        EnvConfig(max_turns="3")  # type: ignore[arg-type]


def test_an_oversize_action_is_refused_as_such_not_run(square: Problem, sandbox: LocalSandbox) -> None:
    """Issue 26: a 12 MB action took 155 s and 6 GB (compiled nine times on the host)."""
    from codemend.env.core import MAX_ACTION_CHARS

    env = SyncRepairEnv(RepairEnv(square, sandbox=sandbox, config=EnvConfig(max_turns=2)))
    env.reset()
    huge = reply(RIGHT + "# padding\n" * (MAX_ACTION_CHARS // 10 + 1))
    result = env.step(huge)
    assert result.reward == 0.0 and not result.done
    assert result.info["oversize_action"] == len(huge) and "# padding" not in result.info["code"]
    assert result.info["critique"].feedback  # the critic says what is missing: no code of it ran
    shown = str(result.new_messages)
    assert "not run" in shown and f"{MAX_ACTION_CHARS:,}" in shown and "# padding" not in shown
    env.close()


def test_feedback_trace_puts_the_trace_in_the_next_observation(
    square: Problem, sandbox: LocalSandbox
) -> None:
    env = RepairEnv(square, sandbox=sandbox, config=EnvConfig(max_turns=2, feedback="trace"))
    observations, steps = run_episode(env, [HALF, RIGHT])
    critique = steps[0].info["critique"]
    assert critique.trace is not None and critique.trace.available and critique.trace.test_index == 1
    assert critique.trace.text in steps[0].new_messages[0]["content"]
    assert "Where it diverged: the test expected 4, got -4." in str(observations[1])
    assert HIDDEN_MARK not in str(observations) + str([s.new_messages for s in steps])
    with pytest.raises(UserError, match="feedback must be one of tests, trace"):
        EnvConfig(feedback="traces")  # type: ignore[arg-type]
