"""Rewards: the default fraction of tests passed, CORGI's constraint score, pluggable."""

from __future__ import annotations

import pytest

from codemend.agents import SIGNALS, constraint_score, pass_fraction, reward_components, reward_function
from codemend.errors import UserError
from codemend.records import SecurityFinding, SecurityReport, StructureScore
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


def test_signal_components_are_present_only_where_available() -> None:
    found = SecurityReport(
        available=True,
        analyser="bandit",
        findings=[SecurityFinding(line=4, severity="high", rule="B602", message="shell=True")],
    )
    close = StructureScore(available=True, syntax_match=0.5, dataflow_match=1.0, score=0.75)
    signals = CRITIQUE.model_copy(update={"security": found, "structure": close})
    components = reward_components(REPORT, signals)
    # half the visible tests pass, one high finding: 0.5 * 1 / (1 + 1)
    assert components["security"] == pytest.approx(0.25) and components["structure"] == 0.75
    # no findings in code that passes nothing earns nothing: security is a property of working code
    clean = CRITIQUE.model_copy(update={"security": SecurityReport(available=True, analyser="bandit")})
    failed = [r.model_copy(update={"status": "failed"}) for r in REPORT.results]
    nothing = REPORT.model_copy(update={"results": failed})
    assert reward_components(nothing, clean)["security"] == 0.0
    assert reward_components(REPORT, clean)["security"] == 0.5
    missing = CRITIQUE.model_copy(
        update={
            "security": SecurityReport(available=False, reason="bandit is not installed"),
            "structure": StructureScore(available=False, reason="the problem has no reference solution"),
        }
    )
    assert reward_components(REPORT, missing) == {"pass_fraction": 0.5, "constraint_score": 0.5}
    assert set(SIGNALS) == {"security", "structure"}
