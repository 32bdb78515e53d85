"""A reward's score and what it rests on (``codemend.rewards.score_details``, the dict that
``acompute_score`` returns). A module of its own: ``codemend.rewards`` may be loaded a second time
from its file path (verl's ``custom_reward_function.path``), where a dataclass cannot be defined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codemend.sandbox import TestReport

__all__ = ["RewardDetails", "details_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RewardDetails:
    """A reply's score and what it rests on. ``pass_fraction``, ``tests_passed`` and ``tests`` are
    None when a cluster scored the reply on a node of its own (it sends the score alone)."""

    score: float
    passed: bool  # every test passed
    pass_fraction: float | None
    tests_passed: int | None
    tests: int | None
    failing_test: str = ""  # the first test that did not pass, how it ended (hidden: no code)
    error: str = ""  # the first exception, timeout or crash, or why nothing ran

    def as_dict(self) -> dict[str, Any]:
        """The details as verl's reward managers take them: ``score`` is the reward, ``acc`` 1.0
        when every test passed, the rest as they are (verl logs the numbers, skips the strings)."""
        return {
            "score": self.score,
            "acc": float(self.passed),
            "pass_fraction": self.pass_fraction,
            "tests_passed": self.tests_passed,
            "tests": self.tests,
            "failing_test": self.failing_test,
            "error": self.error,
        }


def details_of(score: float, report: TestReport) -> RewardDetails:
    """``score`` with the details of ``report``: a failing hidden test is named by its place,
    never by its code."""
    failing = next((r for r in report.results if not r.passed), None)
    failing_text = ""
    if failing is not None:
        what = f"{failing.visibility} test {failing.index}: {failing.status}"
        if failing.visibility == "visible" and failing.assertion:
            what += f" ({failing.assertion}"
            what += f": expected {failing.expected}, got {failing.actual})" if failing.expected else ")"
        failing_text = what
    erring = next((r for r in report.results if r.status in ("error", "timeout", "memory", "crashed")), None)
    error = ""
    if erring is not None:
        error = erring.detail or erring.status
        if erring.exc_type:
            error = f"{erring.exc_type}: {erring.exc_message}"
    return RewardDetails(
        score=score,
        passed=report.passed,
        pass_fraction=report.fraction_passed,
        tests_passed=report.n_passed,
        tests=len(report.results),
        failing_test=failing_text[:500],
        error=error[:500],
    )
