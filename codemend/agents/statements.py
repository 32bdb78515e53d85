"""A Python candidate's statements as the structure reward credits them (``agents.credit`` runs
the tests; this module only reads and rewrites trees).

A statement is named by its ``Path`` from the module: ``(("body", 2), ("orelse", 0))`` is the
first statement of the ``else`` of the module's third statement. Taking a statement out
(``Statements.program``) empties a function's or a class's body (its name stays bound, so a helper that is
only mentioned, never called, is not needed) and turns any other statement into ``pass``.
Compound statements are probed before what they contain, which is probed only when the compound
one is needed (``children``).
"""

from __future__ import annotations

import ast
import copy
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

Path = tuple[tuple[str, int], ...]
"""Where a statement is: (field, index) steps from the module."""

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

# What would let a candidate tell a variant from itself (read its own source, code objects,
# frames or namespaces), so that taking out code it never runs could change its results.
_INSPECTING_CALLS = frozenset(
    {
        "open", "eval", "exec", "compile", "globals", "locals", "vars", "dir", "getattr", "setattr",
        "delattr", "hasattr", "__import__", "breakpoint", "help", "__builtins__", "__file__",
        "__loader__", "__spec__", "__cached__", "__doc__",
    }
)  # fmt: skip
# The modules a scored candidate may import: none of them reads files, runs commands or looks at
# code objects (an allowlist: anything else could, e.g. ``subprocess``, ``codecs``, ``urllib``).
_PLAIN_MODULES = frozenset(
    {
        "math", "cmath", "collections", "itertools", "functools", "heapq", "bisect", "re", "string",
        "typing", "dataclasses", "fractions", "decimal", "statistics", "operator", "random", "copy",
        "array", "enum", "numbers", "datetime", "calendar", "time", "sys", "hashlib", "json",
        "queue", "abc", "textwrap", "unicodedata", "struct", "base64", "binascii", "difflib",
        "__future__", "collections.abc", "typing_extensions",
    }
)  # fmt: skip
_SYS_ALLOWED = frozenset(
    {
        "stdin", "stdout", "stderr", "setrecursionlimit", "getrecursionlimit", "maxsize",
        "float_info", "set_int_max_str_digits", "get_int_max_str_digits", "exit", "version_info",
        "byteorder", "intern", "hexversion", "maxunicode",
    }
)  # fmt: skip
_DUNDERS_ALLOWED = frozenset(
    {
        "__name__", "__init__", "__new__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
        "__ge__", "__hash__", "__repr__", "__str__", "__len__", "__iter__", "__next__",
        "__getitem__", "__setitem__", "__contains__", "__add__", "__mul__", "__sub__", "__call__",
    }
)  # fmt: skip
_FRAME_PREFIXES = ("co_", "f_", "tb_", "gi_", "cr_", "ag_")
# Attribute access by a name given as a string, which a check of the code's attributes cannot see.
_BY_NAME = frozenset({"attrgetter", "methodcaller", "Formatter", "format_map", "vformat"})
# The standard streams' raw files, whose type opens any file (``type(sys.stdin.buffer.raw)(path)``).
_RAW_FILES = frozenset({"raw", "detach", "fileno"})


def introspects(tree: ast.Module) -> str | None:
    """Why ``tree`` could see its own code, frames or namespaces (the first such use, with its
    line: a builtin or attribute that inspects, or a module outside ``_PLAIN_MODULES``), or
    None. Such a candidate could behave differently once a statement it never runs is taken out,
    so which statements its tests need cannot be told."""
    for node in ast.walk(tree):
        found = _inspecting(node)
        if found is not None:
            line = getattr(node, "lineno", "?")
            return f"line {line}: the candidate uses {found}, so it could read its own code"
    return None


def _inspecting(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name) and node.id in _INSPECTING_CALLS | _BY_NAME:
        return f"`{node.id}`"
    if isinstance(node, ast.Attribute) and node.attr in _BY_NAME | _RAW_FILES:
        return f"`.{node.attr}`"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _format_call(node.func.value)
    if isinstance(node, ast.MatchClass):
        attrs = [a for a in node.kwd_attrs if _code_attribute(a)]
        return f"`case ...({attrs[0]}=...)`" if attrs else None
    if isinstance(node, ast.Name) and _dunder(node.id) and node.id not in _DUNDERS_ALLOWED:
        return f"`{node.id}`"
    if isinstance(node, ast.Attribute):
        attr = node.attr
        if _code_attribute(attr):
            return f"`.{attr}`"
        if isinstance(node.value, ast.Name) and node.value.id == "sys" and attr not in _SYS_ALLOWED:
            return f"`sys.{attr}`"
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] not in _PLAIN_MODULES:
                return f"`import {alias.name}`"
    if isinstance(node, ast.ImportFrom):
        module = (node.module or "").split(".")[0]
        if module not in _PLAIN_MODULES or node.level:
            return f"`from {'.' * node.level}{node.module or ''} import`"
        by_name = [a.name for a in node.names if a.name in _BY_NAME]
        if by_name:
            return f"`from {module} import {by_name[0]}`"
        if module == "sys" and any(a.name not in _SYS_ALLOWED for a in node.names):
            return "`from sys import` " + ", ".join(a.name for a in node.names if a.name not in _SYS_ALLOWED)
    return None


def _code_attribute(name: str) -> bool:
    """An attribute that leads to code objects, frames or namespaces."""
    return (_dunder(name) and name not in _DUNDERS_ALLOWED) or name.startswith(_FRAME_PREFIXES)


