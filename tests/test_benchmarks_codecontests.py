"""The CodeContests loader: visible and hidden tests, limits and metadata, the reference solution
in the language asked for, what is skipped, precise errors; and ``bench codecontests
--language cpp`` end to end (scripted endpoint, real sandbox, g++, real store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from language_bench_helpers import ROOT, LanguageServer, problem_file, program
from language_helpers import need_toolchain

from codemend.benchmarks import load_benchmark
from codemend.benchmarks.codecontests import load_codecontests
from codemend.errors import ProblemFileError
from codemend.trajectories import TrajectoryStore


def record(**changes: object) -> dict[str, object]:
    """A CodeContests record of the fixture problem (ours), with a solution per language."""
    fixture = json.loads(problem_file("python").read_text())
    tests = fixture["tests"]

    def pairs(chosen: list[dict[str, str]]) -> dict[str, list[str]]:
        return {"input": [t["stdin"] for t in chosen], "output": [t["expected_stdout"] for t in chosen]}

    base = {
        "name": "1000_A. Max run",
        "description": fixture["prompt"],
        "public_tests": pairs([tests[2], tests[0]]),
        "private_tests": pairs(tests[3:4]),
        "generated_tests": pairs(tests[4:]),
        "source": 2,
        "difficulty": 7,
        "cf_rating": 1200,
        "time_limit": {"seconds": 2, "nanos": 500000000},
        "memory_limit_bytes": 256000000,
        "input_file": "",
        "output_file": "",
        "solutions": {
            "language": [3, 2, 4],
            "solution": [program("python"), program("cpp"), program("java")],
        },
        "incorrect_solutions": {"language": [2], "solution": [program("cpp", "buggy")]},
    }
    return {**base, **changes}


def write(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_tests_limits_metadata_and_the_reference_in_the_language(tmp_path: Path) -> None:
    path = write(tmp_path / "cc.jsonl", record())
    (python,) = load_benchmark("codecontests", path)
    assert python.id == "codecontests/1000_A. Max run" and python.language == "python"
    assert [t.visibility for t in python.tests] == ["visible"] * 2 + ["hidden"] * 4
    assert python.tests[0].stdin.startswith("4\n1000000000")  # public tests in the data's order
    assert python.time_limit_s == 2.5 and python.memory_limit_mb == 244
    assert python.metadata == {"source": "codeforces", "difficulty": "A", "cf_rating": 1200}
    assert python.reference_solution == program("python")
    assert "standard input" in python.prompt
    (cpp,) = load_benchmark("codecontests", path, language="cpp")
    assert cpp.language == "cpp" and cpp.reference_solution == program("cpp")
    (rust,) = load_codecontests(path, "rust")  # no Rust solutions in CodeContests
    assert rust.language == "rust" and rust.reference_solution is None


def test_named_files_and_no_tests_are_skipped(tmp_path: Path) -> None:
    empty = {"input": [], "output": []}
    files = record(name="files", input_file="input.txt")
    none = record(name="none", public_tests=empty, private_tests=empty, generated_tests=empty)
    kept = load_codecontests(write(tmp_path / "cc.jsonl", files, none, record()))
    assert [p.id for p in kept] == ["codecontests/1000_A. Max run"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"public_tests": {"input": ["1"], "output": []}}, "public_tests"),
        ({"private_tests": {"input": [1], "output": ["2"]}}, "private_tests"),
        ({"solutions": {"language": [2], "solution": []}}, "solutions"),
        ({"description": None}, "description"),
    ],
)
def test_bad_records_name_line_and_field(tmp_path: Path, change: dict[str, object], field: str) -> None:
    path = write(tmp_path / "cc.jsonl", record(), record(name="bad", **change))
    with pytest.raises(ProblemFileError) as info:
        load_codecontests(path)
    assert (info.value.line, info.value.field) == (2, field)


@pytest.mark.slow
def test_bench_codecontests_in_cpp_with_its_cpp_reference(tmp_path: Path) -> None:
    need_toolchain("cpp")
    data = write(tmp_path / "cc.jsonl", record())
    with LanguageServer() as endpoint:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
        env |= {"CODEMEND_BASE_URL": endpoint.url, "CODEMEND_MODEL": "scripted", "PYTHONPATH": str(ROOT)}
        run_dir = tmp_path / "run"
        args = [
            "codecontests",
            "--data",
            str(data),
            "--language",
            "cpp",
            "--rounds",
            "1",
            "--by",
            "difficulty",
        ]
        command = [sys.executable, "-m", "codemend", "bench", *args, "--run-dir", str(run_dir)]
        out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        endpoint.check()
    assert out.returncode == 0, out.stderr
    assert (
        "(1 problems x 1 sample(s) in C++," in out.stdout and "solved 1/1 scored trajectories" in out.stdout
    )
    assert "## By difficulty" in (run_dir / "report.md").read_text()
    with TrajectoryStore(run_dir / "trajectories.db", read_only=True) as store:
        (trajectory,) = store.trajectories()
    assert trajectory.problem.language == "cpp" and trajectory.problem.reference_solution == program("cpp")
    assert [s.kind for s in trajectory.steps] == ["generate", "repair"]  # buggy, then repaired
    assert trajectory.final_code == program("cpp")
