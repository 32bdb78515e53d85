"""The critic's deterministic constraints, checked in order (CORGI-style).

The code parses (Python) or compiles (the other languages: the sandbox's compile verdict, its
diagnostics trimmed); it defines the entry point with a signature the tests can call; it
respects the import policy; each visible test passes; no test ran out of time or memory. Only
visible results are ever read, even when a report holds others.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, get_args

from codemend import pysource
from codemend.errors import UserError
from codemend.languages import language, mismatch
from codemend.problems import AssertTest, Problem
from codemend.records import Constraint, TestReport, TestResult

_NETWORK = ("socket", "ssl", "http", "urllib", "urllib3", "requests", "httpx", "aiohttp", "ftplib")
_MAIL_RPC = ("smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "socketserver", "webbrowser")
_PROCESSES = ("subprocess", "multiprocessing", "pty", "pexpect", "os.system", "os.popen", "os.fork*")
_PROCESS_CALLS = ("os.exec*", "os.spawn*", "os.posix_spawn*")
_UNPARSED = "not checked: the code does not parse"

ExtraConstraint = Literal["security"]
EXTRA_CONSTRAINTS: tuple[ExtraConstraint, ...] = get_args(ExtraConstraint)
"""Constraints a run may add to the critic's own (``--constraints``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportPolicy:
    """Dotted names (``fnmatch`` patterns) the code may not import or call."""

    name: str = "default"
    forbidden: frozenset[str] = frozenset()

    @classmethod
    def strict(cls) -> ImportPolicy:
        """No network and no subprocess modules (or ``os`` process calls)."""
        return cls(name="strict", forbidden=frozenset((*_NETWORK, *_MAIL_RPC, *_PROCESSES, *_PROCESS_CALLS)))

    @classmethod
    def named(cls, name: str) -> ImportPolicy:
        """The preset called ``name`` (``default``: nothing forbidden, or ``strict``); ``UserError``
        naming the presets for any other name."""
        presets = {"default": cls(), "strict": cls.strict()}
        if name not in presets:
            raise UserError(f"unknown import policy {name!r}; expected one of {sorted(presets)}")
        return presets[name]

    def blocks(self, dotted: str) -> bool:
        """Whether ``dotted`` (``os.path.join``) or one of its parent names (``os``, ``os.path``) matches
        a forbidden pattern."""
        parts = dotted.split(".")
        prefixes = (".".join(parts[: i + 1]) for i in range(len(parts)))
        return any(fnmatch.fnmatchcase(p, pat) for p in prefixes for pat in self.forbidden)


def visible_results(report: TestReport) -> list[TestResult]:
    """The results of ``report``'s visible tests, in order: all the critic may read."""
    return [r for r in report.results if r.visibility == "visible"]


def check_constraints(
    problem: Problem, code: str, report: TestReport, policy: ImportPolicy
) -> list[Constraint]:
    """Every constraint, in order: parses (compiles, for other languages than Python), entry
    point, imports, one per visible test, resources; each satisfied or not, with its evidence."""
    if problem.language != "python":
        constraints = [_compiles(problem, code, report), *_program_structure(problem)]
        constraints.extend(_tests(report))
        constraints.append(_resources(problem, report))
        return constraints
    tree, parses = _parses(code)
    constraints = [parses, _entry_point(problem, tree), _imports(tree, policy)]
    constraints.extend(_tests(report))
    constraints.append(_resources(problem, report))
    return constraints


def _parses(code: str) -> tuple[ast.Module | None, Constraint]:
    try:
        tree, _ = pysource.parse(code)
        warned = pysource.compile_warnings(code)
    except SyntaxError as exc:
        evidence = f"line {exc.lineno}: {exc.msg}"
        other = mismatch(code, "python")
        evidence = f"{other}; {evidence}" if other else evidence
        return None, Constraint(name="parses", satisfied=False, evidence=evidence)
    except ValueError as exc:  # null bytes
        return None, Constraint(name="parses", satisfied=False, evidence=str(exc))
    evidence = f"the compiler warns: {'; '.join(warned)}" if warned else ""
    return tree, Constraint(name="parses", satisfied=True, evidence=evidence)


