"""Call tests in problem files: the signature, the token encoding of arguments and results, and
the supervisor's decoding and comparison of a driver's output (``runtime/values.py``)."""

from __future__ import annotations

import math

import pytest

from codemend.problems import Problem
from codemend.problems.signature import encode
from codemend.sandbox.runtime import values

SIG = {"params": [["n", "int"], ["words", "list[str]"]], "returns": "list[float]"}


def call_problem(**extra: object) -> Problem:
    data = {"id": "c", "prompt": "", "language": "rust", "entry_point": "f", "signature": SIG}
    tests = [{"kind": "call", "args": [2, ["a b", "é"]], "expected": [0.5, 1.0]}]
    return Problem.model_validate({**data, "tests": tests, **extra})


def test_a_call_test_is_an_io_test_for_the_driver() -> None:
    (test,) = call_problem().tests
    assert test.kind == "io"
    assert test.stdin == "2 2 3 a b 2 é\n"
    assert test.expected_stdout == "2 0.5 1.0\n"
    assert (test.call, test.result_type) == ("f(2, ['a b', 'é'])", "list[float]")


def test_problems_without_call_tests_serialise_as_before() -> None:
    data = Problem(id="p", prompt="", tests=[{"stdin": "1", "expected_stdout": "1"}]).model_dump()
    assert "signature" not in data and set(data["tests"][0]) == {
        "kind",
        "stdin",
        "expected_stdout",
        "visibility",
    }
    again = Problem.model_validate(call_problem().model_dump())
    assert again == call_problem()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"language": "python"}, "call tests are for other languages than Python"),
        ({"language": "c"}, "a signature is for function-level tests in cpp, java, javascript, rust, not C"),
        ({"signature": None}, "call tests need a valid `signature`"),
        ({"signature": {"params": [["n", "int"]], "returns": "list[float]"}}, "must be a list of 1 argument"),
        ({"signature": {"params": [["n", "dict"], ["w", "str"]], "returns": "int"}}, "unknown type 'dict'"),
        ({"tests": [{"kind": "call", "args": ["2", []], "expected": []}]}, "'2' is not a 64-bit int"),
        ({"tests": [{"kind": "call", "args": [2, []]}]}, "a call test needs `expected`"),
        ({"tests": [{"kind": "call", "args": [2**70, []], "expected": []}]}, "is not a 64-bit int"),
    ],
)
def test_bad_call_tests_say_what_is_wrong(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call_problem(**extra)


def test_encoding_checks_types_and_counts_string_bytes() -> None:
    assert encode([[1], []], "list[list[int]]") == "2 1 1 0"
    assert encode("é\n", "str") == "3 é\n"
    assert encode(True, "bool") == "1" and encode(2, "float") == "2.0"
    with pytest.raises(ValueError, match="is not a bool"):
        encode(1, "bool")


def test_decoding_a_drivers_output() -> None:
    assert values.decode(b"2 3 a b 2 \xc3\xa9 \n", "list[str]") == ["a b", "\xe9"]
    assert values.decode(b"1.0E-7", "float") == 1e-7
    assert math.isnan(values.decode(b"NaN", "float"))  # type: ignore[arg-type]
    for data, kind, why in [
        (b"", "int", "ended before the value"),
        (b"1 2", "int", "more output after the value"),
        (b"1.5", "int", "is not an int"),
        (b"true", "bool", "is not a bool"),
        (b"5 abc", "str", "ended inside a string"),
        (b"-1", "list[int]", "is not a length"),
        (b"3x abc", "str", "is not a length"),
    ]:
        with pytest.raises(values.Malformed, match=why):
            values.decode(data, kind)


def test_comparison_is_typed_and_floats_are_close() -> None:
    assert values.same([0.1 + 0.2], [0.3], "list[float]")
    assert not values.same([0.31], [0.3], "list[float]")
    assert values.same(float("nan"), float("nan"), "float")
    assert not values.same(1, True, "int") and not values.same([1, 2], [1], "list[int]")
