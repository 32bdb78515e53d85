"""Benchmark loaders: real MBPP data, APPS/LiveCodeBench/EvalPlus shapes, and precise errors."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib
from pathlib import Path

import pytest

from codemend.benchmarks.humaneval import raw_records
from codemend.benchmarks.registry import BENCHMARKS, load_benchmark
from codemend.errors import ProblemFileError, UserError
from codemend.sandbox import LocalSandbox

# a few rows, committed (tests/data/README.md); the whole file is beside the checkout in CI only
MBPP = Path(__file__).resolve().parent / "data" / "mbpp_sample.jsonl"
MBPP_FULL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mbpp" / "mbpp.jsonl"


@pytest.fixture
def mbpp_full() -> Path:
    if not MBPP_FULL.is_file():
        pytest.skip(f"needs the whole MBPP file at {MBPP_FULL} (CI has it; a clone does not)")
    return MBPP_FULL


def write_jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    ("split", "count"), [("prompt", 10), ("validation", 90), ("train", 374), ("test", 0)]
)
def test_mbpp_splits_by_task_id(split: str, count: int, mbpp_full: Path) -> None:
    # the shared copy withholds the test split (11-510)
    assert len(load_benchmark("mbpp", mbpp_full, split)) == count


def test_mbpp_splits_of_the_committed_sample() -> None:
    counts = {split: len(load_benchmark("mbpp", MBPP, split)) for split in ("prompt", "validation", "train")}
    assert counts == {"prompt": 10, "validation": 2, "train": 2}


def test_mbpp_visible_is_the_first_test_hidden_are_all(sandbox: LocalSandbox) -> None:
    problem = load_benchmark("mbpp", MBPP, "validation")[0]
    assert problem.id == "mbpp/511" and problem.entry_point == "find_Min_Sum"
    assert [t.code for t in problem.visible_tests()] == ["assert find_Min_Sum(12) == 7"]
    assert len(problem.hidden_tests()) == 3
    assert "assert find_Min_Sum(12) == 7" in problem.prompt
    lines = MBPP.read_text().splitlines()
    reference = next(json.loads(line)["code"] for line in lines if '"task_id": 511' in line)
    assert sandbox.run(problem, reference, problem.hidden_tests()).passed


def test_mbpp_reference_solutions_pass_their_own_tests(sandbox: LocalSandbox) -> None:
    problems = load_benchmark("mbpp", MBPP, "prompt")
    records = [json.loads(line) for line in MBPP.read_text().splitlines()]
    codes = {f"mbpp/{r['task_id']}": r["code"] for r in records}
    assert all(sandbox.run(p, codes[p.id], p.hidden_tests()).passed for p in problems)


def test_mbpp_loader_accepts_the_full_file_layout(tmp_path: Path) -> None:
    record = json.loads(MBPP.read_text().splitlines()[0])
    path = write_jsonl(tmp_path / "mbpp.jsonl", {**record, "task_id": 11}, {**record, "task_id": 600})
    assert [p.id for p in load_benchmark("mbpp", path, "test")] == ["mbpp/11"]
    with pytest.raises(UserError, match="unknown MBPP split"):
        load_benchmark("mbpp", path, "dev")


def test_mbpp_errors_name_file_line_and_field(tmp_path: Path) -> None:
    record = json.loads(MBPP.read_text().splitlines()[0])
    path = write_jsonl(tmp_path / "bad.jsonl", record, {**record, "test_list": "assert f(1) == 1"})
    with pytest.raises(ProblemFileError) as info:
        load_benchmark("mbpp", path, "all")
    assert (info.value.line, info.value.field) == (2, "test_list")
    assert str(info.value).startswith(f"{path}:2:")


def test_apps_stdin_and_call_based(tmp_path: Path, sandbox: LocalSandbox) -> None:
    stdin = {
        "problem_id": 1,
        "question": "Add.",
        "starter_code": "",
        "input_output": json.dumps({"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]}),
    }
    call = {
        "problem_id": 2,
        "question": "Twice.",
        "starter_code": "class Solution:\n    def twice(self, x):\n",
        "input_output": json.dumps({"inputs": [[1], [2]], "outputs": [[2], [4]], "fn_name": "twice"}),
    }
    none = {"problem_id": 3, "question": "No tests.", "input_output": ""}
    add, twice = load_benchmark("apps", write_jsonl(tmp_path / "apps.jsonl", stdin, call, none))
    assert [t.kind for t in add.tests] == ["io"] * 3 and len(add.visible_tests()) == 1
    assert sandbox.run(add, "a, b = map(int, input().split())\nprint(a + b)\n").passed
    code = "class Solution:\n    def twice(self, x):\n        return 2 * x\n"
    report = sandbox.run(twice, code)
    assert report.passed and all(r.trusted for r in report.results)


def test_apps_bad_input_output(tmp_path: Path) -> None:
    bad = {"problem_id": 1, "question": "q", "input_output": json.dumps({"inputs": ["1"], "outputs": []})}
    with pytest.raises(ProblemFileError) as info:
        load_benchmark("apps", write_jsonl(tmp_path / "a.jsonl", bad))
    assert (info.value.line, info.value.field) == (1, "input_output")


APPS_RECORD = {
    "problem_id": 1,
    "question": "Add.",
    "input_output": json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]}),
}


@pytest.mark.parametrize("indent", [None, 2])
def test_a_json_array_file_is_read_like_json_lines(tmp_path: Path, indent: int | None) -> None:
    """A pretty-printed file used to be "line 1: invalid JSON"; errors name the item's line."""
    path = tmp_path / "apps.json"
    path.write_text(json.dumps([APPS_RECORD, {**APPS_RECORD, "problem_id": 2}], indent=indent))
    assert [p.id for p in load_benchmark("apps", path)] == ["apps/1", "apps/2"]
    path.write_text(json.dumps([APPS_RECORD, {**APPS_RECORD, "question": 7}], indent=indent))
    with pytest.raises(ProblemFileError) as info:
        load_benchmark("apps", path)
    assert (info.value.line, info.value.field) == (1 if indent is None else 7, "question")


