"""The environment and the rewards on the per-language fixture (examples/languages/LANG): an
episode's prompt asks for the problem's language and its feedback quotes the failing test; a
trainer's row carries the language in its ground truth, and ``compute_score``/``reward_func``
score a reply in that language (a reply in another one scores 0, its details saying why)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from language_bench_helpers import problem_file, reply
from language_helpers import NATIVE, need_toolchain

from codemend.env import EnvConfig, RepairEnv
from codemend.env.rows import ground_truth, problem_from_row
from codemend.languages import LanguageName, language
from codemend.problems import load_problem
from codemend.rewards import compute_score, reward_func, score_details
from codemend.sandbox import LocalSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox(workers=2) as box:
        yield box


def episode(env: RepairEnv, replies: list[str]) -> tuple[list, list]:
    async def main() -> tuple[list, list]:
        observations, steps = [await env.reset()], []
        for text in replies:
            step = await env.step(text)
            steps.append(step)
            if step.done:
                break
            observations.append(step.observation)
        await env.aclose()
        return observations, steps

    return asyncio.run(main())


@pytest.mark.parametrize("name", NATIVE)
def test_an_episode_repairs_the_buggy_program(name: LanguageName, sandbox: LocalSandbox) -> None:
    need_toolchain(name)
    problem = load_problem(problem_file(name))
    env = RepairEnv(problem, sandbox=sandbox, config=EnvConfig(max_turns=3))
    observations, steps = episode(env, [reply(name, "buggy"), reply(name)])
    first = observations[0][-1]["content"]
    assert f"You are an expert {language(name).display} programmer" in first
    assert f"```{language(name).fence}" in first
    feedback = steps[0].new_messages[0]["content"]
    assert "failed" in feedback and "expected:" in feedback
    assert [s.reward for s in steps] == [0.0, 1.0] and steps[1].stop_reason == "solved"
    report = steps[1].info["report"]
    assert report.passed and report.compile is not None and report.compile.ok
    assert steps[1].info["hidden_passed"] is True
    assert "6\n2 -1 2 -1 2 -1" not in str(observations)  # a hidden test's input is never shown


def test_a_reply_in_another_language_ends_as_a_verdict(sandbox: LocalSandbox) -> None:
    need_toolchain("java")
    problem = load_problem(problem_file("java"))
    env = RepairEnv(problem, sandbox=sandbox, config=EnvConfig(max_turns=1))
    _, (step,) = episode(env, [reply("python")])
    assert step.reward == 0.0 and step.done
    assert "the code is written in Python, not Java" in step.info["critique"].feedback


@pytest.mark.parametrize("name", NATIVE)
def test_rows_carry_the_language_and_the_rewards_score_in_it(
    name: LanguageName, sandbox: LocalSandbox
) -> None:
    need_toolchain(name)
    problem = load_problem(problem_file(name))
    truth = ground_truth(problem)
    assert problem_from_row({"reward_model": {"ground_truth": truth}}) == problem
    assert problem_from_row({"ground_truth": truth}).language == name
    assert compute_score("codemend/max-subarray", reply(name), truth) == 1.0
    scores = reward_func([reply(name), reply(name, "buggy"), reply("python")], ground_truth=[truth] * 3)
    assert scores == [1.0, 0.8, 0.0]  # the buggy one fails one test of five
    other = score_details(problem, reply("python"), sandbox)
    assert not other.passed and other.score == 0.0
