"""Splitting HumanEval-style check functions into independent assertion tests."""

from __future__ import annotations

import pytest

from codemend.benchmarks.humaneval import docstring_asserts, load_humaneval, raw_records
from codemend.problems import split_check
from codemend.sandbox import LocalSandbox


def test_each_assert_becomes_a_test_with_the_preamble() -> None:
    src = (
        "METADATA = {}\n\n"
        "def check(candidate):\n"
        "    import math\n"
        "    tol = 1e-6\n"
        "    assert abs(candidate(4) - 2) < tol\n"
        "    assert True, 'debugging aid'\n"
        "    for x in range(3):\n"
        "        assert candidate(x * x) == x\n"
    )
    parts = split_check(src, "root")
    assert parts.split and parts.setup == "METADATA = {}"
    assert parts.tests == (
        "candidate = root\nimport math\ntol = 1e-06\nassert abs(candidate(4) - 2) < tol",
        "candidate = root\nimport math\ntol = 1e-06\nfor x in range(3):\n    assert candidate(x * x) == x",
    )


def test_state_carried_between_statements_keeps_the_body_whole() -> None:
    src = "def check(candidate):\n    out = candidate(1)\n    assert out == 2\n    assert candidate(2) == 3\n"
    parts = split_check(src, "inc")
    assert not parts.split
    assert parts.tests == ("candidate = inc\nout = candidate(1)\nassert out == 2\nassert candidate(2) == 3",)


def test_a_differently_named_parameter_is_honoured() -> None:
    parts = split_check("def check(fn):\n    assert fn(1) == 1\n", "ident")
    assert parts.tests == ("fn = ident\nassert fn(1) == 1",)


@pytest.mark.parametrize("src", ["def nope(candidate):\n    pass\n", "def check(candidate:\n"])
def test_bad_test_sources_raise(src: str) -> None:
    with pytest.raises(ValueError):
        split_check(src, "f")


def test_humaneval_loads_with_visible_and_hidden_tests() -> None:
    problems = load_humaneval()
    assert len(problems) == len(list(raw_records())) == 164
    assert all(p.hidden_tests() for p in problems)
    assert sum(bool(p.visible_tests()) for p in problems) >= 60
    first = problems[0]
    assert first.id == "HumanEval/0" and first.entry_point == "has_close_elements"
    assert first.visible_tests()[0].code == "assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False"


def test_canonical_solutions_pass_their_visible_tests(sandbox: LocalSandbox) -> None:
    """Visible examples come from the prompts; none may contradict the reference solution."""
    records = {r["task_id"]: r for r in raw_records()}
    problems = [p for p in load_humaneval() if p.visible_tests()]
    assert len(problems) >= 110
    failing = [
        (p.id, r.call, r.expected, r.actual)
        for p in problems
        for r in sandbox.run(p, p.prompt + records[p.id]["canonical_solution"], p.visible_tests()).results
        if not r.passed
    ]
    assert failing == []


def test_arrow_style_examples_become_visible_tests() -> None:
    prompt = (
        'def digitSum(s):\n    """Examples:\n'
        '        digitSum("") => 0\n        digitSum("ab") -> 0\n    """\n'
    )
    assert docstring_asserts(prompt, "digitSum") == ['assert digitSum("") == 0', 'assert digitSum("ab") == 0']
    assert docstring_asserts('"""\n    f(true) => x\n"""', "f") == []  # not literals: left out