def test_a_pretty_printed_object_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "apps.json"
    path.write_text("\n" + json.dumps(APPS_RECORD, indent=2))
    assert [p.id for p in load_benchmark("apps", path)] == ["apps/1"]
    path.write_text(json.dumps(APPS_RECORD, indent=2).replace('"Add.",', '"Add."'))  # line 3
    with pytest.raises(ProblemFileError, match="invalid JSON: Expecting ',' delimiter") as info:
        load_benchmark("apps", path)
    assert info.value.line == 4


def test_a_broken_json_line_says_what_format_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "apps.jsonl"
    path.write_text(json.dumps(APPS_RECORD) + "\n{oops}\n")
    with pytest.raises(ProblemFileError, match="expected one JSON object per line, or one JSON array"):
        load_benchmark("apps", path)


DEEP = "[" * 100_000 + "]" * 100_000
DEEP_PARSED = json.loads("[" * 400 + "1" + "]" * 400)  # reads, but cannot become test code


@pytest.mark.parametrize(
    ("name", "record", "field"),
    [
        ("apps", {**APPS_RECORD, "input_output": DEEP}, "input_output"),
        (
            "apps",
            {
                **APPS_RECORD,
                "input_output": json.dumps({"inputs": [[DEEP_PARSED]], "outputs": [1], "fn_name": "f"}),
            },
            None,
        ),
        (
            "livecodebench",
            {"question_id": "x", "question_content": "q", "public_test_cases": DEEP},
            "public_test_cases",
        ),
        (
            "humaneval+",
            {
                "task_id": "t",
                "prompt": "def f(x):\n",
                "entry_point": "f",
                "canonical_solution": "    return x\n",
                "base_input": [[DEEP_PARSED]],
            },
            None,
        ),
        (
            "evalperf",
            {
                "task_id": "t",
                "entry_point": "f",
                "prompt": "p",
                "reference": ["def f(x): return x"],
                "pe_input": DEEP,
            },
            "pe_input",
        ),
    ],
    ids=["apps-json", "apps-code", "livecodebench", "humaneval+", "evalperf"],
)
def test_pathologically_nested_data_is_a_problem_file_error(
    tmp_path: Path, name: str, record: dict[str, object], field: str | None
) -> None:
    """A RecursionError (or a pydantic error) used to end the command in a traceback."""
    ok = json.loads(MBPP.read_text().splitlines()[0]) if name == "mbpp" else None
    path = write_jsonl(tmp_path / "deep.jsonl", *([ok] if ok else []), record)
    with pytest.raises(ProblemFileError) as info:
        load_benchmark(name, path, "all" if name == "mbpp" else None)
    assert (info.value.line, info.value.field) == (1, field)


