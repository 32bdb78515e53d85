"""The structure reward: how close the candidate's syntax tree and data flow are to the problem's
reference solution, CodeBLEU's two structural components (Ren et al. 2020; PPOCoder rewards
them) computed on Python's own ``ast``.

- Syntax match: the share of the reference's subtrees (nodes with children, compared by shape:
  node types, operators and the shape of their children, never names or values) that occur in
  the candidate's tree. Statement lists count as a ``block`` node, as in tree-sitter's grammar
  that CodeBLEU uses.
- Data-flow match: the share of the reference's data-flow edges (a variable ``comesFrom`` its
  last definitions, or is ``computedFrom`` the variables of an assignment's value; variables
  renamed by order of appearance) that the candidate's graph also has, each matched once.

Both are recall, so on their own they pay for code that never runs: a wrong answer padded with
unused functions shaped like the reference out-scores a right answer written another way. They
are kept as CodeBLEU defines them (export columns); the reward is built so that cannot pay:

- ``closeness`` is an F1 (precision and recall) over the *credited* statements only: those a
  passing visible test was shown to need, by running the tests with each statement taken out
  (``agents.credit``: a function's or class's body emptied, any other statement made ``pass``).
  Code no passing test needs (unused helpers, branches behind a predicate that is never true,
  loops whose result is dropped, everything in a candidate that passes nothing) earns nothing,
  and code that does not match the reference lowers the precision.
- ``score`` = (visible tests passed + closeness) / (visible tests + 1): no closeness outranks
  one more passing test.
- A candidate that can read its own code or frames (``open``, ``inspect``, ``__code__``,
  ``getattr``...) could tell a variant from itself, so it gets no score, saying why.

Never a verdict, never in the model's feedback (it would leak the reference). Not available,
with the reason, without a reference, for another language than Python, or when either program
does not parse.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from typing import Any

from codemend import pysource
from codemend.agents.statements import Credited, credited_tree
from codemend.problems import Problem
from codemend.records import StructureScore, TestReport

Edge = tuple[str, str, tuple[str, ...]]
"""A normalised data-flow edge: variable, ``comesFrom``/``computedFrom``, its parents."""
_FOLDED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)


def structure_score(problem: Problem, code: str) -> StructureScore:
    """The candidate's syntax and data-flow match against ``problem.reference_solution``."""
    reference = problem.reference_solution
    if reference is None:
        return StructureScore(available=False, reason="the problem has no reference solution")
    if problem.language != "python":
        other = f"the structure score is for Python only, not {problem.language}"
        return StructureScore(available=False, reason=other)
    ref_tree, why = _parse(reference, "the reference solution")
    cand_tree, why_cand = _parse(code, "the candidate")
    if ref_tree is None or cand_tree is None:
        return StructureScore(available=False, reason=why or why_cand)
    try:
        syntax = syntax_match(ref_tree, cand_tree)
        dataflow = dataflow_match(ref_tree, cand_tree)
    except (RecursionError, MemoryError) as exc:
        return StructureScore(available=False, reason=_too_deep(exc))
    unscored = "not yet checked which statements the passing tests need"
    return StructureScore(available=True, syntax_match=syntax, dataflow_match=dataflow, unscored=unscored)


def scored_structure(
    found: StructureScore, problem: Problem, code: str, report: TestReport, credited: Credited | str
) -> StructureScore:
    """``found`` with its reward: the closeness of the ``credited`` statements (see
    ``agents.credit``) and the visible tests ``report`` passed; or unscored with the reason
    ``credited`` gives instead."""
    if not found.available:
        return found
    if isinstance(credited, str):
        return found.model_copy(update={"unscored": credited})
    assert problem.reference_solution is not None, "an available structure score has a reference"
    reference = pysource.parse(problem.reference_solution)[0]
    try:
        near = closeness(reference, credited_tree(pysource.parse(code)[0], credited.needed))
    except (RecursionError, MemoryError) as exc:
        return found.model_copy(update={"unscored": _too_deep(exc)})
    results = report.results
    score = (sum(r.passed for r in results) + near) / (len(results) + 1)
    update = {
        "closeness": near,
        "statements": credited.statements,
        "credited": len(credited.needed),
        "score": score,
        "unscored": None,
    }
    return found.model_copy(update=update)


def _too_deep(exc: BaseException) -> str:
    return f"the code is too deeply nested to compare ({type(exc).__name__})"


def closeness(reference: ast.Module, candidate: ast.Module) -> float:
    """The mean of the F1 of subtrees and the F1 of data-flow edges between ``reference`` and
    ``candidate`` (subtrees alone when the reference has no data flow): code the reference does
    not have lowers it, as much as code it misses."""
    syntax = _f1(Counter(_subtrees(reference)), Counter(_subtrees(candidate)))
    wanted = Counter(data_flow(reference))
    if not wanted:
        return syntax
    return (syntax + _f1(wanted, Counter(data_flow(candidate)))) / 2


