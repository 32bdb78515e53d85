"""codemend: self-repairing code generation with a sandboxed, unforgeable test executor.

Every public name is imported on first use, so that ``import codemend`` (and the command
line's ``--help``) costs next to nothing; ``solve`` pulls in LangGraph and openai (~1 s).
"""

from typing import TYPE_CHECKING

from codemend._lazy import lazy_names

__version__ = "0.1.0"

if TYPE_CHECKING:
    from codemend.errors import CodemendError, InfrastructureError, SandboxUnavailable, UserError
    from codemend.optimise import Correctness, Speed
    from codemend.problems import AssertTest, IOTest, Problem, load_problems
    from codemend.records import SpeedMeasurement, TestReport, TestResult
    from codemend.sandbox import LocalSandbox, Sandbox
    from codemend.solver import SolveResult, asolve, solve

_HOMES = {
    "codemend.errors": ("CodemendError", "InfrastructureError", "SandboxUnavailable", "UserError"),
    "codemend.optimise": ("Correctness", "Speed"),
    "codemend.problems": ("AssertTest", "IOTest", "Problem", "load_problems"),
    "codemend.records": ("SpeedMeasurement",),
    "codemend.sandbox": ("LocalSandbox", "Sandbox", "TestReport", "TestResult"),
    "codemend.solver": ("SolveResult", "asolve", "solve"),
}
__getattr__, __dir__ = lazy_names(__name__, globals(), _HOMES)


__all__ = [
    "AssertTest",
    "CodemendError",
    "Correctness",
    "IOTest",
    "InfrastructureError",
    "LocalSandbox",
    "Problem",
    "Sandbox",
    "SandboxUnavailable",
    "SolveResult",
    "Speed",
    "SpeedMeasurement",
    "TestReport",
    "TestResult",
    "UserError",
    "__version__",
    "asolve",
    "load_problems",
    "solve",
]
