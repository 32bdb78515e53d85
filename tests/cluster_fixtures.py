"""Fixtures for the Ray tests; test modules load them with ``pytest_plugins``.

Each fixture runs one scenario of ``tests/cluster_scenarios.py`` inside a fresh network namespace
holding only ``lo``, so Ray, the endpoint and the sandbox bind and talk on 127.0.0.1 only. They are
session-scoped: a scenario runs once per session, however many test modules assert on what it
observed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from cluster_scenarios import in_loopback_namespace

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


@pytest.fixture(scope="session")
def two_nodes() -> dict[str, Any]:
    """A 2-node ``ray.cluster_utils.Cluster`` (1 CPU and ``sandbox: 1`` each): the same bench
    locally and on the cluster, then again with the second node killed mid-run."""
    return _scenario("local-vs-ray")


@pytest.fixture(scope="session")
def cli() -> dict[str, Any]:
    """``ray start --head`` and ``codemend bench --ray 127.0.0.1:PORT``, its driver SIGKILLed
    mid-run and resumed; a bare ``--ray`` reading ``CODEMEND_RAY_ADDRESS``; the same bench through
    Ray Client (``--ray ray://127.0.0.1:PORT``)."""
    return _scenario("cli")


@pytest.fixture(scope="session")
def cli_failures() -> dict[str, Any]:
    """``codemend bench --ray`` without CODEMEND_MODEL against a `ray start` cluster using Ray's
    token authentication (refused, then run with RAY_AUTH_MODE=token), and against two nodes of
    which one is SIGKILLed mid-run."""
    return _scenario("cli-failures")
