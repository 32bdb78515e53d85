"""``in_language``: APPS, LiveCodeBench and codemend problems to be written in another language,
their Python-only parts dropped; problems that call a function left out with the reason; the
language kept in the bench spec and read by ``--by language``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from language_bench_helpers import MULTIPL_E, combined_jsonl

from codemend.benchmarks import BenchSpec, in_language, load_benchmark
from codemend.benchmarks.breakdown import check_key, groups_of
from codemend.benchmarks.languages import problem_in
from codemend.errors import UserError
from codemend.languages import LANGUAGES
from codemend.problems import IOTest, PerfTest, Problem

ROOT = Path(__file__).resolve().parent.parent


def write_jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


APPS_STDIN = {
    "problem_id": 7,
    "question": "Print the sum of two integers.",
    "starter_code": "",
    "input_output": json.dumps({"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]}),
    "difficulty": "introductory",
}
APPS_CALL = {
    "problem_id": 8,
    "question": "Return twice x.",
    "starter_code": "class Solution:\n    def twice(self, x):\n",
    "input_output": json.dumps({"fn_name": "twice", "inputs": [[1]], "outputs": [2]}),
}


def test_apps_stdin_problems_take_the_language_and_call_based_ones_are_left_out(tmp_path: Path) -> None:
    problems = load_benchmark("apps", write_jsonl(tmp_path / "apps.jsonl", APPS_STDIN, APPS_CALL))
    found = in_language(problems, "cpp")
    (cpp,) = found.problems
    assert cpp.language == "cpp" and cpp.id == "apps/7" and cpp.entry_point is None
    assert cpp.tests == problems[0].tests and cpp.metadata == {"difficulty": "introductory"}
    assert cpp.prompt == problems[0].prompt  # no starter code to drop
    assert found.left_out == {
        "apps/8": "their tests call a Python function (call-based), not a program on stdin/stdout"
    }
    assert found.note() == (
        "--language cpp: 1 of 2 problems left out (their tests call a Python function "
        "(call-based), not a program on stdin/stdout)"
    )
    with pytest.raises(UserError, match="problem apps/8 cannot be written in cpp: their tests call"):
        found.check_ids(["8"])
    found.check_ids(["7"])  # a kept one is fine


def test_livecodebench_functional_problems_are_left_out(tmp_path: Path) -> None:
    stdin = {
        "question_id": "abc1",
        "question_content": "Double it.",
        "public_test_cases": json.dumps([{"input": "2\n", "output": "4\n", "testtype": "stdin"}]),
        "private_test_cases": json.dumps([{"input": "5\n", "output": "10\n", "testtype": "stdin"}]),
        "metadata": "{}",
        "platform": "atcoder",
    }
    functional = {
        "question_id": "lc2",
        "question_content": "Add.",
        "starter_code": "class Solution:\n    def add(self, a: int, b: int) -> int:\n        ",
        "public_test_cases": json.dumps([{"input": "1\n2", "output": "3", "testtype": "functional"}]),
        "metadata": json.dumps({"func_name": "add"}),
        "platform": "leetcode",
    }
    problems = load_benchmark("livecodebench", write_jsonl(tmp_path / "lcb.jsonl", stdin, functional))
    found = in_language(problems, "java")
    assert [(p.id, p.language) for p in found.problems] == [("livecodebench/abc1", "java")]
    assert list(found.left_out) == ["livecodebench/lc2"]
    assert [t.expected_stdout for t in found.problems[0].tests if isinstance(t, IOTest)] == [
        "4\n",
        "4\n",
        "10\n",
    ]


def test_python_only_parts_are_dropped() -> None:
    """Starter code (out of the prompt too), performance calls and generator, setup code and the
    Python reference solution go; stdin performance inputs stay."""
    python = Problem(
        id="p",
        prompt="Read a number and print it doubled.\n\nimport sys\n",
        starter_code="import sys\n",
        tests=[IOTest(stdin="2\n", expected_stdout="4\n")],
        reference_solution="print(2 * int(input()))\n",
        perf_tests=[PerfTest(stdin="9\n")],
    )
    rust = problem_in(python, "rust")
    assert isinstance(rust, Problem)
    assert rust.language == "rust" and rust.prompt == "Read a number and print it doubled.\n"
    assert rust.starter_code == "" and rust.reference_solution is None
    assert rust.perf_tests == python.perf_tests and rust.tests == python.tests
    assert problem_in(rust, "rust") is rust  # already in the language: as it is


def test_mixed_tests_and_no_problem_left_are_said() -> None:
    mixed = Problem(
        id="m",
        prompt="",
        entry_point="f",
        tests=[{"kind": "assert", "code": "assert f() == 1"}, IOTest(stdin="", expected_stdout="1\n")],  # type: ignore[list-item]
    )
    assert problem_in(mixed, "c") == "they mix stdin/stdout tests with assertion tests"
    with pytest.raises(UserError, match="none of the 1 problems can be written in C: they mix"):
        in_language([mixed], "c")
    assert in_language([mixed], None).problems == [mixed]  # no --language: as they are


def test_the_language_is_kept_in_the_spec_and_old_specs_load() -> None:
    assert BenchSpec(benchmark="apps", data="/x.jsonl").language is None
    stored = {"benchmark": "apps", "data": "/x.jsonl", "objective": "correctness"}  # before --language
    assert BenchSpec.model_validate(stored).language is None
    spec = BenchSpec(benchmark="apps", data="/x.jsonl", language="rust")
    assert BenchSpec.model_validate_json(spec.model_dump_json()) == spec
    with pytest.raises(ValueError, match="language"):
        BenchSpec(benchmark="apps", language="cobol")  # type: ignore[arg-type]


def test_by_language_groups_problems_by_their_own_language(tmp_path: Path) -> None:
    problems = load_benchmark("jsonl", combined_jsonl(tmp_path / "all.jsonl"))
    check_key(problems, "language")  # no metadata key needed
    groups = groups_of(problems, "language")
    assert sorted(groups) == sorted(LANGUAGES)
    assert groups["rust"] == ["max-subarray-rust"]
    multipl = load_benchmark("multipl-e", MULTIPL_E)
    assert groups_of(in_language(multipl, "c").problems, "language") == {"c": [p.id for p in multipl]}
