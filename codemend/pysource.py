"""Parsing and compiling model-written Python without printing the compiler's warnings.

``compile`` reports some mistakes as ``SyntaxWarning`` (``'tuple' object is not callable;
perhaps you missed a comma?``, ``"is" with a literal``, invalid escape sequences), which Python
prints to stderr, into the middle of a progress bar. Here they are caught and returned, so that
the critic can put them in its feedback instead.
"""

from __future__ import annotations

import ast
import warnings


def _caught(caught: list[warnings.WarningMessage]) -> list[str]:
    return [f"line {w.lineno}: {w.message}" for w in caught]


def parse(code: str, filename: str = "<reply>") -> tuple[ast.Module, list[str]]:
    """``ast.parse`` with its warnings returned; raises ``SyntaxError``/``ValueError``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tree = ast.parse(code, filename)
    return tree, _caught(caught)


def compile_warnings(code: str, filename: str = "<reply>") -> list[str]:
    """What compiling ``code`` warns about (nothing printed); raises ``SyntaxError``/``ValueError``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile(code, filename, "exec", dont_inherit=True)
    return _caught(caught)
