"""``agents.structure``: CodeBLEU's syntax and data-flow match on Python's ``ast``, checked on
CodeBLEU's published examples; not available (with the reason) without a reference, or when a
program does not parse."""

from __future__ import annotations

import ast

import pytest
from repair_helpers import RIGHT

from codemend.agents import scored_structure, structure_score
from codemend.agents.statements import Credited, Statements
from codemend.agents.structure import closeness, data_flow, dataflow_match, syntax_match
from codemend.problems import Problem
from codemend.records import StructureScore, TestReport, TestResult

pytest_plugins = ["repair_fixtures"]

# (candidate, reference, syntax match, data-flow match) as published by CodeBLEU's maintained PyPI
# implementation (k4black/codebleu): its README's example, and its tests' simple Python cases
# (their component scores as that implementation computes them, on tree-sitter's trees).
PUBLISHED = [
    (
        "def add ( a , b ) :\n return a + b",
        "def sum ( first , second ) :\n return second + first",
        1.0,
        1.0,
    ),
    ("def bar ( y , x ) :\n    a = x * x\n    return a", "def foo ( x ) :\n    return x", 0.2, 1.0),
    ("def foo ( x ) :\n    return x * x", "def bar ( x ) :\n    return x", 0.2, 1.0),
    ("def bar ( x ) :\n    return x", "def foo ( x ) :\n    return x", 1.0, 1.0),
    ("def foo ( x ) :\n    return x", "def foo ( x ) :\n    return x", 1.0, 1.0),
]
# Pairs where Python's ast and tree-sitter's trees differ in detail (no parenthesis or keyword
# nodes here): the values stay close to that implementation's, not equal.
CLOSE = [
    (
        "def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total",
        "def g(items):\n    s = 0\n    for i in items:\n        s = s + i\n    return s",
        0.3333,
        0.7778,
    ),
    (
        "def f(n):\n    if n < 2:\n        return n\n    return f(n-1) + f(n-2)",
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
        0.1111,
        0.2143,
    ),
    (
        "def f(xs):\n    out = []\n    for x in xs:\n"
        "        if x > 0:\n            out.append(x * 2)\n    return out",
        "def f(xs):\n    return [x * 2 for x in xs if x > 0]",
        0.3,
        0.8,
    ),
]


@pytest.mark.parametrize(("candidate", "reference", "syntax", "dataflow"), PUBLISHED)
def test_codebleu_published_examples(candidate: str, reference: str, syntax: float, dataflow: float) -> None:
    ref, cand = ast.parse(reference), ast.parse(candidate)
    assert syntax_match(ref, cand) == pytest.approx(syntax)
    assert dataflow_match(ref, cand) == pytest.approx(dataflow)


@pytest.mark.parametrize(("candidate", "reference", "syntax", "dataflow"), CLOSE)
def test_close_to_codebleu_where_the_trees_differ(
    candidate: str, reference: str, syntax: float, dataflow: float
) -> None:
    ref, cand = ast.parse(reference), ast.parse(candidate)
    assert syntax_match(ref, cand) == pytest.approx(syntax, abs=0.07)
    assert dataflow_match(ref, cand) == pytest.approx(dataflow, abs=0.07)


def test_data_flow_renames_variables_by_order_of_appearance() -> None:
    ref = data_flow(ast.parse("def sum(first, second):\n    return second + first"))
    assert sorted(ref) == sorted(
        [
            ("var_0", "comesFrom", ()),
            ("var_1", "comesFrom", ()),
            ("var_1", "comesFrom", ("var_1",)),
            ("var_0", "comesFrom", ("var_0",)),
        ]
    )
    assigned = data_flow(ast.parse("def f(x):\n    y = x * 2\n    return y"))
    assert ("var_1", "computedFrom", ("var_0",)) in assigned


def test_codebleu_columns_before_the_tests_are_consulted(square: Problem) -> None:
    """The critic's part: CodeBLEU's two components over the whole program, and no reward until
    the executor has found which statements the passing tests need (``agents.credit``)."""
    problem = square.model_copy(update={"reference_solution": RIGHT})
    same = structure_score(problem, RIGHT)
    assert same.available and (same.syntax_match, same.dataflow_match) == (1.0, 1.0)
    assert same.score is None and same.unscored == "not yet checked which statements the passing tests need"
    other = structure_score(problem, "def square(x):\n    y = x ** 2\n    return y\n")
    assert other.available and other.syntax_match is not None and 0.0 < other.syntax_match < 1.0


