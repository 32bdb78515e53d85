"""Rewards: the default fraction of tests passed, CORGI's constraint score, pluggable."""

from __future__ import annotations

import pytest

from codemend.agents import constraint_score, pass_fraction, reward_components, reward_function
from codemend.errors import UserError
from codemend.sandbox import TestReport, TestResult
from codemend.trajectories import Constraint, Critique

REPORT = TestReport(
    results=[
        TestResult(index=0, kind="assert", visibility="visible", status="passed"),
        TestResult(index=1, kind="assert", visibility="visible", status="failed"),
    ]
)
CRITIQUE = Critique(
    constraints=[Constraint(name="parses", satisfied=True), Constraint(name="tests", satisfied=False)],
    score=0.5,
    feedback="",
)


def test_defaults_and_components() -> None:
    assert pass_fraction(REPORT, None) == 0.5
    assert pass_fraction(None, None) == 0.0
    assert constraint_score(REPORT, CRITIQUE) == 0.5
    assert constraint_score(REPORT, None) == 0.5  # the final reward has no critique
    assert reward_components(REPORT, CRITIQUE) == {"pass_fraction": 0.5, "constraint_score": 0.5}


def test_rewards_are_named_or_plugged_in() -> None:
    assert reward_function("constraint_score") is constraint_score

    def all_or_nothing(report: TestReport | None, critique: Critique | None) -> float:
        return float(report is not None and report.passed)

    assert reward_function(all_or_nothing) is all_or_nothing
    with pytest.raises(UserError, match="unknown reward 'bleu'"):
        reward_function("bleu")
