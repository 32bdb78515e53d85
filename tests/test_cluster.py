"""The ``codemend.cluster`` package as a whole: nothing of Ray is imported unless Ray is asked for; and
the loopback-only namespace every Ray scenario runs in (``tests/cluster_scenarios.py``) keeps the
machine's Ray state out. Each module of the package has its own test module
(``tests/test_cluster_*.py``), whose Ray scenarios run once per session (``cluster_fixtures``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_scenarios import in_loopback_namespace


def test_nothing_of_ray_is_imported_without_ray() -> None:
    code = (
        "import sys, codemend, codemend.cli.bench, codemend.cli.evaluate, codemend.benchmarks.runner;"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith(('ray.', 'codemend.cluster'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


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
