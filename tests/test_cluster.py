"""codemend on a real Ray cluster: ``codemend bench --ray`` against the scripted endpoint, with the
real sandbox on every node. Every scenario runs in ``tests/cluster_scenarios.py`` inside a fresh
network namespace holding only ``lo``, so Ray, the endpoint and the sandbox bind and talk on
127.0.0.1 only; these tests assert on what the scenarios observed."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cluster_scenarios import in_loopback_namespace

from codemend.cli.bench import bench
from codemend.cluster import check_address
from codemend.errors import UserError

SCENARIOS = Path(__file__).resolve().parent / "cluster_scenarios.py"


def _scenario(name: str) -> dict[str, Any]:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("the Ray tests need util-linux's unshare and iproute2's ip (a loopback-only namespace)")
    done = in_loopback_namespace([sys.executable, str(SCENARIOS), name], timeout=600)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("{"):
        pytest.fail(f"scenario {name} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@pytest.fixture(scope="module")
def two_nodes() -> dict[str, Any]:
    """A 2-node ``ray.cluster_utils.Cluster`` (1 CPU and ``sandbox: 1`` each): the same bench
    locally and on the cluster, then again with the second node killed mid-run."""
    return _scenario("local-vs-ray")


@pytest.fixture(scope="module")
def cli() -> dict[str, Any]:
    """``ray start --head`` and ``codemend bench --ray 127.0.0.1:PORT``, its driver SIGKILLed
    mid-run and resumed; a bare ``--ray`` reading ``CODEMEND_RAY_ADDRESS``; the same bench through
    Ray Client (``--ray ray://127.0.0.1:PORT``)."""
    return _scenario("cli")


@pytest.fixture(scope="module")
def cli_failures() -> dict[str, Any]:
    """``codemend bench --ray`` without CODEMEND_MODEL against a `ray start` cluster using Ray's
    token authentication (refused, then run with RAY_AUTH_MODE=token), and against two nodes of
    which one is SIGKILLed mid-run."""
    return _scenario("cli-failures")


@pytest.mark.slow
def test_a_ray_run_scores_exactly_as_the_local_run(two_nodes: dict[str, Any]) -> None:
    assert two_nodes["ray"] == two_nodes["local"]
    assert two_nodes["local"]["summary"]["metrics"]["trajectories"] == 16
    assert set(two_nodes["ray_counts"].values()) == {11}  # one row per sample, finished
    assert len(two_nodes["ray_counts"]) == 16
    assert two_nodes["server_errors"] == []


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


@pytest.mark.slow
def test_a_speed_run_on_the_cluster_measures_and_picks_by_speed(two_nodes: dict[str, Any]) -> None:
    speed = two_nodes["speed"]
    assert speed["objective"]["name"] == "speed" and speed["objective"]["repetitions"] == 5
    s = speed["summary"]
    assert s is not None and s["trajectories"] == 2  # as tests/test_benchmarks_speed.py locally
    assert s["correct_by_round"] == {"0": 1, "1": 2}
    assert s["opt_rate_by_round"] == {"0": 0.5, "1": 1.0}
    assert 1.0 < s["mean_speedup_by_round"]["0"] < s["mean_speedup_by_round"]["1"]
    assert s["methods"] == {"cpu": 2} and s["uncontained"] == 0
    assert speed["measurements"] == [5, 5]  # measured on the runners, stored by the driver


@pytest.mark.slow
def test_rewards_from_a_pool_of_ray_actors_score_on_the_cluster_as_locally(two_nodes: dict[str, Any]) -> None:
    r = two_nodes["rewards"]
    assert r["rows"] == 8
    # 3 HumanEval problems, right then wrong; then dedupe's fast solution and a wrong one, by speed
    assert r["cluster"][:6] == r["local"][:6] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert r["cluster"][6] > 0 and r["local"][6] > 0  # significantly faster than the reference
    assert r["cluster"][7] == r["local"][7] == 0.0  # fast but wrong


@pytest.mark.slow
def test_retry_errors_on_the_cluster_reruns_what_infrastructure_ended(two_nodes: dict[str, Any]) -> None:
    r = two_nodes["retry_errors"]
    assert r["first"] == {"errors": 1, "solved": 1, "resumed": 0}  # a dead endpoint is no model failure
    assert r["second"] == {"errors": 0, "solved": 2, "resumed": 1}
    assert len(r["ids"]) == len(set(r["ids"])) == 2


@pytest.mark.slow
def test_one_rate_limit_per_endpoint_across_the_cluster(two_nodes: dict[str, Any]) -> None:
    limiter = two_nodes["limiter"]
    assert limiter["max_in_flight"] == 2
    assert 0.3 < limiter["waited_for_expiry_s"] < 5  # leases of dead holders expire


@pytest.mark.slow
def test_cli_ray_run_killed_and_resumed_matches_the_local_run(cli: dict[str, Any]) -> None:
    assert cli["killed_while_running"], "the driver finished before it could be killed"
    assert 3 <= cli["killed_after"] < 12
    assert cli["resume_exit"] == 0, cli["resume_stderr"]
    assert set(cli["counts"].values()) == {11} and len(cli["counts"]) == 12
    resumed, local = cli["ray"], cli["local"]
    assert resumed["summary"]["resumed_trajectories"] >= 3
    assert local["summary"]["resumed_trajectories"] == 0
    assert {**resumed["summary"], "resumed_trajectories": 0} == local["summary"]
    assert resumed["samples"] == local["samples"]
    assert cli["server_errors"] == []


@pytest.mark.slow
def test_a_bare_ray_flag_uses_codemend_ray_address(cli: dict[str, Any]) -> None:
    assert cli["bare_exit"] == 0, cli["bare_stderr"]
    assert cli["bare"] == cli["local"]


@pytest.mark.slow
def test_a_ray_client_address_runs_the_same_bench(cli: dict[str, Any]) -> None:
    assert cli["client_exit"] == 0, cli["client_stderr"]
    assert cli["client"] == cli["local"]
    assert set(cli["client_counts"].values()) == {11} and len(cli["client_counts"]) == 12


@pytest.mark.slow
def test_evaluate_on_the_cluster_scores_as_locally(cli: dict[str, Any]) -> None:
    local, ray = cli["evaluate"]["local"], cli["evaluate"]["ray"]
    assert ray["exit"] == 0, ray["stderr"]
    assert local["exit"] == 0, local["stderr"]
    assert json.loads(ray["stdout"]) == json.loads(local["stdout"]) == {"pass@1": 0.5}
    assert ray["results"] == local["results"]


def test_addresses_ray_can_reach() -> None:
    assert check_address("auto") == "auto"
    assert check_address("127.0.0.1:6379") == "127.0.0.1:6379"
    assert check_address("ray://head.example:10001") == "ray://head.example:10001"
    with pytest.raises(UserError, match="give auto, ray://HOST:PORT"):
        check_address("head.example")


def test_a_ray_client_address_without_ray_client_is_a_clear_user_error() -> None:
    code = (
        "import sys; sys.modules['grpc'] = None\n"  # as if Ray were installed without [client]
        "from codemend.cluster.connect import connect\n"
        "from codemend.errors import UserError\n"
        "try:\n    connect('ray://127.0.0.1:1')\n"
        "except UserError as exc:\n    print(exc)\n"
    )
    argv = [sys.executable, "-c", code]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    assert "ray[client]" in done.stdout and "--ray ray://127.0.0.1:1" in done.stdout


def test_bench_refuses_what_cannot_leave_this_machine(tmp_path: Path) -> None:
    env = {"CODEMEND_BASE_URL": "http://127.0.0.1:9/v1", "CODEMEND_MODEL": "m"}
    args = ["humaneval", "--limit", "1", "--run-dir", str(tmp_path / "a"), "--ray", "127.0.0.1:1"]
    result = CliRunner().invoke(bench, [*args, "--checkpoints"], env=env)
    assert result.exit_code == 2
    assert "drop --checkpoints" in result.output
    result = CliRunner().invoke(bench, ["humaneval", "--ray", "nowhere", "--run-dir", str(tmp_path / "b")])
    assert result.exit_code == 2
    assert "give auto" in result.output


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


def test_nothing_of_ray_is_imported_without_ray() -> None:
    code = (
        "import sys, codemend, codemend.cli.bench, codemend.cli.evaluate, codemend.benchmarks.runner;"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith(('ray.', 'codemend.cluster'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


RAY_LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d |\(raylet\)|\.cc:\d+:")  # Ray's C++ and raylet logs


@pytest.mark.slow
def test_a_cluster_refusing_the_token_is_named_in_one_line(cli_failures: dict[str, Any]) -> None:
    """It was 20 lines of Ray's gcs_client warnings, then only "cannot reach the Ray cluster"."""
    refused = cli_failures["refused"]
    assert refused["exit"] == 3, refused["stderr"]
    *before, last = refused["stderr"].splitlines()
    assert last.startswith("error: cannot reach the Ray cluster at 127.0.0.1:")
    assert "refused this process (InvalidAuthToken)" in last and "RAY_AUTH_MODE=disabled" in last
    assert "the run dir keeps what finished" not in last and not cli_failures["refused_run_dir_left"]
    assert len(before) == 1 and "the only model it serves" in before[0]  # no Ray log line
    token = cli_failures["token"]  # the message's advice works
    assert token["exit"] == 0, token["stderr"]


@pytest.mark.slow
def test_ray_without_codemend_model_uses_the_endpoints_only_model(cli_failures: dict[str, Any]) -> None:
    """--ray asked for CODEMEND_MODEL though the endpoint serves one model."""
    token = cli_failures["token"]
    assert token["exit"] == 0, token["stderr"]
    said = "CODEMEND_MODEL is not set for http://127.0.0.1:"
    (line,) = [line for line in token["stderr"].splitlines() if said in line]
    assert line.endswith(": using 'scripted', the only model it serves")
    assert token["stdout"].startswith("humaneval: pass@1 ")


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


def test_the_scenarios_keep_the_machines_ray_state_out(tmp_path: Path) -> None:
    """With ~/.ray/auth_token in the user's home (a local ray.init() writes it), the Ray CLI test
    failed at set-up: each scenario has a home, a Ray temp dir and an auth mode of its own."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("the Ray tests need util-linux's unshare and iproute2's ip (a loopback-only namespace)")
    env = {**os.environ, "HOME": str(tmp_path), "RAY_AUTH_MODE": "token", "RAY_TMPDIR": str(tmp_path)}
    code = "import os; print(os.environ['HOME'], os.environ['RAY_AUTH_MODE'], os.environ['RAY_TMPDIR'])"
    done = in_loopback_namespace([sys.executable, "-c", code], timeout=60, env=env)
    home, mode, ray_tmp = done.stdout.split()
    assert mode == "disabled" and home == f"{ray_tmp}/home" and not home.startswith(str(tmp_path))
