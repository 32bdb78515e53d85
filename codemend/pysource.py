"""Parsing and compiling model-written Python without printing the compiler's warnings.

``compile`` reports some mistakes as ``SyntaxWarning`` (``'tuple' object is not callable;
perhaps you missed a comma?``, ``"is" with a literal``, invalid escape sequences), which Python
prints to stderr, into the middle of a progress bar. Here they are caught and returned, so that
the critic can put them in its feedback instead.
"""

from __future__ import annotations

import ast
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import cast


def _caught(caught: list[warnings.WarningMessage]) -> list[str]:
    return [f"line {w.lineno}: {w.message}" for w in caught]


_MEMO_SIZE = 8
_memo: OrderedDict[tuple[str, str, str], tuple[object, BaseException | None]] = OrderedDict()
_memo_lock = threading.Lock()
# One parse or compile at a time in this process: CPython 3.11 keeps the AST converter's recursion
# depth per interpreter, not per thread, and two threads parsing at once (the reward's scorers
# extracting code) raised "SystemError: AST constructor recursion depth mismatch" here; the
# warnings filters that ``catch_warnings`` swaps are process-wide too. Parsing holds the GIL
# anyway, so nothing runs slower for it.
_work_lock = threading.Lock()


def _once(kind: str, code: str, filename: str, work: Callable[[], object]) -> object:
    """``work()`` for ``(kind, code, filename)`` once: the critic, the extractor and the
    no-progress check each parse the same reply, which for a large one costs seconds. The last
    few results (or the exception raised) are kept; a tree handed out is shared, not to be
    changed."""
    key = (kind, code, filename)
    with _memo_lock:
        found = _memo.get(key)
        if found is not None:
            _memo.move_to_end(key)
    if found is None:
        try:
            with _work_lock:
                found = (work(), None)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            found = (None, exc)
        with _memo_lock:
            _memo[key] = found
            while len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    value, error = found
    if error is not None:
        raise error
    return value


def parse(code: str, filename: str = "<reply>") -> tuple[ast.Module, list[str]]:
    """``ast.parse`` with its warnings returned; raises ``SyntaxError``/``ValueError`` (a
    ``RecursionError`` or ``MemoryError`` of a pathological reply as ``ValueError``)."""

    def work() -> tuple[ast.Module, list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tree = ast.parse(code, filename)
        return tree, _caught(caught)

    try:
        return cast(tuple[ast.Module, list[str]], _once("parse", code, filename, work))
    except (RecursionError, MemoryError) as exc:
        raise ValueError(
            f"the code is too deeply nested or too large to parse ({type(exc).__name__})"
        ) from None


def compile_warnings(code: str, filename: str = "<reply>") -> list[str]:
    """What compiling ``code`` warns about (nothing printed); raises ``SyntaxError``/``ValueError``."""

    def work() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compile(code, filename, "exec", dont_inherit=True)
        return _caught(caught)

    try:
        return list(cast(list[str], _once("compile", code, filename, work)))
    except (RecursionError, MemoryError) as exc:
        raise ValueError(
            f"the code is too deeply nested or too large to compile ({type(exc).__name__})"
        ) from None
