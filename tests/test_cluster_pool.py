"""``RunnerPool``: work spread over the runners in proportion to their sandbox workers, and a
runner lost with its node: its work goes to the others, nothing lost or stored twice, one line said.
The Ray scenarios run once per session (``cluster_fixtures``); the proportions are checked on
stand-in actor handles without a cluster."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

pytest_plugins = ["cluster_fixtures"]


@pytest.mark.slow
def test_trajectories_spread_over_both_nodes(two_nodes: dict[str, Any]) -> None:
    used = {p["node_id"] for p in two_nodes["ray_placements"]}
    assert used == set(two_nodes["nodes"])
    assert len(two_nodes["ray_placements"]) == 16


@pytest.mark.slow
def test_a_node_lost_mid_run_loses_nothing_and_duplicates_nothing(two_nodes: dict[str, Any]) -> None:
    assert two_nodes["loss_removed"]
    lost = [p["lost_node"] for p in two_nodes["loss_placements"] if "lost_node" in p]
    assert lost == [two_nodes["worker_node"]]
    assert len(two_nodes["loss_counts"]) == 16
    assert set(two_nodes["loss_counts"].values()) == {11}
    assert two_nodes["loss"] == two_nodes["local"]
    stored_after_loss = [p for p in two_nodes["loss_placements"] if "trajectory_id" in p]
    assert len({p["trajectory_id"] for p in stored_after_loss}) == len(stored_after_loss) == 16


class _StandInRunner:
    """An actor handle's shape (``handle.method.remote(...)`` is awaited) without a cluster: which
    runner each call went to is all the pool's choice shows."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    @property
    def run_tests(self) -> _StandInRunner:
        return self

    def remote(self, *args: object) -> Any:
        self.calls.append(self.name)
        return asyncio.sleep(0.05, result=self.name)


def test_calls_go_to_runners_in_proportion_to_their_sandbox_workers() -> None:
    from codemend.cluster import RunnerConfig, RunnerPool
    from codemend.settings import SandboxSettings

    calls: list[str] = []
    runners = [(_StandInRunner("small", calls), "node-a", 1), (_StandInRunner("big", calls), "node-b", 4)]
    pool = RunnerPool.of(RunnerConfig(sandbox=SandboxSettings()), runners)

    async def burst() -> list[str]:
        return list(await asyncio.gather(*(pool.call("run_tests", []) for _ in range(10))))

    assert sorted(asyncio.run(burst())) == sorted(calls)
    assert calls.count("small") == 2 and calls.count("big") == 8  # 1:4, as their workers
    assert [r.in_flight for r in pool.live] == [0, 0]


RAY_LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d |\(raylet\)|\.cc:\d+:")  # Ray's C++ and raylet logs


@pytest.mark.slow
def test_a_node_lost_during_a_cli_run_is_one_line_and_ray_keeps_its_logs(
    cli_failures: dict[str, Any],
) -> None:
    """Ray's raylet dump of the dead node took 28 of the bench's 56 lines."""
    loss = cli_failures["loss"]
    assert cli_failures["killed_while_running"], "the bench finished before the node was killed"
    assert loss["exit"] == 0, loss["stderr"]
    (lost,) = [p["lost_node"] for p in cli_failures["loss_placements"] if "lost_node" in p]
    said = [line for line in loss["stderr"].splitlines() if "lost" in line]
    assert len(said) == 1 and re.fullmatch(
        rf"WARNING codemend\.cluster\.pool: lost the runner on node {lost} \(\w+\); its work goes to the "
        r"other runners",
        said[0],
    ), said
    lines = [*loss["stdout"].splitlines(), *loss["stderr"].splitlines()]
    assert [line for line in lines if RAY_LOG_LINE.search(line)] == []
    assert loss["stdout"].startswith("humaneval: pass@1 ")
    assert set(cli_failures["loss_counts"].values()) == {11} and len(cli_failures["loss_counts"]) == 6
    assert cli_failures["server_errors"] == []