def _f1(wanted: Counter[Any], found: Counter[Any]) -> float:
    common = sum(min(n, found[key]) for key, n in wanted.items())
    if common == 0:
        return 1.0 if not wanted and not found else 0.0
    precision, recall = common / sum(found.values()), common / sum(wanted.values())
    return 2 * precision * recall / (precision + recall)


def _parse(code: str, what: str) -> tuple[ast.Module | None, str | None]:
    try:
        return pysource.parse(code)[0], None
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return None, f"{what} does not parse ({where}{exc.msg})"
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, f"{what} does not parse ({type(exc).__name__})"


# --- syntax match -------------------------------------------------------------------------------


def syntax_match(reference: ast.Module, candidate: ast.Module) -> float:
    """The share of the reference's subtrees found in the candidate (each counted once)."""
    wanted = Counter(_subtrees(reference))
    found = Counter(_subtrees(candidate))
    total = sum(wanted.values())
    if total == 0:
        return 1.0 if not found else 0.0
    return sum(min(n, found[shape]) for shape, n in wanted.items()) / total


def _subtrees(tree: ast.AST) -> list[str]:
    """The shape of every node of ``tree`` that has children."""
    shapes: list[str] = []
    _shape(tree, shapes)
    return shapes


def _shape(node: ast.AST | list[ast.stmt], out: list[str]) -> str:
    """``node``'s shape (appending it, and its descendants' with children, to ``out``)."""
    children: list[ast.AST | list[ast.stmt]]
    if isinstance(node, list):  # a statement list: tree-sitter's ``block``
        label, children = "block", list(node)
    else:
        label, children = _label(node), list(_children(node))
    if not children:
        return label
    shape = f"({label} {' '.join(_shape(c, out) for c in children)})"
    out.append(shape)
    return shape


def _label(node: ast.AST) -> str:
    """The node's type, with its operator (``BinOp:Add``): an ``a + b`` is not an ``a * b``."""
    op = getattr(node, "op", None)
    ops = getattr(node, "ops", None)
    if isinstance(op, ast.AST):
        return f"{type(node).__name__}:{type(op).__name__}"
    if isinstance(ops, list):
        return f"{type(node).__name__}:{','.join(type(o).__name__ for o in ops)}"
    return type(node).__name__


def _children(node: ast.AST) -> Iterator[ast.AST | list[ast.stmt]]:
    """Child nodes in field order, statement lists as one ``block``; contexts and operators are
    folded into labels."""
    for _, value in ast.iter_fields(node):
        if isinstance(value, list):
            if value and all(isinstance(v, ast.stmt) for v in value) and not isinstance(node, ast.Module):
                yield value
            else:
                yield from (v for v in value if isinstance(v, ast.AST) and not _folded(v))
        elif isinstance(value, ast.AST) and not _folded(value):
            yield value


def _folded(node: ast.AST) -> bool:
    return isinstance(node, _FOLDED)


# --- data-flow match ----------------------------------------------------------------------------


def dataflow_match(reference: ast.Module, candidate: ast.Module) -> float | None:
    """The share of the reference's data-flow edges the candidate has (each matched once); None
    when the reference has no data flow."""
    wanted = Counter(data_flow(reference))
    total = sum(wanted.values())
    if total == 0:
        return None
    found = Counter(data_flow(candidate))
    return sum(min(n, found[edge]) for edge, n in wanted.items()) / total


def data_flow(tree: ast.Module) -> list[Edge]:
    """The program's data-flow edges between variable occurrences, normalised: each variable is
    ``var_0``, ``var_1``... in order of first appearance; occurrences that neither take nor give
    a value are left out."""
    flow = _Flow()
    flow.statements(tree.body, {})
    kept = flow.kept()
    names: dict[str, str] = {}

    def norm(name: str) -> str:
        return names.setdefault(name, f"var_{len(names)}")

    edges = []
    for key in kept:
        name, relation, parents = flow.edges[key]
        var = norm(name)
        edges.append((var, relation, tuple(norm(flow.edges[p][0]) for p in sorted(parents))))
    return edges


Occurrence = tuple[int, int, int]
"""Where a variable occurs: line, column, and a counter for occurrences at the same place."""
State = dict[str, list[Occurrence]]


