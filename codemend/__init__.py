"""codemend: self-repairing code generation with a sandboxed, unforgeable test executor."""

from codemend.errors import CodemendError, InfrastructureError, SandboxUnavailable, UserError
from codemend.problems import AssertTest, IOTest, Problem, load_problems
from codemend.sandbox import LocalSandbox, Sandbox, TestReport, TestResult

__version__ = "0.1.0"

__all__ = [
    "AssertTest",
    "CodemendError",
    "IOTest",
    "InfrastructureError",
    "LocalSandbox",
    "Problem",
    "Sandbox",
    "SandboxUnavailable",
    "TestReport",
    "TestResult",
    "UserError",
    "__version__",
    "load_problems",
]