MAX_DIAGNOSTIC_LINES = 12
MAX_DIAGNOSTIC_CHARS = 1500


def diagnostics(output: str, *, warnings: bool = False) -> str:
    """The compiler's output trimmed for feedback: its error lines (``warnings``: its warning
    lines) with the source lines and carets that follow them, at most ``MAX_DIAGNOSTIC_LINES``."""
    word = "warning" if warnings else "error"
    lines = output.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if word in line.lower()]
    if not starts:
        kept = [] if warnings else lines[:MAX_DIAGNOSTIC_LINES]
    else:
        kept = []
        for i in starts:
            kept.extend(line for line in lines[i : i + 4] if line not in kept[-4:])
            if len(kept) >= MAX_DIAGNOSTIC_LINES:
                break
    text = "\n".join(kept[:MAX_DIAGNOSTIC_LINES])
    return text if len(text) <= MAX_DIAGNOSTIC_CHARS else text[: MAX_DIAGNOSTIC_CHARS - 3] + "..."


def _compiles(problem: Problem, code: str, report: TestReport) -> Constraint:
    """The sandbox's compile verdict on a program in another language: failed with the trimmed
    diagnostics (and what language the code looks written in, when not the problem's), or
    satisfied with the compiler's warnings, if any."""
    shown = language(problem.language).display
    compiled = report.compile
    other = mismatch(code, problem.language)
    prefix = f"{other}; " if other else ""
    if compiled is None:
        return Constraint(name="compiles", satisfied=False, evidence=f"{prefix}no {shown} compile verdict")
    if compiled.status == "ok":
        warned = diagnostics(compiled.output, warnings=True)
        evidence = f"the compiler warns:\n{warned}" if warned else f"compiles as {shown}"
        return Constraint(name="compiles", satisfied=True, evidence=evidence)
    if compiled.status in ("timeout", "memory"):
        evidence = f"{prefix}{compiled.detail or compiled.status}"
    else:
        evidence = f"{prefix}{diagnostics(compiled.output) or compiled.detail or compiled.status}"
    return Constraint(name="compiles", satisfied=False, evidence=evidence)


def _program_structure(problem: Problem) -> list[Constraint]:
    """The entry point and import checks for a program in another language: a whole program has
    no entry point, and the import policy reads Python only."""
    shown = language(problem.language).display
    entry = "a program: no entry point"
    if problem.signature is not None:
        entry = f"`{problem.entry_point}` is called by the driver (missing or mismatched: no compile)"
    return [
        Constraint(name="entry_point", satisfied=True, evidence=entry),
        Constraint(name="imports", satisfied=True, evidence=f"not checked in {shown} (Python only)"),
    ]


def _entry_point(problem: Problem, tree: ast.Module | None) -> Constraint:
    name = problem.entry_point
    if name is None:
        return Constraint(name="entry_point", satisfied=True, evidence="a program: no entry point")
    if tree is None:
        return Constraint(name="entry_point", satisfied=False, evidence=_UNPARSED)
    found = _top_level(tree, name)
    if found is None:
        return Constraint(name="entry_point", satisfied=False, evidence=f"no top-level `{name}`")
    if not isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
        return Constraint(name="entry_point", satisfied=True, evidence=f"`{name}` defined (not a def)")
    signature = f"{name}({ast.unparse(found.args)})"
    for npos, keywords, origin in _expected_calls(problem, name):
        if not _accepts(found.args, npos, keywords):
            shape = ", ".join(["_"] * npos + [f"{k}=_" for k in sorted(keywords)])
            evidence = f"`{signature}` cannot be called as `{name}({shape})` ({origin})"
            return Constraint(name="entry_point", satisfied=False, evidence=evidence)
    return Constraint(name="entry_point", satisfied=True, evidence=f"defines `{signature}`")


