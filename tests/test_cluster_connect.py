"""Reaching a Ray cluster: the addresses ``--ray`` takes, Ray Client with and without
``ray[client]``, and a cluster that refuses this process for Ray's token authentication (the
scenarios run once per session, ``cluster_fixtures``)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from codemend.cluster import check_address
from codemend.errors import UserError

pytest_plugins = ["cluster_fixtures"]


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


@pytest.mark.slow
def test_a_ray_client_address_runs_the_same_bench(cli: dict[str, Any]) -> None:
    assert cli["client_exit"] == 0, cli["client_stderr"]
    assert cli["client"] == cli["local"]
    assert set(cli["client_counts"].values()) == {11} and len(cli["client_counts"]) == 12


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
