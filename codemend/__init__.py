"""codemend: self-repairing code generation with a sandboxed, unforgeable test executor.

Every public name is imported on first use, so that ``import codemend`` (and the command
line's ``--help``) costs next to nothing; ``solve`` pulls in LangGraph and openai (~1 s).
"""

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from codemend.errors import CodemendError, InfrastructureError, SandboxUnavailable, UserError
    from codemend.optimise import SpeedSettings
    from codemend.problems import AssertTest, IOTest, Problem, load_problems
    from codemend.records import SpeedMeasurement, TestReport, TestResult
    from codemend.sandbox import LocalSandbox, Sandbox
    from codemend.solver import SolveResult, asolve, solve

_HOMES = {
    "codemend.errors": ("CodemendError", "InfrastructureError", "SandboxUnavailable", "UserError"),
    "codemend.optimise": ("SpeedSettings",),
    "codemend.problems": ("AssertTest", "IOTest", "Problem", "load_problems"),
    "codemend.records": ("SpeedMeasurement",),
    "codemend.sandbox": ("LocalSandbox", "Sandbox", "TestReport", "TestResult"),
    "codemend.solver": ("SolveResult", "asolve", "solve"),
}
_LAZY = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'codemend' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
    "SpeedMeasurement",
    "SpeedSettings",
    "TestReport",
    "TestResult",
    "UserError",
    "__version__",
    "asolve",
    "load_problems",
    "solve",
]
