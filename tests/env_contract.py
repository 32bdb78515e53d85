"""The contract the environment adapters are held to: one scripted policy over three problems
(solved on the second turn, no progress, the repair budget spent) and ``RepairEnv``'s own run of
it, which every adapter's run must equal (``test_env_gym.py``, ``test_env_trl.py``,
``test_env_skyrl.py``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from trajectory_data import ADD, ECHO_SUM, SQUARE

from codemend.env import EnvConfig, EnvRewards, RepairEnv
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

FENCE = "```"
PROBLEMS = [SQUARE, ADD, ECHO_SUM]
SCRIPTS = {
    # repaired on the second turn
    "square": ["def square(x):\n    return x * 2\n", "def square(x):\n    return x * x\n"],
    # wrong twice, then the first attempt again: no progress
    "add": [
        "def add(a, b):\n    return a - b\n",
        "def add(a, b):\n    return a * b\n",
        "def add(a,b):\n  return a-b\n",
    ],
    # an I/O program never fixed: the repair budget runs out
    "echo-sum": ["print(sum(map(int, input().split())) + 1)\n", "print(0)\n", "print(1)\n"],
}
STOPS = {"square": "solved", "add": "no_progress", "echo-sum": "max_rounds"}
SETTINGS = {"max_turns": 3, "reward_mode": "improvement", "constraint_weight": 0.1}
CONFIG = EnvConfig(max_turns=3, rewards=EnvRewards(mode="improvement", constraint_weight=0.1))


def action(code: str) -> str:
    return f"My answer:\n{FENCE}python\n{code}{FENCE}\n"


@dataclass
class Run:
    conversations: list[list[dict[str, str]]]
    """The whole conversation the model sees before each of its turns."""
    rewards: list[float]
    stop: str | None


def reference(problem: Problem, sandbox: LocalSandbox) -> Run:
    async def main() -> Run:
        env = RepairEnv(problem, sandbox=sandbox, config=CONFIG)
        run = Run([await env.reset()], [], None)
        for code in SCRIPTS[problem.id]:
            result = await env.step(action(code))
            run.rewards.append(result.reward)
            if result.done:
                run.stop = result.stop_reason
                return run
            run.conversations.append(result.observation)
        raise AssertionError("the script ran out")

    return asyncio.run(main())
