"""The structure reward cannot be gamed: it credits only the statements the passing visible tests
need (``agents.credit``, run in the real sandbox), so code shaped like the reference that never
runs, or runs without changing a passing result, earns nothing. Each attack scores exactly what
the same candidate scores without it, and never more than an honest one passing the same tests."""

from __future__ import annotations

import ast
import asyncio

import pytest
from conftest import make_problem

from codemend.agents import scored_structure, structure_score
from codemend.agents.credit import MAX_PROBES, credit
from codemend.agents.statements import Statements, credited_tree, introspects
from codemend.problems import Problem
from codemend.records import StructureScore
from codemend.sandbox import LocalSandbox

REFERENCE = (
    "def f(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n"
    "            total += x\n    return total\n"
)
OTHER_STYLE = "def f(xs):\n    return sum(x for x in xs if x > 0)\n"
CONSTANT = "def f(xs):\n    return 0\n"
LOOK_ALIKES = "".join(
    f"def g{i}(ys):\n    acc = 0\n    for y in ys:\n        if y > 0:\n"
    "            acc += y\n    return acc\n\n"
    for i in range(3)
)
OPAQUE = (
    "def f(xs):\n    if len(xs) < 0:\n        total = 0\n        for x in xs:\n            if x > 0:\n"
    "                total += x\n        return total\n    return sum(x for x in xs if x > 0)\n"
)
NESTED = (
    "def f(xs):\n    def h(ys):\n        total = 0\n        for x in ys:\n            if x > 0:\n"
    "                total += x\n        return total\n    h\n    return sum(x for x in xs if x > 0)\n"
)
LOOP_AROUND_CONSTANT = REFERENCE.replace("return total", "return 0")
LOOP_DROPPED = REFERENCE.replace("return total", "return sum(x for x in xs if x > 0)")

# (attack, the same answer without it): five visible tests, two of which a constant 0 passes
ATTACKS = {
    "unused look-alike functions around a wrong answer": (LOOK_ALIKES + CONSTANT, CONSTANT),
    "unused look-alike functions padding a right answer": (LOOK_ALIKES + OTHER_STYLE, OTHER_STYLE),
    "the reference behind a predicate that is never true": (OPAQUE, OTHER_STYLE),
    "the reference as a nested function, named but never called": (NESTED, OTHER_STYLE),
    "the reference's loop around a constant answer": (LOOP_AROUND_CONSTANT, CONSTANT),
    "the reference's loop run, its result dropped": (LOOP_DROPPED, OTHER_STYLE),
}


def positives_problem() -> Problem:
    """Sum of the positive numbers, with the reference above (``perf/structure_reward.py`` too)."""
    problem = make_problem(
        "assert f([1, 2, -3]) == 3",
        "assert f([]) == 0",
        "assert f([-1]) == 0",
        "assert f([5, 0]) == 5",
        "assert f([-2, 4]) == 4",
    )
    return problem.model_copy(update={"reference_solution": REFERENCE})


@pytest.fixture(scope="module")
def positives() -> Problem:
    return positives_problem()


def scored(sandbox: LocalSandbox, problem: Problem, code: str) -> StructureScore:
    """The structure reward as the repair loop computes it: visible run, critic, credit."""
    report = sandbox.run(problem, code, problem.visible_tests())
    credited = asyncio.run(credit(sandbox, problem, code, report))
    return scored_structure(structure_score(problem, code), problem, code, report, credited)


def test_the_reference_is_credited_whole_and_scores_one(sandbox: LocalSandbox, positives: Problem) -> None:
    found = scored(sandbox, positives, REFERENCE)
    assert (found.score, found.closeness, found.credited, found.statements) == (1.0, 1.0, 6, 6)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_scores_what_the_answer_scores_without_it(
    sandbox: LocalSandbox, positives: Problem, attack: str
) -> None:
    code, plain = ATTACKS[attack]
    gamed, honest = scored(sandbox, positives, code), scored(sandbox, positives, plain)
    assert gamed.score is not None and honest.score is not None
    assert gamed.score == pytest.approx(honest.score) and gamed.closeness == pytest.approx(honest.closeness)
    # CodeBLEU's own components (recall) would have paid for the attack: that is why they are
    # columns, not the reward
    assert gamed.syntax_match is not None and honest.syntax_match is not None
    assert gamed.syntax_match > honest.syntax_match


