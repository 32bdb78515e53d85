"""The MultiPL-E-style loader: the committed per-language fixture, I/O pairs with and without
visibility, MultiPL-E's language names, and precise errors (file, line, field), above all for
tests written in the target language, which are refused rather than run as trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from language_bench_helpers import MULTIPL_E, problem_file

from codemend.benchmarks import load_benchmark, load_multipl_e
from codemend.errors import ProblemFileError, UserError
from codemend.languages import LANGUAGES
from codemend.problems import load_problem

RECORD = {
    "name": "HumanEval_0_double",
    "language": "js",
    "prompt": "Read an integer and print it doubled.",
    "tests": [{"input": "2\n", "output": "4\n"}, {"input": "5\n", "output": "10\n"}],
    "stop_tokens": ["\nfunction "],
    "doctests": "keep",
    "prompt_terms": "reworded",
    "original": "HumanEval/0",
}


def write(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_the_fixture_has_every_language_and_the_examples_tests() -> None:
    problems = load_benchmark("multipl-e", MULTIPL_E)
    assert [p.language for p in problems] == list(LANGUAGES)
    for problem in problems:
        example = load_problem(problem_file(problem.language))
        assert problem.tests == example.tests and problem.prompt == example.prompt
        assert problem.metadata == {"original": f"examples/languages/{problem.language}/problem.json"}


def test_pairs_without_visibility_first_visible_all_hidden(tmp_path: Path) -> None:
    (problem,) = load_multipl_e(write(tmp_path / "m.jsonl", RECORD))
    assert problem.id == "multipl-e/HumanEval_0_double" and problem.language == "javascript"
    assert [(t.stdin, t.visibility) for t in problem.tests] == [
        ("2\n", "visible"), ("2\n", "hidden"), ("5\n", "hidden"),
    ]  # fmt: skip
    assert problem.entry_point is None and problem.metadata == {"original": "HumanEval/0"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"language": "lua"}, "language", "language 'lua' is not one codemend runs"),
        ({"tests": []}, "tests", "expected a non-empty list of I/O pairs"),
        ({"tests": [{"input": "1"}]}, "tests[0].output", "expected a string"),
        ({"tests": [{"input": "1", "output": "2", "stdin": "x"}]}, "tests[0]", "unknown field(s) ['stdin']"),
        (
            {"tests": [{"input": "1", "output": "2", "visibility": "secret"}]},
            "tests[0].visibility",
            "visible",
        ),
        ({"prompt": 3}, "prompt", "expected str"),
    ],
)
def test_bad_records_name_line_and_field(
    tmp_path: Path, change: dict[str, object], field: str, message: str
) -> None:
    path = write(tmp_path / "m.jsonl", RECORD, {**RECORD, "name": "other", **change})
    with pytest.raises(ProblemFileError) as info:
        load_multipl_e(path)
    assert info.value.line == 2 and info.value.field == field and message in str(info.value)


def test_target_language_tests_are_refused_never_run_as_trusted(tmp_path: Path) -> None:
    """MultiPL-E's own Java harness would be compiled into the candidate's program, where
    ``System.exit(0)`` before the assertions forges a pass: refused, saying why."""
    harness = {
        **RECORD,
        "language": "java",
        "tests": "    }\n    public static void main(String[] args) {\n"
        "    assert(twice((1l)) == (2l));\n    }\n\n}\n",
    }
    path = write(tmp_path / "java.jsonl", RECORD, harness)
    with pytest.raises(ProblemFileError) as info:
        load_multipl_e(path)
    error = info.value
    assert (error.line, error.field) == (2, "tests")
    assert str(error).startswith(
        f"{path}:2: field 'tests': tests written in Java (MultiPL-E's own harness) are refused"
    )
    assert "inside the candidate's process" in str(error) and "I/O pairs" in str(error)


def test_duplicate_names_and_a_missing_data_file(tmp_path: Path) -> None:
    with pytest.raises(ProblemFileError, match="duplicate name 'multipl-e/HumanEval_0_double'"):
        load_multipl_e(write(tmp_path / "m.jsonl", RECORD, RECORD))
    with pytest.raises(UserError, match="multipl-e needs --data PATH"):
        load_benchmark("multipl-e")
