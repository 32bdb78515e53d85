"""Assert tests that compare one call of the entry point with a literal, taken apart on the host.

Most reward and benchmark tests are ``assert f(<literals>) == <literal>`` (MBPP, HumanEval+'s
and LiveCodeBench's call-based inputs, verl's ``prime_code`` cases). For such a test the harness
process does nothing but send the call, wait, and compare plain data with a literal: the host
does its parsing once here, and the supervisor checks the call itself
(``runtime/direct.py``), with the same call frames, the same comparison and the same verdicts,
and without forking a harness. Anything else (more than one statement, another comparison, a
call of something else, a value ``ast.literal_eval`` does not give or the wire cannot carry)
stays a harness test.
"""

from __future__ import annotations

import ast
import functools

from codemend.sandbox.runtime import wire
from codemend.sandbox.runtime.harness import REPR_LIMIT, short

_NOT_LITERAL = object()


@functools.lru_cache(maxsize=4096)
def direct_call(code: str, entry_point: str | None) -> wire.DirectCall | None:
    """``code`` taken apart when it is one ``assert`` comparing a call of ``entry_point`` (literal
    arguments) with a literal by ``==``, either way round; None otherwise. Kept for the last
    few thousand tests (a group of rollouts shares its tests): the result is shared, not to be
    changed."""
    if not entry_point:
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        return None
    node = tree.body[0]
    test = node.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return None
    left, right = test.left, test.comparators[0]
    swap = _is_call(right, entry_point)
    call, other = (right, left) if swap else (left, right)
    if not isinstance(call, ast.Call) or not _is_call(call, entry_point):
        return None
    args = [_literal(a) for a in call.args]
    kwargs = {k.arg: _literal(k.value) for k in call.keywords if k.arg is not None}
    expected = _literal(other)
    if len(kwargs) != len(call.keywords) or _NOT_LITERAL in (*args, *kwargs.values(), expected):
        return None
    try:
        encoded = [wire.encode(a) for a in args]
        encoded_kwargs = wire.encode(kwargs)
        encoded_expected = wire.encode(expected)
    except (wire.Unencodable, RecursionError):
        return None
    parts = [short(a, 100) for a in args] + [f"{k}={short(v, 100)}" for k, v in kwargs.items()]
    return {
        "args": encoded,
        "kwargs": encoded_kwargs,
        "mutable": [i for i, a in enumerate(args) if type(a) in (list, dict, set)],
        "expected": encoded_expected,
        "swap": swap,
        "assertion": ast.get_source_segment(code, node) or ast.unparse(node),
        "shown": f"{entry_point}({', '.join(parts)})"[: REPR_LIMIT * 2],
        "expected_shown": short(expected),
    }


def _is_call(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _literal(node: ast.expr) -> object:
    """The value of a literal expression, or ``_NOT_LITERAL``."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL
