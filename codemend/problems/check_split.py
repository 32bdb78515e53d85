"""Split a HumanEval-style ``def check(candidate): ...`` into independent assertion tests.

Each top-level statement of ``check`` that uses ``candidate`` becomes one test, preceded by the
statements before it that do not (imports, constants, seeding). Where that would change what the
test means - a statement that stores what ``candidate`` returned for later statements - the whole
body stays one test. Module-level code around ``check`` (imports, helpers, METADATA) becomes setup.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

_SELF_CONTAINED = (ast.Assert, ast.For, ast.While, ast.If, ast.With, ast.Try)


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitCheck:
    setup: str
    tests: tuple[str, ...]
    split: bool


def _uses(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _has_assert(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _whole(func: ast.FunctionDef, entry_point: str) -> str:
    """The body of ``check`` as one test, with ``candidate`` bound to the entry point."""
    body = "\n".join(ast.unparse(stmt) for stmt in func.body)
    arg = func.args.args[0].arg if func.args.args else "candidate"
    return f"{arg} = {entry_point}\n{body}"


def split_check(source: str, entry_point: str) -> SplitCheck:
    """Turn a test module defining ``check(candidate)`` into setup code and assertion tests.

    Raises ``ValueError`` when the source does not parse or defines no ``check`` function.
    """
    try:
        module = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"test code does not parse: line {exc.lineno}: {exc.msg}") from exc
    checks = [n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if not checks:
        raise ValueError("test code defines no `check(candidate)` function")
    func = checks[-1]
    setup = "\n".join(ast.unparse(n) for n in module.body if n is not func)
    arg = func.args.args[0].arg if func.args.args else "candidate"

    preamble: list[ast.stmt] = []
    tests: list[str] = []
    for stmt in func.body:
        if not _uses(stmt, arg):
            if isinstance(stmt, ast.Assert):
                continue  # `assert True, "..."`: checks nothing about the candidate
            preamble.append(stmt)
            continue
        if not (isinstance(stmt, _SELF_CONTAINED) and _has_assert(stmt)):
            return SplitCheck(setup=setup, tests=(_whole(func, entry_point),), split=False)
        lines = [f"{arg} = {entry_point}", *(ast.unparse(p) for p in preamble), ast.unparse(stmt)]
        tests.append("\n".join(lines))
    if not tests:
        return SplitCheck(setup=setup, tests=(_whole(func, entry_point),), split=False)
    return SplitCheck(setup=setup, tests=tuple(tests), split=True)