def test_pathologically_nested_mbpp_code_is_read(tmp_path: Path) -> None:
    record = json.loads(MBPP.read_text().splitlines()[0])
    deep = {**record, "code": "x = " + "-" * 100_000 + "1\n"}  # MemoryError in ast.parse
    (problem,) = load_benchmark("mbpp", write_jsonl(tmp_path / "deep.jsonl", deep), "all")
    assert problem.entry_point == record["code"].split("def ")[1].split("(")[0]


def _compressed(value: object) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(value)))).decode()


def test_livecodebench_public_visible_private_compressed_hidden(
    tmp_path: Path, sandbox: LocalSandbox
) -> None:
    stdin = {
        "question_id": "abc",
        "question_content": "Double it.",
        "starter_code": "",
        "metadata": "{}",
        "public_test_cases": json.dumps([{"input": "2\n", "output": "4\n", "testtype": "stdin"}]),
        "private_test_cases": _compressed([{"input": "5\n", "output": "10\n", "testtype": "stdin"}]),
    }
    functional = {
        "question_id": "lc1",
        "question_content": "Add.",
        "metadata": json.dumps({"func_name": "add"}),
        "starter_code": "class Solution:\n    def add(self, a: int, b: int) -> int:\n",
        "public_test_cases": json.dumps([{"input": "1\n2", "output": "3", "testtype": "functional"}]),
        "private_test_cases": "[]",
    }
    double, add = load_benchmark("livecodebench", write_jsonl(tmp_path / "lcb.jsonl", stdin, functional))
    assert [t.visibility for t in double.tests] == ["visible", "hidden", "hidden"]
    assert sandbox.run(double, "print(2 * int(input()))\n").passed
    assert not sandbox.run(double, "print(4)\n", double.hidden_tests()).passed
    assert sandbox.run(add, "class Solution:\n    def add(self, a, b):\n        return a + b\n").passed


class _Exploit:
    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, ("touch /tmp/codemend-pickle-pwned",))


def test_livecodebench_refuses_pickles_that_would_run_code(tmp_path: Path) -> None:
    evil = base64.b64encode(zlib.compress(pickle.dumps(_Exploit()))).decode()
    record = {
        "question_id": "x",
        "question_content": "q",
        "public_test_cases": "[]",
        "private_test_cases": evil,
    }
    with pytest.raises(ProblemFileError, match="refusing to load") as info:
        load_benchmark("livecodebench", write_jsonl(tmp_path / "evil.jsonl", record))
    assert info.value.field == "private_test_cases"
    assert not Path("/tmp/codemend-pickle-pwned").exists()


def test_evalplus_expected_outputs_come_from_the_canonical_solution(
    tmp_path: Path, sandbox: LocalSandbox
) -> None:
    record = next(r for r in raw_records() if r["task_id"] == "HumanEval/2")
    plus = {**record, "base_input": [[3.5], [1.33]], "plus_input": [[123.456], [0.0]], "atol": 1e-6}
    (problem,) = load_benchmark("humaneval+", write_jsonl(tmp_path / "he+.jsonl", plus))
    assert len(problem.hidden_tests()) == 4 and problem.visible_tests()
    assert sandbox.run(problem, problem.prompt + record["canonical_solution"]).passed
    report = sandbox.run(problem, problem.prompt + "    return number\n", problem.hidden_tests())
    assert report.results[0].status == "failed"
    assert report.results[0].exc_message == "expected 0.5, got 3.5"


