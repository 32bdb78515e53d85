"""``codemend.sandbox.budget``: a sandbox codemend starts by itself gets the CPUs its process is
given, not the machine's (each in a fresh process: settings are read once per process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_scenarios import in_loopback_namespace

PRINT = "from codemend.sandbox.budget import given_cpus; print(given_cpus())"


def given(*prefix: str, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "CODEMEND_SANDBOX_WORKERS"} | env
    done = subprocess.run([*prefix, sys.executable, "-c", PRINT], capture_output=True, text=True, env=environ)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_the_setting_wins() -> None:
    assert given(CODEMEND_SANDBOX_WORKERS="3") == 3


def test_otherwise_the_cpus_the_process_may_run_on() -> None:
    assert given() == len(os.sched_getaffinity(0))
    if shutil.which("taskset") is None:
        pytest.skip("no taskset to narrow the affinity with")
    assert given("taskset", "-c", "0") == 1


def test_a_bad_setting_says_which() -> None:
    environ = dict(os.environ, CODEMEND_SANDBOX_WORKERS="0")
    done = subprocess.run([sys.executable, "-c", PRINT], capture_output=True, text=True, env=environ)
    assert done.returncode != 0 and "CODEMEND_SANDBOX_WORKERS" in done.stderr


RAY_WORKERS = """
import ray
from codemend.sandbox.budget import given_cpus

ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)


@ray.remote
class RewardWorker:  # as verl starts its reward workers: an actor that asks for no CPU
    def cpus(self):
        return given_cpus()


@ray.remote(num_cpus=2)
def task():
    return given_cpus()


bare, given = RewardWorker.remote(), RewardWorker.options(num_cpus=2).remote()
print(ray.get(bare.cpus.remote()), ray.get(given.cpus.remote()), ray.get(task.remote()))
ray.shutdown()
"""


@pytest.mark.slow
def test_inside_ray_the_cpus_ray_assigned(tmp_path: Path) -> None:
    """Loopback only, with a private home and Ray directory and no token authentication, as the
    Ray cluster tests need (a local ``ray.init`` writes ``~/.ray/auth_token`` otherwise)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs util-linux's unshare and iproute2's ip for a loopback-only namespace")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), RAY_AUTH_MODE="disabled")
    env.pop("CODEMEND_SANDBOX_WORKERS", None)
    done = in_loopback_namespace([sys.executable, "-c", RAY_WORKERS], timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["1", "2", "2"]

