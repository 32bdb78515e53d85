"""The critic's deterministic constraints, in CORGI order, on hand-made reports."""

from __future__ import annotations

import pytest

from codemend.agents import ImportPolicy, check_constraints
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.records import CompileReport
from codemend.sandbox import TestReport, TestResult

PROBLEM = Problem.model_validate(
    {
        "id": "p",
        "prompt": "add",
        "entry_point": "add",
        "time_limit_s": 2,
        "tests": [{"code": "assert add(1, 2) == 3"}, {"code": "assert add(1, b=2) == 3"}],
    }
)


def report(*statuses: str, hidden: str | None = None) -> TestReport:
    results = [
        TestResult(index=i, kind="assert", visibility="visible", status=s, call=f"add({i})")  # type: ignore[arg-type]
        for i, s in enumerate(statuses)
    ]
    if hidden is not None:
        results.append(TestResult(index=len(results), kind="assert", visibility="hidden", status=hidden))  # type: ignore[arg-type]
    return TestReport(results=results)


def check(
    code: str, rep: TestReport | None = None, policy: ImportPolicy | None = None, problem: Problem = PROBLEM
):
    return check_constraints(problem, code, rep or report("passed", "passed"), policy or ImportPolicy())


def by_name(constraints: list, name: str):  # type: ignore[no-untyped-def]
    (found,) = [c for c in constraints if c.name == name]
    return found


def test_constraints_come_in_corgi_order_with_one_per_visible_test() -> None:
    constraints = check("def add(a, b):\n    return a + b\n")
    assert [c.name for c in constraints] == [
        "parses",
        "entry_point",
        "imports",
        "tests",
        "tests",
        "resources",
    ]
    assert all(c.satisfied for c in constraints)
    assert by_name(constraints, "entry_point").evidence == "defines `add(a, b)`"


def test_a_syntax_error_gives_line_and_message_and_blocks_later_checks() -> None:
    constraints = check("def add(a, b):\n    return a +\n", report("error", "error"))
    parses = by_name(constraints, "parses")
    assert not parses.satisfied
    assert parses.evidence.startswith("line 2: invalid syntax")
    assert by_name(constraints, "entry_point").evidence == "not checked: the code does not parse"
    assert not by_name(constraints, "imports").satisfied


@pytest.mark.parametrize(
    ("code", "satisfied", "evidence"),
    [
        ("def plus(a, b):\n    return a + b\n", False, "no top-level `add`"),
        ("def add(a):\n    return a\n", False, "`add(a)` cannot be called as `add(_, _)`"),
        ("def add(x, y):\n    return x + y\n", False, "`add(x, y)` cannot be called as `add(_, b=_)`"),
        ("def add(a, b, c):\n    return a\n", False, "cannot be called as `add(_, _)`"),
        ("def add(a, b, c=0):\n    return a + b\n", True, "defines `add(a, b, c=0)`"),
        ("def add(*args, **kw):\n    return 3\n", True, "defines `add(*args, **kw)`"),
        ("add = lambda a, b: a + b\n", True, "`add` defined (not a def)"),
        ("def add(a):\n    pass\ndef add(a, b):\n    return a + b\n", True, "defines `add(a, b)`"),
    ],
)
def test_the_entry_point_must_take_the_calls_of_the_visible_tests(
    code: str, satisfied: bool, evidence: str
) -> None:
    found = by_name(check(code), "entry_point")
    assert found.satisfied is satisfied
    assert evidence in found.evidence


def test_the_starter_signature_is_a_call_shape_too() -> None:
    problem = PROBLEM.model_copy(update={"starter_code": "def add(a, b, c=1):\n    ...\n", "tests": []})
    found = by_name(check("def add(a, b):\n    return a + b\n", report(), problem=problem), "entry_point")
    assert not found.satisfied
    assert "starter code" in found.evidence


def test_a_program_without_entry_point_satisfies_the_entry_point_constraint() -> None:
    program = Problem.model_validate(
        {"id": "io", "prompt": "", "tests": [{"stdin": "1", "expected_stdout": "1"}]}
    )
    assert by_name(check("print(input())\n", report("passed"), problem=program), "entry_point").satisfied


def test_the_default_import_policy_forbids_nothing() -> None:
    code = "import socket, subprocess\ndef add(a, b):\n    return a + b\n"
    assert by_name(check(code), "imports").satisfied


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("import socket", "socket"),
        ("from urllib.request import urlopen", "urllib.request"),
        ("import subprocess as sp", "subprocess"),
        ("import os\nos.system('ls')", "os.system"),
        ("import os\nos.execv('/bin/ls', [])", "os.execv"),
        ("s = __import__('socket')", "socket"),
        ("import importlib\nm = importlib.import_module('http.client')", "http.client"),
    ],
)
def test_the_strict_policy_forbids_network_and_subprocess(code: str, named: str) -> None:
    found = by_name(
        check(code + "\ndef add(a, b):\n    return a + b\n", policy=ImportPolicy.strict()), "imports"
    )
    assert not found.satisfied
    assert named in found.evidence and found.evidence.startswith("strict policy forbids")


