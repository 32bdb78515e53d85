"""codemend: self-repairing code generation with a sandboxed, unforgeable test executor."""

import importlib
from typing import TYPE_CHECKING, Any

from codemend.errors import CodemendError, InfrastructureError, SandboxUnavailable, UserError
from codemend.problems import AssertTest, IOTest, Problem, load_problems
from codemend.sandbox import LocalSandbox, Sandbox, TestReport, TestResult

__version__ = "0.1.0"

if TYPE_CHECKING:
    from codemend.solver import SolveResult, asolve, solve

_LAZY = frozenset({"SolveResult", "asolve", "solve"})  # they import LangGraph and openai (~1 s)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("codemend.solver"), name)
    raise AttributeError(f"module 'codemend' has no attribute {name!r}")


__all__ = [
    "AssertTest",
    "CodemendError",
    "IOTest",
    "InfrastructureError",
    "LocalSandbox",
    "Problem",
    "Sandbox",
    "SandboxUnavailable",
    "SolveResult",
    "TestReport",
    "TestResult",
    "UserError",
    "__version__",
    "asolve",
    "load_problems",
    "solve",
]