def _report(*passed: bool) -> TestReport:
    results = [TestResult(index=i, kind="assert", visibility="visible", status="passed" if ok else "failed")
               for i, ok in enumerate(passed)]  # fmt: skip
    return TestReport(results=results)


def _everything(code: str, entry_point: str = "square") -> Credited:
    """Every statement of ``code`` credited (what the tests would say of code they all need)."""
    statements = Statements(ast.parse(code), entry_point)
    return Credited(needed=frozenset(statements.everything()), statements=statements.count)


def _scored(problem: Problem, code: str, report: TestReport, credited: Credited) -> StructureScore:
    return scored_structure(structure_score(problem, code), problem, code, report, credited)


def test_the_score_ranks_passing_tests_first_then_closeness(square: Problem) -> None:
    problem = square.model_copy(update={"reference_solution": RIGHT})
    same = _scored(problem, RIGHT, _report(True, True), _everything(RIGHT))
    assert (same.closeness, same.score, same.credited, same.statements) == (1.0, 1.0, 2, 2)
    assert same.unscored is None
    other = "def square(x):\n    y = x ** 2\n    return y\n"
    far = _scored(problem, other, _report(True, True), _everything(other))
    assert far.closeness is not None and 0.0 < far.closeness < 1.0
    assert far.score == pytest.approx((2 + far.closeness) / 3)
    # one test fewer outranks any closeness: the reference's own shape passing one test of two
    half = _scored(problem, RIGHT, _report(True, False), _everything(RIGHT))
    assert half.score == pytest.approx(2 / 3) and half.score < far.score
    # nothing credited (nothing passes, or nothing was needed): no closeness at all
    none = Credited(needed=frozenset(), statements=2)
    bare = _scored(problem, RIGHT, _report(False, False), none)
    assert (bare.closeness, bare.score, bare.credited) == (0.0, 0.0, 0)


def test_unscored_with_the_reason_the_tests_could_not_give(square: Problem) -> None:
    problem = square.model_copy(update={"reference_solution": RIGHT})
    found = scored_structure(structure_score(problem, RIGHT), problem, RIGHT, _report(True, True), "why not")
    assert found.available and found.score is None and found.unscored == "why not"
    assert found.syntax_match == 1.0


def test_closeness_is_an_f1_so_extra_code_lowers_it() -> None:
    reference = ast.parse(RIGHT)
    assert closeness(reference, reference) == 1.0
    extra = ast.parse(RIGHT + "\ndef other(y):\n    z = y + 1\n    return z\n")
    # every edge of the reference is there and all but the module's subtree (CodeBLEU's recall)...
    assert dataflow_match(reference, extra) == 1.0 and syntax_match(reference, extra) == pytest.approx(5 / 6)
    # ...but the extra function's subtrees and edges lower the precision
    assert closeness(reference, extra) < (5 / 6 + 1.0) / 2 - 0.2
    assert closeness(reference, ast.parse("")) == 0.0


def test_a_reference_without_data_flow_scores_on_syntax_alone(square: Problem) -> None:
    code = "def square(x):\n    pass\n"
    problem = square.model_copy(update={"reference_solution": code})
    found = structure_score(problem, code)
    assert found.available and found.dataflow_match is None and found.syntax_match == 1.0
    assert closeness(ast.parse(code), ast.parse(code)) == 1.0


@pytest.mark.parametrize(
    ("reference", "code", "reason"),
    [
        (None, RIGHT, "the problem has no reference solution"),
        (RIGHT, "def square(x:\n", "the candidate does not parse (line 1"),
        ("def square(x:\n", RIGHT, "the reference solution does not parse (line 1"),
    ],
)
def test_not_available_with_the_reason(
    square: Problem, reference: str | None, code: str, reason: str
) -> None:
    problem = square.model_copy(update={"reference_solution": reference})
    found = structure_score(problem, code)
    assert not found.available and found.score is None and found.syntax_match is None
    assert found.reason is not None and found.reason.startswith(reason)


def test_another_language_has_no_structure_score() -> None:
    program = Problem(
        id="c-double",
        prompt="Print each integer doubled.",
        language="c",
        tests=[{"kind": "io", "stdin": "1\n", "expected_stdout": "2\n"}],  # type: ignore[list-item]
        reference_solution="int main(void) { return 0; }\n",
    )
    found = structure_score(program, "int main(void) { return 0; }\n")
    assert not found.available and found.reason == "the structure score is for Python only, not c"