def test_the_strict_policy_allows_ordinary_modules() -> None:
    code = "import math, os.path, collections\ndef add(a, b):\n    return math.fsum([a, b])\n"
    assert by_name(check(code, policy=ImportPolicy.named("strict")), "imports").satisfied


def test_unknown_policy_name_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown import policy 'lax'"):
        ImportPolicy.named("lax")


def test_each_visible_verdict_and_time_and_memory() -> None:
    constraints = check("def add(a, b):\n    return a + b\n", report("failed", "timeout", "memory"))
    tests = [c for c in constraints if c.name == "tests"]
    assert [c.satisfied for c in tests] == [False, False, False]
    assert tests[0].evidence == "test 0: failed: add(0)"
    resources = by_name(constraints, "resources")
    assert not resources.satisfied
    assert resources.evidence == (
        "test 1 exceeded the 2s time limit; test 2 exceeded the 1024 MB memory limit"
    )


def test_hidden_results_are_never_read() -> None:
    constraints = check("def add(a, b):\n    return a + b\n", report("passed", "passed", hidden="timeout"))
    assert len([c for c in constraints if c.name == "tests"]) == 2
    assert all(c.satisfied for c in constraints)


def test_compiler_warnings_are_caught_and_become_evidence() -> None:
    """A reply the compiler warns about prints nothing (not even with warnings as errors, as
    pytest runs here) and the warning reaches the critique."""
    import subprocess
    import sys

    code = "def f(x):\n    return (1, 2)(x)\n"
    script = (
        "from codemend.agents import ImportPolicy, check_constraints\n"
        "from codemend.llm import extract_code\n"
        "from codemend.problems import Problem\n"
        "from codemend.records import TestReport\n"
        f"code = {code!r}\n"
        "extract_code('```python\\n' + code + '```')\n"
        "problem = Problem(id='p', prompt='', entry_point='f')\n"
        "found = check_constraints(problem, code, TestReport(results=[]), ImportPolicy())\n"
        "print(next(c for c in found if c.name == 'parses').evidence)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "line 2: 'tuple' object is not callable; perhaps you missed a comma?" in out.stdout


# -- programs in other languages: "compiles" in place of "parses" ---------------------------

CPP = Problem(id="c", prompt="double", language="cpp", tests=[{"stdin": "2", "expected_stdout": "4"}])
GCC_ERROR = """\
/tmp/run-1/main.cpp: In function 'int main()':
/tmp/run-1/main.cpp:3:26: error: conversion from 'int' to non-scalar type 'std::vector<int>' requested
    3 |     std::vector<int> v = 3;
      |                          ^
/tmp/run-1/main.cpp:3:22: warning: unused variable 'v' [-Wunused-variable]
    3 |     std::vector<int> v = 3;
      |                      ^
"""


def compiled(status: str, output: str, *statuses: str) -> TestReport:
    results = [
        TestResult(index=i, kind="io", visibility="visible", status=s)  # type: ignore[arg-type]
        for i, s in enumerate(statuses)
    ]
    return TestReport(results=results, compile=CompileReport(status=status, output=output))  # type: ignore[arg-type]


def test_a_program_that_does_not_compile_fails_compiles_with_its_error_lines() -> None:
    constraints = check("int main() {}", compiled("error", GCC_ERROR, "error"), problem=CPP)
    assert [c.name for c in constraints] == ["compiles", "entry_point", "imports", "tests", "resources"]
    found = by_name(constraints, "compiles")
    assert not found.satisfied
    assert found.evidence.splitlines()[0].endswith(
        "error: conversion from 'int' to non-scalar type 'std::vector<int>' requested"
    )
    assert "^" in found.evidence and "In function" not in found.evidence


def test_warnings_of_a_program_that_compiles_are_its_evidence() -> None:
    found = by_name(
        check("int main() {}", compiled("ok", GCC_ERROR.split("\n", 4)[-1], "passed"), problem=CPP),
        "compiles",
    )
    assert found.satisfied
    assert found.evidence.startswith("the compiler warns:\n") and "unused variable 'v'" in found.evidence
    assert by_name(
        check("int main() {}", compiled("ok", "", "passed"), problem=CPP), "compiles"
    ).evidence == ("compiles as C++")


def test_a_compile_timeout_and_a_reply_in_another_language_say_so() -> None:
    report_ = TestReport(
        results=[TestResult(index=0, kind="io", visibility="visible", status="timeout")],
        compile=CompileReport(status="timeout", detail="compiling took longer than 30 s"),
    )
    python = "import sys\n\ndef main():\n    print(int(sys.stdin.read()) * 2)\n\nprint(1)\n"
    found = by_name(check(python, report_, problem=CPP), "compiles")
    assert (found.satisfied, found.evidence) == (
        False,
        "the code is written in Python, not C++; compiling took longer than 30 s",
    )


def test_the_import_policy_is_not_applied_to_other_languages() -> None:
    found = by_name(
        check("int main() {}", compiled("ok", "", "passed"), ImportPolicy.strict(), CPP), "imports"
    )
    assert (found.satisfied, found.evidence) == (True, "not checked in C++ (Python only)")
