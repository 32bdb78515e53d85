"""``RowEpisode``: an episode from a dataset row, whose bad input ends that episode with an error
(reward 0, done) instead of raising into the framework's worker."""

from __future__ import annotations

import asyncio

import pytest
from trajectory_data import SQUARE

from codemend.env import EnvConfig, RowEpisode
from codemend.env.rows import ground_truth
from codemend.sandbox import LocalSandbox

FENCE = "```"
WRONG = f"{FENCE}python\ndef square(x):\n    return x * 2\n{FENCE}"
RIGHT = f"{FENCE}python\ndef square(x):\n    return x * x\n{FENCE}"
ROW = {"reward_spec": {"ground_truth": ground_truth(SQUARE)}}


def test_an_episode_from_a_row_runs_to_its_end(sandbox: LocalSandbox) -> None:
    async def main() -> None:
        episode = RowEpisode(ROW, sandbox=sandbox, config=EnvConfig(max_turns=2))
        first = await episode.reset()
        assert first is not None and "square" in first[-1]["content"] and episode.problem == SQUARE
        feedback = await episode.step(WRONG)
        assert not feedback.done and feedback.new_messages[-1]["role"] == "user"
        last = await episode.step(RIGHT)
        assert (last.done, last.stop_reason, last.reward) == (True, "solved", 1.0)
        assert episode.turn_rewards == [0.0, 1.0] and episode.reward == 1.0
        assert episode.info["hidden_passed"] is True and episode.error is None
        after = await episode.step(RIGHT)
        assert (after.done, after.reward) == (True, 0.0)
        assert after.info["error"] == "step() after the episode ended"
        assert episode.turn_rewards == [0.0, 1.0] and episode.info["hidden_passed"] is True

    asyncio.run(main())


@pytest.mark.parametrize(
    ("row", "action", "error"),
    [
        ({"prompt": [{"role": "user", "content": "hi"}]}, RIGHT, "no ground_truth in the row"),
        ({"ground_truth": "not json"}, RIGHT, "ground_truth is not JSON"),
        (ROW, None, "the policy's reply is NoneType, not text"),
        (ROW, [{"type": "text", "text": RIGHT}], "the policy's reply is list, not text"),
    ],
    ids=["no-ground-truth", "bad-ground-truth", "none-reply", "list-reply"],
)
def test_bad_input_ends_that_episode_with_its_error(
    sandbox: LocalSandbox, row: dict, action: object, error: str
) -> None:
    async def main() -> None:
        episode = RowEpisode(row, sandbox=sandbox)
        first = await episode.reset()
        assert (first is None) == (episode.problem is None)
        result = await episode.step(action)
        assert (result.done, result.reward, result.stop_reason) == (True, 0.0, None)
        assert result.info["error"].startswith(error) and episode.error == result.info["error"]
        assert episode.turn_rewards == [] and episode.done
        again = await episode.step(RIGHT)  # still an error, still no exception
        assert again.done and again.reward == 0.0

    asyncio.run(main())