def _format_call(receiver: ast.expr) -> str | None:
    """``str.format`` reaches attributes through its fields (``"{0.__code__}"``): a format
    string built at run time, or a literal one with an attribute field, could read code."""
    if not (isinstance(receiver, ast.Constant) and isinstance(receiver.value, str)):
        return "`.format` on a string built at run time"
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(receiver.value) if field]
    except ValueError:
        return None  # not a valid format string: it raises when run, reads nothing
    attribute = next((f for f in fields if "." in f), None)
    return f"`{{{attribute}}}` in a format string" if attribute is not None else None


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and len(name) > 4


@dataclass(frozen=True, slots=True)
class Credited:
    """The statements of a candidate that the passing visible tests were shown to need."""

    needed: frozenset[Path]
    statements: int
    """Every statement of the candidate, needed or not."""
    probes: int = 0
    """Variants run to find them."""


class Statements:
    """A parsed candidate's statements: which to probe first, each one's variant, and what a
    needed one contains."""

    def __init__(self, tree: ast.Module, entry_point: str | None) -> None:
        self.tree = tree
        self.entry_point = entry_point
        self.count = sum(isinstance(node, ast.stmt) for node in ast.walk(tree))

    def roots(self) -> list[Path]:
        """The module's statements worth probing: all but definitions no other code names (an
        unused helper cannot be needed), ``pass`` and bare constants (docstrings)."""
        used = _names_outside_definitions(self.tree)
        roots: list[Path] = []
        for index, stmt in enumerate(self.tree.body):
            if isinstance(stmt, _DEFINITIONS) and stmt.name != self.entry_point and stmt.name not in used:
                continue
            if _inert(stmt):
                continue
            roots.append((("body", index),))
        return roots

    def everything(self) -> set[Path]:
        """Every statement that could be probed, at every depth (``roots`` and, recursively,
        their ``children``)."""
        found: set[Path] = set()
        level = self.roots()
        while level:
            found.update(level)
            level = [child for path in level for child in self.children(path)]
        return found

    def children(self, path: Path) -> list[Path]:
        """The statements directly inside the statement at ``path`` (none for a simple one)."""
        return [
            (*path, *prefix, (field, index))
            for prefix, field, statements in _blocks(self.node(path))
            for index, stmt in enumerate(statements)
            if not _inert(stmt)
        ]

    def node(self, path: Path) -> ast.stmt:
        """The statement at ``path``."""
        return _at(self.tree, path)

    def program(self, removed: Iterable[Path]) -> str:
        """The candidate's code with the statements at ``removed`` taken out (those inside one
        already taken out go with it)."""
        tree = copy.deepcopy(self.tree)
        gone: list[Path] = []
        for path in sorted(set(removed), key=len):
            if any(path[: len(g)] == g for g in gone):
                continue
            gone.append(path)
            field, index = path[-1]
            statements = getattr(_at_steps(tree, path[:-1]), field)
            stmt = statements[index]
            if isinstance(stmt, _DEFINITIONS):
                stmt.body = [ast.Pass()]
            else:
                statements[index] = ast.Pass()
        return ast.unparse(ast.fix_missing_locations(tree))

    def source(self) -> str:
        """The candidate as every variant is written (``ast.unparse``), to run as the baseline."""
        return ast.unparse(self.tree)


def credited_tree(tree: ast.Module, needed: frozenset[Path]) -> ast.Module:
    """``tree`` with only the ``needed`` statements (a needed compound statement keeps those of
    its own statements that are needed too)."""
    kept = copy.deepcopy(tree)
    _keep(kept, (), needed)
    return kept


def _keep(node: ast.AST, path: Path, needed: frozenset[Path]) -> None:
    for prefix, field, statements in _blocks(node):
        kept = []
        for index, stmt in enumerate(statements):
            child = (*path, *prefix, (field, index))
            if child in needed:
                _keep(stmt, child, needed)
                kept.append(stmt)
        setattr(_at_steps(node, prefix), field, kept)


Block = tuple[Path, str, list[ast.stmt]]
"""A list of statements directly below a node: the steps to the node holding it (none, or a
handler's or ``match`` case's), its field there, and the list."""


def _blocks(node: ast.AST) -> Iterator[Block]:
    """Every statement list directly below ``node`` (a module's body, a loop's body and
    ``else``, a handler's body, a ``match`` case's body...)."""
    for field in ("body", "orelse", "finalbody"):
        value = getattr(node, field, None)
        if isinstance(value, list) and all(isinstance(v, ast.stmt) for v in value):
            yield (), field, value
    for field in ("handlers", "cases"):
        for index, holder in enumerate(getattr(node, field, None) or []):
            yield ((field, index),), "body", holder.body


def _at(tree: ast.AST, path: Path) -> ast.stmt:
    node = _at_steps(tree, path)
    assert isinstance(node, ast.stmt), f"{path} is not a statement"
    return node


def _at_steps(tree: ast.AST, steps: Path) -> ast.AST:
    node = tree
    for field, index in steps:
        node = getattr(node, field)[index]
    return node


def _inert(stmt: ast.stmt) -> bool:
    """``pass`` and bare constants (docstrings): nothing to take out."""
    return isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))


def _names_outside_definitions(tree: ast.Module) -> set[str]:
    """The names and attribute names each top-level definition's name could be reached by, from
    code outside that definition."""
    used: set[str] = set()
    for stmt in tree.body:
        own = stmt.name if isinstance(stmt, _DEFINITIONS) else None
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id != own:
                used.add(node.id)
            elif isinstance(node, ast.Attribute) and node.attr != own:
                used.add(node.attr)
    return used
