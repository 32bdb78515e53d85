"""Running untrusted candidate code against tests, isolated from the host."""

from codemend.errors import SandboxUnavailable
from codemend.sandbox.base import Sandbox
from codemend.sandbox.docker import DockerSandbox
from codemend.sandbox.factory import open_sandbox
from codemend.sandbox.local import LocalSandbox
from codemend.sandbox.pool import SandboxLimits
from codemend.sandbox.report import Isolation, TestReport, TestResult, TestStatus

__all__ = [
    "DockerSandbox",
    "Isolation",
    "LocalSandbox",
    "Sandbox",
    "SandboxLimits",
    "SandboxUnavailable",
    "TestReport",
    "TestResult",
    "TestStatus",
    "open_sandbox",
]
