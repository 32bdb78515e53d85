"""``--ray [ADDRESS]``: a bare ``--ray`` reads ``CODEMEND_RAY_ADDRESS`` (the Ray CLI scenario runs once
per session, ``cluster_fixtures``); an address Ray cannot reach, and what cannot leave this
machine, are refused at the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codemend.cli.bench import bench

pytest_plugins = ["cluster_fixtures"]


@pytest.mark.slow
def test_a_bare_ray_flag_uses_codemend_ray_address(cli: dict[str, Any]) -> None:
    assert cli["bare_exit"] == 0, cli["bare_stderr"]
    assert cli["bare"] == cli["local"]


def test_bench_refuses_what_cannot_leave_this_machine(tmp_path: Path) -> None:
    env = {"CODEMEND_BASE_URL": "http://127.0.0.1:9/v1", "CODEMEND_MODEL": "m"}
    args = ["humaneval", "--limit", "1", "--run-dir", str(tmp_path / "a"), "--ray", "127.0.0.1:1"]
    result = CliRunner().invoke(bench, [*args, "--checkpoints"], env=env)
    assert result.exit_code == 2
    assert "drop --checkpoints" in result.output
    result = CliRunner().invoke(bench, ["humaneval", "--ray", "nowhere", "--run-dir", str(tmp_path / "b")])
    assert result.exit_code == 2
    assert "give auto" in result.output