def test_mbpp_plus_visible_is_the_first_base_input(tmp_path: Path, sandbox: LocalSandbox) -> None:
    record = {
        "task_id": "Mbpp/2",
        "prompt": '"""Shared elements."""',
        "entry_point": "similar",
        "canonical_solution": "def similar(a, b):\n    return tuple(set(a) & set(b))\n",
        "base_input": [[[3, 4, 5], [5, 7, 4]]],
        "plus_input": [[[1], [2]]],
        "atol": 0,
    }
    (problem,) = load_benchmark("mbpp+", write_jsonl(tmp_path / "m+.jsonl", record))
    assert len(problem.visible_tests()) == 1 and len(problem.hidden_tests()) == 2
    assert sandbox.run(problem, record["canonical_solution"]).passed


@pytest.mark.parametrize("name", [b for b in BENCHMARKS if b != "humaneval"])
def test_data_files_are_required_with_a_clear_message(name: str) -> None:
    with pytest.raises(UserError, match="needs --data PATH"):
        load_benchmark(name)


def test_loaders_keep_what_the_sources_say_of_each_problem(tmp_path: Path) -> None:
    apps = {**APPS_RECORD, "difficulty": "interview", "url": "https://codeforces.com/problemset/problem/1/A"}
    (problem,) = load_benchmark("apps", write_jsonl(tmp_path / "apps.jsonl", apps))
    assert problem.metadata == {"difficulty": "interview", "url": apps["url"]}
    lcb = {
        "question_id": "abc301_a",
        "question_title": "Overall Winner",
        "question_content": "Double it.",
        "platform": "atcoder",
        "contest_id": "abc301",
        "contest_date": "2023-05-13T00:00:00",
        "difficulty": "easy",
        "public_test_cases": json.dumps([{"input": "2\n", "output": "4\n", "testtype": "stdin"}]),
    }
    (problem,) = load_benchmark("livecodebench", write_jsonl(tmp_path / "lcb.jsonl", lcb))
    assert problem.metadata == {
        "platform": "atcoder",
        "difficulty": "easy",
        "contest_id": "abc301",
        "question_title": "Overall Winner",
        "release_date": "2023-05-13",
    }
    splits = {p.id: p.metadata for p in load_benchmark("mbpp", MBPP, "all")}
    assert splits["mbpp/1"] == {"split": "prompt"} and splits["mbpp/511"] == {"split": "validation"}
    perf = {
        "task_id": "HumanEval/0",
        "entry_point": "f",
        "prompt": "def f(x):\n",
        "reference": ["def f(x):\n    return x\n"],
        "pe_input": json.dumps([[[1]]]),
        "source": "humaneval",
        "n_solutions": 7,
        "solutions": ["not a scalar: left out"],
    }
    (problem,) = load_benchmark("evalperf", write_jsonl(tmp_path / "perf.jsonl", perf))
    assert problem.metadata == {"source": "humaneval", "n_solutions": 7}
    own = {"id": "t", "prompt": "p", "metadata": {"difficulty": "hard", "release_date": "2024-02-01"}}
    (problem,) = load_benchmark("jsonl", write_jsonl(tmp_path / "own.jsonl", own))
    assert problem.metadata == own["metadata"]


def test_a_livecodebench_date_that_is_no_date_names_its_line_and_field(tmp_path: Path) -> None:
    record = {
        "question_id": "x",
        "question_content": "q",
        "contest_date": "last Tuesday",
        "public_test_cases": "[]",
    }
    with pytest.raises(ProblemFileError, match="not an ISO date") as info:
        load_benchmark("livecodebench", write_jsonl(tmp_path / "lcb.jsonl", record))
    assert (info.value.line, info.value.field) == (1, "contest_date")
