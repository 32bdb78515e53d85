"""The problem model and its loaders: valid files load, malformed ones name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemend.errors import ProblemFileError
from codemend.problems import AssertTest, IOTest, Problem, load_problem, load_problems

GOOD = {
    "id": "add",
    "prompt": "Add two numbers.",
    "entry_point": "add",
    "tests": [
        {"code": "assert add(1, 2) == 3"},
        {"kind": "assert", "code": "assert add(0, 0) == 0", "visibility": "hidden"},
    ],
}


def test_defaults_and_kinds() -> None:
    p = Problem.model_validate(GOOD)
    assert (p.language, p.time_limit_s, p.memory_limit_mb, p.starter_code) == ("python", 5.0, 1024, "")
    assert [type(t) for t in p.tests] == [AssertTest, AssertTest]
    assert [t.code for t in p.visible_tests()] == ["assert add(1, 2) == 3"]
    assert [t.code for t in p.hidden_tests()] == ["assert add(0, 0) == 0"]


def test_io_kind_is_inferred() -> None:
    p = Problem.model_validate({"id": "io", "prompt": "", "tests": [{"stdin": "1", "expected_stdout": "1"}]})
    assert isinstance(p.tests[0], IOTest)


def test_check_function_is_split_on_load() -> None:
    check = (
        "import math\n\ndef check(candidate):\n"
        "    assert candidate(1) == 2\n    assert True\n    assert candidate(2) == 3\n"
    )
    p = Problem.model_validate(
        {**GOOD, "entry_point": "inc", "tests": [{"kind": "check", "code": check, "visibility": "hidden"}]}
    )
    assert [t.code for t in p.tests] == [
        "candidate = inc\nassert candidate(1) == 2",
        "candidate = inc\nassert candidate(2) == 3",
    ]
    assert all(t.visibility == "hidden" for t in p.tests)
    assert p.test_setup_code == "import math"


def test_round_trip_through_json() -> None:
    p = Problem.model_validate(GOOD)
    assert Problem.model_validate_json(p.model_dump_json()) == p


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_jsonl_loads_every_line(tmp_path: Path) -> None:
    lines = [json.dumps({**GOOD, "id": f"p{i}"}) for i in range(3)]
    path = write(tmp_path, "p.jsonl", "\n".join(lines) + "\n\n")
    assert [p.id for p in load_problems(path)] == ["p0", "p1", "p2"]


def test_json_list_and_single_object(tmp_path: Path) -> None:
    assert len(load_problems(write(tmp_path, "l.json", json.dumps([GOOD, {**GOOD, "id": "b"}])))) == 2
    assert load_problem(write(tmp_path, "o.json", json.dumps(GOOD))).id == "add"


@pytest.mark.parametrize(
    ("lines", "line", "field", "message"),
    [
        ([GOOD, {**GOOD, "id": "x", "time_limit_s": -1}], 2, "time_limit_s", "greater than 0"),
        ([{**GOOD, "surprise": 1}], 1, "surprise", "Extra inputs are not permitted"),
        (
            [GOOD, GOOD, {**GOOD, "id": "z", "tests": [{"code": "assert 1", "visibility": "secret"}]}],
            3,
            "tests.0.visibility",
            "'visible' or 'hidden'",
        ),
        ([{k: v for k, v in GOOD.items() if k != "prompt"}], 1, "prompt", "Field required"),
        ([{**GOOD, "entry_point": "not valid"}], 1, "", "not a Python identifier"),
        ([{**GOOD, "tests": [{"kind": "io"}]}], 1, "tests.0.expected_stdout", "Field required"),
    ],
)
def test_malformed_jsonl_names_file_line_and_field(
    tmp_path: Path, lines: list[dict], line: int, field: str, message: str
) -> None:  # type: ignore[type-arg]
    path = write(tmp_path, "bad.jsonl", "\n".join(json.dumps(x) for x in lines))
    with pytest.raises(ProblemFileError) as info:
        load_problems(path)
    err = info.value
    assert (err.path, err.line) == (str(path), line)
    assert (err.field or "") == field
    assert message in str(err)
    assert str(err).startswith(f"{path}:{line}:")


def test_invalid_json_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(ProblemFileError, match=r"bad\.jsonl:2: invalid JSON"):
        load_problems(path)


def test_invalid_json_file_reports_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '{\n  "id": "x",\n  oops\n}')
    with pytest.raises(ProblemFileError) as info:
        load_problems(path)
    assert info.value.line == 3


def test_json_list_item_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "l.json", json.dumps([GOOD, {**GOOD, "memory_limit_mb": "lots"}]))
    with pytest.raises(ProblemFileError) as info:
        load_problems(path)
    assert info.value.field == "[1].memory_limit_mb"


DEEP = "[" * 100_000 + "]" * 100_000  # a RecursionError in Python's JSON parser


@pytest.mark.parametrize(
    ("name", "text", "line", "field"),
    [
        ("deep.json", DEEP, 1, None),
        ("deep.jsonl", json.dumps(GOOD) + '\n{"id": "x", "tests": ' + DEEP + "}\n", 2, "tests"),
        ("deep.json", "[" + json.dumps(GOOD) + ',\n {"id": "x",\n  "tests": ' + DEEP + "}]", 3, "[1].tests"),
        ("deep.json", '{"id": "x", "prompt": ' + DEEP + "}", 1, "prompt"),
    ],
    ids=["json", "jsonl", "json-list", "json-object"],
)
def test_nesting_too_deep_names_file_line_and_field(
    tmp_path: Path, name: str, text: str, line: int, field: str | None
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ProblemFileError) as info:
        load_problems(path)
    assert (info.value.line, info.value.field) == (line, field)
    assert "nested more than 500 levels deep" in str(info.value)


def test_duplicate_ids_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ProblemFileError, match="duplicate problem id 'add'"):
        load_problems(write(tmp_path, "d.jsonl", json.dumps(GOOD) + "\n" + json.dumps(GOOD)))
    with pytest.raises(ProblemFileError, match="cannot read"):
        load_problems(tmp_path / "missing.json")
    with pytest.raises(ProblemFileError, match="expected one problem, found 2"):
        load_problem(write(tmp_path, "two.json", json.dumps([GOOD, {**GOOD, "id": "b"}])))


def test_assert_tests_need_an_entry_point() -> None:
    with pytest.raises(ValueError, match="need an entry_point"):
        Problem.model_validate({**GOOD, "entry_point": None})


@pytest.mark.parametrize(
    ("tests", "setup", "field"),
    [
        ([{"code": "assert square(2) == 4"}, {"code": "assert square(3 == 9"}], "", "tests.1.code"),
        ([{"code": "assert square(2) == 4"}], "def helper(:\n    pass", "test_setup_code"),
    ],
)
def test_a_test_that_cannot_parse_is_refused_at_load(
    tmp_path: Path, tests: list[dict[str, str]], setup: str, field: str
) -> None:
    """It used to load, and solve asked the model to "repair" against a broken test."""
    fine = [{"code": "assert square(1) == 1"}]
    good = {"id": "fine", "prompt": "p", "entry_point": "square", "tests": fine}
    bad = {"id": "square", "prompt": "p", "entry_point": "square", "tests": tests, "test_setup_code": setup}
    path = tmp_path / "problems.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ProblemFileError) as caught:
        load_problems(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: field '{field}': problem 'square': ")
    assert "does not parse (line 1: " in message


def test_metadata_round_trips_and_an_empty_one_leaves_the_json_unchanged() -> None:
    """Stored problems are hashed by their JSON: one without metadata dumps as before the field."""
    plain = Problem.model_validate(GOOD)
    assert "metadata" not in plain.model_dump_json()
    tagged = Problem.model_validate({**GOOD, "metadata": {"difficulty": "interview", "tags": ["dp"]}})
    assert Problem.model_validate_json(tagged.model_dump_json()) == tagged
    assert tagged.model_dump(exclude={"metadata"}) == plain.model_dump()
    with pytest.raises(ValueError, match="metadata"):
        Problem.model_validate({**GOOD, "metadata": ["not", "a", "dict"]})