def _top_level(tree: ast.Module, name: str) -> ast.stmt | None:
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        else:
            continue
        if name in names:
            found = node  # the last definition wins, as at run time
    return found


def _expected_calls(problem: Problem, name: str) -> Iterator[tuple[int, frozenset[str], str]]:
    """Call shapes the entry point must accept: the starter's signature, the visible tests' calls."""
    starter = _parse_or_none(problem.starter_code)
    stub = _top_level(starter, name) if starter else None
    if isinstance(stub, ast.FunctionDef | ast.AsyncFunctionDef):
        positional = [*stub.args.posonlyargs, *stub.args.args]
        for n in range(len(positional) - len(stub.args.defaults), len(positional) + 1):
            yield n, frozenset(), "the starter code's signature"
    for test in problem.visible_tests():
        tree = _parse_or_none(test.code) if isinstance(test, AssertTest) else None
        for node in ast.walk(tree) if tree else ():
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name):
                continue
            unpacked = any(isinstance(a, ast.Starred) for a in node.args)
            if unpacked or any(k.arg is None for k in node.keywords):
                continue  # f(*args) / f(**kwargs): the shape is unknown
            keywords = frozenset(k.arg for k in node.keywords if k.arg)
            yield len(node.args), keywords, "a visible test calls it so"


def _parse_or_none(code: str) -> ast.Module | None:
    try:
        return pysource.parse(code)[0]
    except (SyntaxError, ValueError):
        return None


def _accepts(args: ast.arguments, npos: int, keywords: frozenset[str]) -> bool:
    positional = [*args.posonlyargs, *args.args]
    if npos > len(positional) and args.vararg is None:
        return False
    by_position = {a.arg for a in positional[:npos]}
    named = {a.arg for a in [*args.args, *args.kwonlyargs]}
    if any(k in by_position or (k not in named and args.kwarg is None) for k in keywords):
        return False
    required = positional[: len(positional) - len(args.defaults)]
    if any(a.arg not in by_position and a.arg not in keywords for a in required):
        return False
    kw_required = [a for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    return all(a.arg in keywords for a in kw_required)


def _imports(tree: ast.Module | None, policy: ImportPolicy) -> Constraint:
    label = f"{policy.name} policy"
    if tree is None:
        return Constraint(name="imports", satisfied=False, evidence=_UNPARSED)
    if not policy.forbidden:
        return Constraint(name="imports", satisfied=True, evidence=f"{label}: nothing forbidden")
    used = sorted({name for name in _names_used(tree) if policy.blocks(name)})
    if used:
        return Constraint(name="imports", satisfied=False, evidence=f"{label} forbids {', '.join(used)}")
    return Constraint(name="imports", satisfied=True, evidence=label)


def _names_used(tree: ast.Module) -> Iterator[str]:
    """Imported modules (``import``, ``from``, ``__import__("x")``, ``importlib.import_module("x")``)
    and dotted attribute chains such as ``os.system``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            callee = ast.unparse(node.func)
            if callee in ("__import__", "importlib.import_module") and isinstance(node.args[0].value, str):
                yield node.args[0].value
        elif isinstance(node, ast.Attribute):
            yield ast.unparse(node)


def _tests(report: TestReport) -> Iterator[Constraint]:
    for r in visible_results(report):
        what = r.call or r.assertion or f"{r.kind} test"
        yield Constraint(name="tests", satisfied=r.passed, evidence=f"test {r.index}: {r.status}: {what}")


def _resources(problem: Problem, report: TestReport) -> Constraint:
    over = []
    for r in visible_results(report):
        if r.status == "timeout":
            over.append(f"test {r.index} exceeded the {problem.time_limit_s:g}s time limit")
        elif r.status == "memory":
            over.append(f"test {r.index} exceeded the {problem.memory_limit_mb} MB memory limit")
    limits = f"within {problem.time_limit_s:g}s and {problem.memory_limit_mb} MB per test"
    evidence = "; ".join(over) or limits
    return Constraint(name="resources", satisfied=not over, evidence=evidence)
