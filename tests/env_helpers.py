"""A scripted policy for the environment tests: replies as a model writes them, and an episode of
``RepairEnv`` driven by them to its end."""

from __future__ import annotations

import asyncio

from codemend.env import RepairEnv

HALF = "def square(x):\n    return x * abs(x)\n"  # square(3) passes, square(-2) fails


def reply(code: str) -> str:
    return f"Here is the solution:\n```python\n{code}```\n"


def run_episode(env: RepairEnv, codes: list[str]) -> list:
    async def main() -> list:
        observations = [await env.reset()]
        steps = []
        for code in codes:
            result = await env.step(reply(code))
            steps.append(result)
            if result.done:
                break
            observations.append(result.observation)
        return [observations, steps]

    return asyncio.run(main())
