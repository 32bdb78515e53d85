"""Feedback text from real sandbox reports: the failing call, expected vs actual, the trimmed
traceback, and never a hidden test."""

from __future__ import annotations

from language_helpers import DOUBLE, io_problem, need_toolchain
from repair_helpers import CRASH, HIDDEN_MARK, RIGHT, WRONG, asserts_problem

from codemend.agents import ImportPolicy, check_constraints, feedback_text
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["repair_fixtures"]


def feedback(problem: Problem, code: str, sandbox: LocalSandbox, *, all_tests: bool = False) -> str:
    report = sandbox.run(problem, code, problem.tests if all_tests else problem.visible_tests())
    constraints = check_constraints(problem, code, report, ImportPolicy())
    return feedback_text(problem, constraints, report)


def test_a_wrong_answer_shows_call_expected_and_actual(square: Problem, sandbox: LocalSandbox) -> None:
    text = feedback(square, WRONG, sandbox)
    assert "Test `assert square(3) == 9` failed\n  call: square(3)\n  expected: 9\n  actual:   -9" in text
    assert text.endswith("0 of 2 visible test(s) pass.")


def test_an_exception_shows_type_message_and_the_solution_frames(
    square: Problem, sandbox: LocalSandbox
) -> None:
    text = feedback(square, CRASH, sandbox)
    assert "Test `assert square(3) == 9` raised ZeroDivisionError: division by zero" in text
    assert "traceback (last lines):" in text
    assert "return x / 0" in text


def test_a_timeout_names_the_limit(sandbox: LocalSandbox) -> None:
    problem = asserts_problem("assert f() == 1", time_limit_s=0.5)
    text = feedback(problem, "def f():\n    while True:\n        pass\n", sandbox)
    assert "did not finish within 0.5s" in text


def test_a_syntax_error_is_all_that_is_said(square: Problem, sandbox: LocalSandbox) -> None:
    text = feedback(square, "def square(x):\n    return x *\n", sandbox)
    assert text == "The code does not parse: line 2: invalid syntax. Reply with valid Python."


def test_entry_point_and_imports_come_before_the_tests(sandbox: LocalSandbox) -> None:
    problem = asserts_problem("assert f(1) == 1")
    code = "import socket\ndef g(x):\n    return x\n"
    report = sandbox.run(problem, code, problem.visible_tests())
    text = feedback_text(problem, check_constraints(problem, code, report, ImportPolicy.strict()), report)
    first, second, *_ = text.split("\n\n")
    assert first == "Wrong or missing entry point: no top-level `f`."
    assert second.startswith("Import not allowed: strict policy forbids socket")


def test_only_the_first_three_failures_are_described(sandbox: LocalSandbox) -> None:
    problem = asserts_problem(*[f"assert f({i}) == {i}" for i in range(5)])
    text = feedback(problem, "def f(x):\n    return -1\n", sandbox)
    assert text.count(" failed\n") == 3
    assert "(2 more failing test(s) not shown.)" in text


def test_io_failures_show_stdin_and_the_outputs(sandbox: LocalSandbox) -> None:
    problem = Problem.model_validate(
        {"id": "io", "prompt": "double", "tests": [{"stdin": "2\n", "expected_stdout": "4\n"}]}
    )
    text = feedback(problem, "print(int(input()) * 3)\n", sandbox)
    assert "stdin: '2\\n'" in text
    assert "expected: 4" in text and "actual:   6" in text


def test_passing_code_says_so(square: Problem, sandbox: LocalSandbox) -> None:
    assert feedback(square, RIGHT, sandbox) == "All 2 visible test(s) pass."


def test_hidden_results_never_reach_the_feedback(square: Problem, sandbox: LocalSandbox) -> None:
    text = feedback(square, WRONG, sandbox, all_tests=True)
    assert HIDDEN_MARK not in text
    assert "square(4)" not in text and "square(0.5)" not in text
    assert text.endswith("0 of 2 visible test(s) pass.")


# -- programs in other languages ------------------------------------------------------------


def test_a_compile_error_is_all_that_is_said_with_the_diagnostics(sandbox: LocalSandbox) -> None:
    need_toolchain("cpp")
    problem = io_problem("cpp", ("2\n", "4\n"))
    text = feedback(problem, "#include <vector>\nint main() {\n    std::vector<int> v = 3;\n}\n", sandbox)
    head = text.split("\n\n")[0]
    assert head.startswith("The code does not compile as C++:\n")
    assert head.splitlines()[1].startswith("main.cpp:3:26: error: conversion from ")
    assert text.endswith("Reply with valid C++.")


def test_a_reply_in_another_language_is_named(sandbox: LocalSandbox) -> None:
    need_toolchain("rust")
    problem = io_problem("rust", ("2\n", "4\n"))
    text = feedback(problem, DOUBLE["python"], sandbox)
    assert text.startswith("The code does not compile as Rust:\nthe code is written in Python, not Rust; ")


def test_a_runtime_error_shows_the_programs_stderr(sandbox: LocalSandbox) -> None:
    need_toolchain("rust")
    problem = io_problem("rust", ("x\n", "4\n"))
    text = feedback(problem, DOUBLE["rust"], sandbox)
    assert "raised an exception" not in text
    assert "the program exited with status 101" in text
    assert "panicked at" in text and "ParseIntError" in text and "main.rs:7:" in text
    assert text.endswith("0 of 1 visible test(s) pass.")
