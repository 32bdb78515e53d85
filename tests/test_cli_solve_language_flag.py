"""``codemend solve --language L``: a stdin/stdout problem written in another language than its
file's (scripted endpoint, real sandbox and toolchain), and the problems it cannot take."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from language_bench_helpers import ROOT, LanguageServer, problem_file, program
from language_helpers import need_toolchain


def codemend(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    env |= {"CODEMEND_BASE_URL": url, "CODEMEND_MODEL": "scripted", "CODEMEND_MAX_ATTEMPTS": "2",
            "PYTHONPATH": str(ROOT), "COLUMNS": "250"}  # fmt: skip
    command = [sys.executable, "-m", "codemend", "solve", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture
def server() -> Iterator[LanguageServer]:
    endpoint = LanguageServer().start()
    yield endpoint
    endpoint.stop()
    endpoint.check()


@pytest.mark.slow
def test_the_python_fixture_solved_in_rust(server: LanguageServer) -> None:
    need_toolchain("rust")
    out = codemend(server.url, str(problem_file("python")), "--language", "rust", "--rounds", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout == program("rust")
    first = server.requests[0].body["messages"][-1]["content"]
    assert "You are an expert Rust programmer" in first and "```rust" in first
    assert "hidden tests 2/2" in out.stderr


def test_a_call_based_problem_or_a_prompt_is_refused(server: LanguageServer) -> None:
    out = codemend(server.url, str(ROOT / "examples" / "square.json"), "--language", "cpp")
    assert out.returncode == 2
    assert "problem square cannot be written in cpp: their tests call a Python function" in out.stderr
    out = codemend(server.url, "--prompt", "Print 1.", "--tests", str(problem_file("c")), "--language", "c")
    assert out.returncode == 2 and "--language goes with PROBLEM" in out.stderr
    assert server.requests == []