def test_a_wrong_answer_never_outscores_a_right_one(sandbox: LocalSandbox, positives: Problem) -> None:
    right = scored(sandbox, positives, OTHER_STYLE)
    for code in (LOOK_ALIKES + CONSTANT, LOOP_AROUND_CONSTANT, CONSTANT):
        wrong = scored(sandbox, positives, code)
        assert wrong.score is not None and right.score is not None and wrong.score < right.score


def test_nothing_passing_credits_nothing_without_running(sandbox: LocalSandbox, positives: Problem) -> None:
    code = LOOK_ALIKES + "def f(xs):\n    return -1\n"
    found = scored(sandbox, positives, code)
    assert (found.score, found.closeness, found.credited) == (0.0, 0.0, 0)


def test_without_visible_tests_nothing_is_scored(sandbox: LocalSandbox, positives: Problem) -> None:
    hidden = [t.model_copy(update={"visibility": "hidden"}) for t in positives.tests]
    problem = positives.model_copy(update={"tests": hidden})
    found = scored(sandbox, problem, REFERENCE)
    assert found.score is None
    assert found.unscored == "no visible test ran, so no statement can be shown to be needed"


def test_a_candidate_that_can_read_its_own_code_is_unscored(
    sandbox: LocalSandbox, positives: Problem
) -> None:
    code = "import inspect\n\n" + OPAQUE
    found = scored(sandbox, positives, code)
    assert found.available and found.score is None and found.syntax_match is not None
    assert found.unscored == "line 1: the candidate uses `import inspect`, so it could read its own code"


def test_results_that_change_between_runs_are_unscored(sandbox: LocalSandbox, positives: Problem) -> None:
    """The check runs the candidate again first: a candidate whose tests pass otherwise than in
    the step's report (random, the time, the machine's load) is unscored. Here, for a result
    that is certain, the report is the reference's run, and ``return 0`` passes 2 of its 5."""
    report = sandbox.run(positives, REFERENCE, positives.visible_tests())
    credited = asyncio.run(credit(sandbox, positives, CONSTANT, report))
    assert credited == "the candidate's visible tests did not pass the same way when run again"


def test_a_statement_whose_removal_hangs_is_needed(sandbox: LocalSandbox) -> None:
    """Taking out ``i += 1`` loops forever: the variant times out under the shortened limit (the
    problem's is 20 s), so the increment is credited."""
    code = "def f(n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\n"
    problem = make_problem("assert f(3) == 3", time_limit_s=20.0)
    problem = problem.model_copy(update={"reference_solution": code})
    found = scored(sandbox, problem, code)
    assert (found.score, found.credited, found.statements) == (1.0, 5, 5)


def test_redundant_code_is_unscored(sandbox: LocalSandbox, positives: Problem) -> None:
    """Either ``total = 0`` will do, so neither is needed alone, and without both the loop
    fails: which code the tests need cannot be told."""
    code = REFERENCE.replace("    total = 0\n", "    total = 0\n    total = 0\n")
    found = scored(sandbox, positives, code)
    assert found.score is None
    why = "statements the tests need none of one by one are needed together (redundant code)"
    assert found.unscored == why


def test_beyond_the_probe_budget_statements_are_not_credited(sandbox: LocalSandbox) -> None:
    body = "".join(f"    v{i} = {i}\n" for i in range(MAX_PROBES + 10))
    code = f"def f():\n{body}    return v0\n"
    problem = make_problem("assert f() == 0").model_copy(update={"reference_solution": code})
    found = scored(sandbox, problem, code)
    assert found.statements == MAX_PROBES + 12 and found.credited is not None and found.credited <= 2
    assert found.score is not None and found.score < 1.0


