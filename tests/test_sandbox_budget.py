"""``codemend.sandbox.budget``: a sandbox codemend starts by itself gets the CPUs its process is
given, not the machine's (each in a fresh process: settings are read once per process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

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
