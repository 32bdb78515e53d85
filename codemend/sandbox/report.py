"""What running a candidate against tests produced: data, never exceptions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TestStatus = Literal["passed", "failed", "error", "timeout", "memory", "crashed"]
Isolation = Literal["namespaces", "rlimits", "container"]


class TestResult(BaseModel):
    """The verdict on one test."""

    __test__ = False  # not a pytest class
    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(description="Position of the test in the list that was run.")
    kind: Literal["assert", "io"]
    visibility: Literal["visible", "hidden"]
    status: TestStatus
    trusted: bool = Field(
        default=True, description="False when the verdict was decided inside the candidate process."
    )
    duration_s: float = 0.0
    call: str | None = Field(default=None, description="The last call of the solution, rendered.")
    assertion: str | None = None
    expected: str | None = None
    actual: str | None = None
    exc_type: str | None = None
    exc_message: str | None = None
    traceback: str | None = Field(default=None, description="Trimmed to the solution's frames.")
    detail: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class TestReport(BaseModel):
    """All verdicts of one run, with the candidate's captured output."""

    __test__ = False
    model_config = ConfigDict(extra="forbid", frozen=True)

    results: list[TestResult]
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_s: float = 0.0
    backend: str = "local"
    isolation: Isolation = "namespaces"

    @property
    def passed(self) -> bool:
        """Every test passed (an empty run passes nothing)."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def n_passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def fraction_passed(self) -> float:
        return self.n_passed / len(self.results) if self.results else 0.0

    def counts(self) -> dict[str, int]:
        tally: dict[str, int] = {}
        for r in self.results:
            tally[r.status] = tally.get(r.status, 0) + 1
        return tally
