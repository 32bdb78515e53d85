"""codemend's error taxonomy.

Outcomes of candidate code are data (see ``codemend.sandbox.TestReport``); only these raise:
- ``UserError``: bad input or configuration; the message says what to change.
- ``InfrastructureError``: something codemend depends on failed (sandbox, endpoint). Callers
  record it as such, never as a wrong answer.
- ``ContextLengthExceeded``: the prompt does not fit the model's context; neither of the above
  (the input is fine for codemend, the endpoint is up): a stop of its own.
"""

from __future__ import annotations

__all__ = [
    "CodemendError",
    "ContextLengthExceeded",
    "EmbeddedServerError",
    "InfrastructureError",
    "ModelMisbehaviour",
    "ProblemError",
    "ProblemFileError",
    "ProviderError",
    "RetriesExhausted",
    "SandboxUnavailable",
    "UserError",
]


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


class ProblemError(UserError):
    """One problem cannot be used as given (its reference fails its own workload, its input
    generator raises...): that problem's error, reported with its id; a batch goes on."""

    def __init__(self, problem_id: str, message: str) -> None:
        super().__init__(f"problem {problem_id}: {message}")
        self.problem_id = problem_id


class InfrastructureError(CodemendError):
    """A dependency of codemend failed; not the candidate's or the model's fault."""


class SandboxUnavailable(InfrastructureError):
    """The sandbox cannot start (or cannot give the isolation that was required)."""


class ProviderError(InfrastructureError):
    """The LLM endpoint answered with an error; keeps the HTTP status and the raw body.

    ``status`` is None when no HTTP answer came back (timeout, dropped connection).
    """

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        self.status = status
        self.body = body
        super().__init__(message)


class RetriesExhausted(ProviderError):
    """Every retry of a retryable failure (429, 5xx, timeout, connection) was used up."""

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        elapsed_s: float,
        status: int | None = None,
        body: str | None = None,
    ):
        self.attempts = attempts
        self.elapsed_s = elapsed_s
        super().__init__(
            f"gave up after {attempts} attempt(s) in {elapsed_s:.1f}s: {message}",
            status=status,
            body=body,
        )


class ContextLengthExceeded(CodemendError):
    """The request (messages plus ``max_tokens``) does not fit the model's context window.

    Not an infrastructure failure: the endpoint is fine and retrying the same request cannot
    help. The repair graph ends the trajectory with ``stop_reason="context_length"`` and scores
    what it has; the LLM critic falls back to the test report. Keeps the endpoint's HTTP status
    and raw body when the endpoint said so (None when the client refused to send the prompt).
    """

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        self.status = status
        self.body = body
        super().__init__(message)


class ModelMisbehaviour(InfrastructureError):
    """The endpoint answered 2xx with something that is not a usable completion.

    Malformed JSON or an empty ``choices`` list; ``body`` keeps the raw answer.
    """

    def __init__(self, message: str, *, body: str):
        self.body = body
        super().__init__(message)


class EmbeddedServerError(InfrastructureError):
    """The embedded llama.cpp server did not start; the message ends with its log tail."""