class _Flow:
    """Walks statements in order, keeping each variable's last definitions (``State``)."""

    def __init__(self) -> None:
        self.edges: dict[Occurrence, tuple[str, str, set[Occurrence]]] = {}

    def kept(self) -> list[Occurrence]:
        """Occurrences with parents or that are someone's parent, in source order."""
        parents = {p for _, _, ps in self.edges.values() for p in ps}
        return sorted(k for k, (_, _, ps) in self.edges.items() if ps or k in parents)

    def add(self, node: ast.AST, name: str, relation: str, parents: list[Occurrence]) -> Occurrence:
        key = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0), 0)
        if key in self.edges and self.edges[key][0] != name:  # two names at one place (a tuple)
            key = (key[0], key[1], len(self.edges))
        _, _, known = self.edges.get(key, (name, relation, set()))
        self.edges[key] = (name, relation, known | set(parents))
        return key

    def statements(self, body: list[ast.stmt], state: State) -> State:
        for stmt in body:
            state = self.statement(stmt, state)
        return state

    def statement(self, stmt: ast.stmt, state: State) -> State:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return self._function(stmt, state)
        if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            return self._assign(stmt, state)
        if isinstance(stmt, ast.For | ast.AsyncFor):
            return self._for(stmt, state)
        if isinstance(stmt, ast.While):
            return self._loop(stmt.test, stmt.body, stmt.orelse, state)
        if isinstance(stmt, ast.If):
            self.uses(stmt.test, state)
            return _merge(self.statements(stmt.body, dict(state)), self.statements(stmt.orelse, dict(state)))
        if isinstance(stmt, ast.Try | ast.TryStar):
            after = self.statements(stmt.body, dict(state))
            branches = [self.statements(h.body, dict(after)) for h in stmt.handlers]
            merged = _merge(self.statements(stmt.orelse, after), *branches)
            return self.statements(stmt.finalbody, merged)
        if isinstance(stmt, ast.ClassDef):
            self.statements(stmt.body, dict(state))
            return state
        if isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                state = self.uses(item.context_expr, state)
                if item.optional_vars is not None:
                    state = self.define(item.optional_vars, self._occurrences(item.context_expr), state)
            return self.statements(stmt.body, state)
        for child in ast.iter_child_nodes(stmt):  # return, expressions, raise, assert...
            if isinstance(child, ast.expr):
                state = self.uses(child, state)
        return state

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, state: State) -> State:
        inner = dict(state)
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                inner[arg.arg] = [self.add(arg, arg.arg, "comesFrom", [])]
        if isinstance(node, ast.Lambda):
            self.uses(node.body, inner)
            return state
        self.statements(node.body, inner)
        return state

    def _assign(self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign, state: State) -> State:
        if stmt.value is None:
            return state
        state = self.uses(stmt.value, state)
        sources = self._occurrences(stmt.value)
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            state = self.define(target, sources, state)
        return state

    def _occurrences(self, expr: ast.AST) -> list[Occurrence]:
        """The variable occurrences recorded inside ``expr`` (already walked)."""
        found = []
        for node in ast.walk(expr):
            if isinstance(node, ast.Name):
                key = (node.lineno, node.col_offset, 0)
                if key in self.edges:
                    found.append(key)
        return found

    def define(self, target: ast.expr, sources: list[Occurrence], state: State) -> State:
        """``target`` (a name, a tuple of them, or ``a[i]``/``a.b``) computed from ``sources``."""
        state = dict(state)
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                state[node.id] = [self.add(node, node.id, "computedFrom", sources)]
            elif isinstance(node, ast.Name):
                self.add(node, node.id, "comesFrom", state.get(node.id, []))
        return state

    def _for(self, stmt: ast.For | ast.AsyncFor, state: State) -> State:
        state = self.uses(stmt.iter, state)
        sources = self._occurrences(stmt.iter)
        for _ in range(2):  # twice: a loop's second pass sees the first one's definitions
            state = _merge(state, self.statements(stmt.body, self.define(stmt.target, sources, state)))
        return self.statements(stmt.orelse, state)

    def _loop(self, test: ast.expr, body: list[ast.stmt], orelse: list[ast.stmt], state: State) -> State:
        for _ in range(2):
            state = self.uses(test, state)
            state = _merge(state, self.statements(body, dict(state)))
        return self.statements(orelse, state)

    def uses(self, expr: ast.AST, state: State) -> State:
        """Every variable read in ``expr`` comes from its last definitions; a walrus or a
        comprehension's target defines one."""
        for node in ast.walk(expr):
            if isinstance(node, ast.NamedExpr):
                self.uses(node.value, state)
                state = self.define(node.target, self._occurrences(node.value), state)
            elif isinstance(node, ast.Lambda):
                self._function(node, state)
            elif isinstance(node, ast.comprehension):
                self.uses(node.iter, state)
                state = self.define(node.target, self._occurrences(node.iter), state)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self.add(node, node.id, "comesFrom", state.get(node.id, []))
        return state


def _merge(*states: State) -> State:
    """After branches: a variable's last definitions are those of every branch."""
    merged: State = {}
    for state in states:
        for name, keys in state.items():
            merged[name] = sorted({*merged.get(name, []), *keys})
    return merged
