"""`codemend check`: verdict table or JSON, and the documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBLEM = {
    "id": "square",
    "prompt": "Return x squared.",
    "entry_point": "square",
    "tests": [
        {"code": "assert square(3) == 9"},
        {"code": "assert square(-2) == 4", "visibility": "hidden"},
    ],
}


def codemend(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codemend", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(PROBLEM))
    return problem, tmp_path / "solution.py"


def test_all_pass_exits_zero_with_a_table(files: tuple[Path, Path]) -> None:
    problem, code = files
    code.write_text("def square(x):\n    return x * x\n")
    out = codemend("check", problem, code)
    assert out.returncode == 0, out.stderr
    assert "2/2 passed" in out.stdout and "hidden" in out.stdout


def test_failures_exit_one_and_json_has_the_details(files: tuple[Path, Path]) -> None:
    problem, code = files
    code.write_text("def square(x):\n    return x * abs(x)\n")
    out = codemend("check", problem, code, "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    second = report["results"][1]
    assert (second["status"], second["call"], second["expected"], second["actual"]) == (
        "failed",
        "square(-2)",
        "4",
        "-4",
    )
    assert report["isolation"] == "namespaces"


def test_visible_only_runs_the_visible_tests(files: tuple[Path, Path]) -> None:
    problem, code = files
    code.write_text("def square(x):\n    return x * abs(x)\n")
    out = codemend("check", problem, code, "--json", "--visible-only")
    assert out.returncode == 0
    assert len(json.loads(out.stdout)["results"]) == 1


def test_bad_input_exits_two_naming_the_field(files: tuple[Path, Path]) -> None:
    problem, code = files
    code.write_text("def square(x):\n    return x * x\n")
    problem.write_text(json.dumps({**PROBLEM, "time_limit_s": "soon"}))
    out = codemend("check", problem, code)
    assert out.returncode == 2
    assert "time_limit_s" in out.stderr and str(problem) in out.stderr
    missing = codemend("check", problem.parent / "nope.json", code)
    assert missing.returncode == 2


def test_a_pathologically_nested_problem_file_is_one_line_exit_2(files: tuple[Path, Path]) -> None:
    """It was a RecursionError traceback."""
    problem, code = files
    code.write_text("def square(x):\n    return x * x\n")
    problem.write_text('{"id": "deep", "tests": ' + "[" * 100_000 + "]" * 100_000 + "}")
    out = codemend("check", problem, code)
    assert out.returncode == 2
    expected = f"error: {problem}:1: field 'tests': arrays or objects nested more than 500 levels deep"
    assert out.stderr.splitlines() == [expected]


def test_unavailable_sandbox_exits_three(files: tuple[Path, Path]) -> None:
    problem, code = files
    code.write_text("def square(x):\n    return x * x\n")
    # ask for namespaces that cannot be had: no bubblewrap where CODEMEND_BWRAP points
    env = {**os.environ, "CODEMEND_BWRAP": str(problem.parent / "no-bwrap")}
    out = subprocess.run(
        [sys.executable, "-m", "codemend", "check", str(problem), str(code), "--isolation", "namespaces"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 3, out.stderr
    assert "bubblewrap not found at" in out.stderr
