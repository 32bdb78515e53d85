"""codemend's error taxonomy.

Outcomes of candidate code are data (see ``codemend.sandbox.TestReport``); only these raise:
- ``UserError``: bad input or configuration; the message says what to change.
- ``InfrastructureError``: something codemend depends on failed (sandbox, endpoint). Callers
  record it as such, never as a wrong answer.
"""

from __future__ import annotations


class CodemendError(Exception):
    """Base class of every error codemend raises on purpose."""


class UserError(CodemendError):
    """Bad input or configuration."""


class ProblemFileError(UserError):
    """A problem file that cannot be read; names the file, the line (JSONL) and the field."""

    def __init__(self, path: str, message: str, *, line: int | None = None, field: str | None = None):
        self.path = path
        self.line = line
        self.field = field
        self.message = message
        where = path if line is None else f"{path}:{line}"
        what = f" field {field!r}:" if field else ""
        super().__init__(f"{where}:{what} {message}")


class InfrastructureError(CodemendError):
    """A dependency of codemend failed; not the candidate's or the model's fault."""


class SandboxUnavailable(InfrastructureError):
    """The sandbox cannot start (or cannot give the isolation that was required)."""
