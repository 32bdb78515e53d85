"""``agents.security``: bandit's static analysis of a candidate as findings, a constraint, feedback
lines and a reward component; an analyser that is not installed or code that does not parse is
"not available" with the reason, never a verdict."""

from __future__ import annotations

import pytest
from repair_helpers import RIGHT
from security_helpers import UNSAFE, needs_bandit

from codemend.agents import SecurityAnalyser
from codemend.agents.security import security_constraint, security_feedback, security_reward
from codemend.problems import Problem

pytest_plugins = ["repair_fixtures"]


@needs_bandit
def test_findings_by_severity_with_lines_rules_and_the_analyser(square: Problem) -> None:
    report = SecurityAnalyser().analyse(square, UNSAFE)
    assert report.available and report.reason is None
    assert report.analyser is not None and report.analyser.startswith("bandit ")
    found = [(f.line, f.severity, f.rule) for f in report.findings]
    assert found == [(5, "high", "B602"), (1, "low", "B404")]  # most severe first
    assert "shell=True" in report.findings[0].message


@needs_bandit
def test_a_high_finding_fails_the_required_security_constraint(square: Problem) -> None:
    report = SecurityAnalyser().analyse(square, UNSAFE)
    constraint = security_constraint(report)
    assert constraint is not None and constraint.required and not constraint.satisfied
    assert "line 5:" in constraint.evidence and "(B602, high)" in constraint.evidence
    feedback = security_feedback(report)
    assert feedback is not None
    lines = feedback.splitlines()
    assert "fix the high-severity findings" in lines[0]
    assert lines[1].startswith("- line 5: subprocess call with shell=True")
    assert lines[1].endswith("(B602, high)")
    assert lines[2].startswith("- line 1: ") and lines[2].endswith("(B404, low)")
    assert security_reward(report) == pytest.approx(1 / (1 + 1.0 + 0.25))


@needs_bandit
def test_clean_code_satisfies_it_with_the_full_reward(square: Problem) -> None:
    report = SecurityAnalyser().analyse(square, RIGHT)
    assert report.available and report.findings == []
    constraint = security_constraint(report)
    assert constraint is not None and constraint.satisfied
    assert security_feedback(report) is None and security_reward(report) == 1.0


@needs_bandit
def test_lower_findings_are_reported_but_do_not_fail_it(square: Problem) -> None:
    code = "def square(x):\n    return eval('x * x')\n"  # B307, medium
    report = SecurityAnalyser().analyse(square, code)
    assert [(f.line, f.severity, f.rule) for f in report.findings] == [(2, "medium", "B307")]
    constraint = security_constraint(report)
    assert constraint is not None and constraint.satisfied
    assert "avoid them where you can" in (security_feedback(report) or "")
    assert security_reward(report) == pytest.approx(1 / 1.5)


def test_an_analyser_that_is_not_installed_is_not_available_and_gives_no_verdict(square: Problem) -> None:
    report = SecurityAnalyser(module="codemend_no_such_analyser").analyse(square, UNSAFE)
    assert not report.available and report.findings == []
    assert report.reason == "codemend_no_such_analyser is not installed: pip install 'codemend[security]'"
    assert security_constraint(report) is None  # no verdict without an analysis
    assert security_feedback(report) is None and security_reward(report) is None


@needs_bandit
@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("def square(x:\n    return x\n", "not analysed: the code does not parse (line 1: "),
        ("x = " + "(" * 400 + "1" + ")" * 400 + "\n", "the code does not parse (line 1: too many nested"),
        ("x = 1\x00\n", "the code does not parse (source code string cannot contain null bytes)"),
    ],
)
def test_code_that_does_not_parse_is_not_analysed(square: Problem, code: str, why: str) -> None:
    report = SecurityAnalyser().analyse(square, code)
    assert not report.available and report.reason is not None and why in report.reason
    assert security_constraint(report) is None and security_reward(report) is None


def test_another_language_is_not_analysed() -> None:
    program = Problem(
        id="c-double",
        prompt="Print each integer doubled.",
        language="c",
        tests=[{"kind": "io", "stdin": "1\n", "expected_stdout": "2\n"}],  # type: ignore[list-item]
    )
    report = SecurityAnalyser().analyse(program, '#include <stdlib.h>\nint main(void) { system("ls"); }\n')
    assert not report.available and report.reason == "bandit analyses Python only, not c"
    assert security_constraint(report) is None and security_reward(report) is None