def test_introspection_is_found_in_its_forms() -> None:
    for code, found in [
        ("import os\n", "`import os`"),
        ("from inspect import getsource\n", "`from inspect import`"),
        ("x = open('solution.py').read()\n", "`open`"),
        ("def f():\n    return f.__code__\n", "`.__code__`"),
        ("import sys\nsys._getframe()\n", "`sys._getframe`"),
        ("def f(e):\n    return e.__traceback__.tb_lineno\n", "`.tb_lineno`"),
        ("x = getattr(object, 'y')\n", "`getattr`"),
        ("import subprocess\n", "`import subprocess`"),  # modules: an allowlist, so these too
        ("from codecs import open as o\n", "`from codecs import`"),
        ("import urllib.request\n", "`import urllib.request`"),
        # attributes reached by a name in a string
        ("from operator import attrgetter\n", "`from operator import attrgetter`"),
        ("import operator\nx = operator.attrgetter('x')\n", "`.attrgetter`"),
        ("def f():\n    return '{0.__code__}'.format(f)\n", "`{0.__code__}` in a format string"),
        ("def f():\n    return ('{0.__' + 'code__}').format(f)\n", "`.format` on a string built at run time"),
        ("match f:\n    case object(__code__=c):\n        pass\n", "`case ...(__code__=...)`"),
        ("def f(g):\n    return g.gi_frame\n", "`.gi_frame`"),
        ("import sys\nx = type(sys.stdin.buffer.raw)('/proc/self/maps')\n", "`.raw`"),
    ]:
        why = introspects(ast.parse(code))
        assert why is not None and found in why, code
    ordinary = "import sys, math\nfrom collections import Counter\n\nsys.setrecursionlimit(10**5)\n"
    assert introspects(ast.parse(ordinary)) is None
    assert introspects(ast.parse("if __name__ == '__main__':\n    print(sys.stdin.read())\n")) is None
    plain = "from operator import itemgetter\nx = '{} {:.2f}'.format(1, 2.0) + '{0[1]}'.format('ab')\n"
    assert introspects(ast.parse(plain)) is None


def test_statements_are_taken_out_in_place_and_credited_by_path() -> None:
    tree = ast.parse(OPAQUE)
    statements = Statements(tree, "f")
    assert statements.roots() == [(("body", 0),)]
    assert statements.children((("body", 0),)) == [(("body", 0), ("body", 0)), (("body", 0), ("body", 1))]
    assert len(statements.everything()) == statements.count == 8
    without_branch = statements.program([(("body", 0), ("body", 0))])
    assert without_branch == "def f(xs):\n    pass\n    return sum((x for x in xs if x > 0))"
    emptied = statements.program([(("body", 0),), (("body", 0), ("body", 1))])  # the inner one goes with it
    assert emptied == "def f(xs):\n    pass"
    kept = credited_tree(tree, frozenset({(("body", 0),), (("body", 0), ("body", 1))}))
    assert ast.unparse(kept) == "def f(xs):\n    return sum((x for x in xs if x > 0))"
    assert Statements(ast.parse(LOOK_ALIKES + CONSTANT), "f").roots() == [(("body", 3),)]  # unused helpers
    # a handler's statements are reached through the handler
    guarded = Statements(ast.parse("def f(x):\n    try:\n        y = 1 / x\n    except ValueError:\n"
                                   "        y = 0\n        z = 2\n    return y\n"), "f")  # fmt: skip
    handler = (("body", 0), ("body", 0), ("handlers", 0))
    assert guarded.children((("body", 0), ("body", 0))) == [
        (("body", 0), ("body", 0), ("body", 0)), (*handler, ("body", 0)), (*handler, ("body", 1))
    ]  # fmt: skip
    assert "        y = 0\n        pass\n" in guarded.program([(*handler, ("body", 1))])


@pytest.mark.parametrize("terms", [300, 600])
def test_a_deeply_nested_candidate_is_unscored_never_a_crashed_step(
    sandbox: LocalSandbox, terms: int
) -> None:
    """A long ``x + x + ...`` parses but is too deep for a recursive walk, copy or ``unparse``:
    CodeBLEU's columns or the credit check say so instead of raising."""
    code = "def f(x):\n    return " + " + ".join(["x"] * terms) + "\n"
    problem = make_problem(f"assert f(1) == {terms}").model_copy(update={"reference_solution": code})
    found = scored(sandbox, problem, code)
    assert found.score is None
    why = found.unscored if found.available else found.reason
    assert why is not None and "too deeply nested" in why and "RecursionError" in why
