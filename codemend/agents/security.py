"""``--constraints security``: a static security analysis of the candidate with bandit.

Bandit (PyCQA, on PyPI) parses the source into an AST and runs its checks over it; it never
imports or executes the code, so it runs in the critic's process (about 1 ms a candidate, against
about 120 ms for ``python -m bandit`` in a subprocess: ``perf/critic_signals.py``). Its findings
become ``SecurityFinding`` values, feedback lines, a ``security`` constraint that blocks "solved"
on a high-severity finding, and a reward component (``security_reward``). An analyser that is not
installed, a candidate that does not parse, or a problem in another language than Python give a
report that is not available, with the reason: never a fake verdict.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from codemend import pysource
from codemend.problems import Problem
from codemend.records import Constraint, SecurityFinding, SecurityReport

Severity = Literal["low", "medium", "high"]
SEVERITY_WEIGHTS: dict[Severity, float] = {"high": 1.0, "medium": 0.5, "low": 0.25}
"""Each finding's weight in the reward: ``1 / (1 + sum of the weights)``."""
BLOCKING: Severity = "high"
"""A finding of this severity keeps a step that passes its tests from being solved."""
MAX_FEEDBACK_FINDINGS = 5
_ORDER: dict[Severity, int] = {"high": 0, "medium": 1, "low": 2}
_LEVELS: dict[str, Severity] = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"}  # bandit's names
INSTALL_HINT = "pip install 'codemend[security]'"


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityAnalyser:
    """Bandit, imported as ``module`` (another name only to check the not-installed path)."""

    module: str = "bandit"

    def analyse(self, problem: Problem, code: str) -> SecurityReport:
        """The findings on ``code``, or a report that is not available, saying why."""
        if problem.language != "python":
            why = f"bandit analyses Python only, not {problem.language}"
            return SecurityReport(available=False, reason=why)
        api = self._api()
        if isinstance(api, str):
            return SecurityReport(available=False, analyser=self.module, reason=api)
        unparsed = _unparsed(code)
        if unparsed is not None:
            return SecurityReport(available=False, analyser=api[2], reason=f"not analysed: {unparsed}")
        manager, config, version = api
        with tempfile.TemporaryDirectory(prefix="codemend-bandit-") as tmp:
            path = Path(tmp) / "candidate.py"
            path.write_text(code, encoding="utf-8", errors="replace")
            run = manager.BanditManager(config.BanditConfig(), "file", quiet=True)
            run.discover_files([str(path)])
            try:
                run.run_tests()
            except (RecursionError, MemoryError) as exc:  # bandit's own visitor on pathological code
                why = f"bandit could not analyse the code ({type(exc).__name__})"
                return SecurityReport(available=False, analyser=version, reason=why)
            if run.skipped:
                why = f"not analysed: bandit skipped the code ({run.skipped[0][1]})"
                return SecurityReport(available=False, analyser=version, reason=why)
            findings = [_finding(issue) for issue in run.get_issue_list()]
        findings.sort(key=lambda f: (_ORDER[f.severity], f.line or 0))
        return SecurityReport(available=True, analyser=version, findings=findings)

    def _api(self) -> tuple[ModuleType, ModuleType, str] | str:
        """Bandit's manager and config modules and its version, or why they cannot be had."""
        if importlib.util.find_spec(self.module) is None:
            return f"{self.module} is not installed: {INSTALL_HINT}"
        # stevedore warns about an argument bandit still passes, and logs an error for each of
        # bandit's optional output formats whose package is missing (sarif): not ours to show
        loader_log = logging.getLogger("stevedore.extension")
        level = loader_log.level
        loader_log.setLevel(logging.CRITICAL)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                root = importlib.import_module(self.module)
                manager = importlib.import_module(f"{self.module}.core.manager")
                config = importlib.import_module(f"{self.module}.core.config")
        finally:
            loader_log.setLevel(level)
        return manager, config, f"{self.module} {getattr(root, '__version__', '?')}"


def _unparsed(code: str) -> str | None:
    """Why ``code`` does not parse as Python, or None when it does."""
    try:
        pysource.parse(code)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return f"the code does not parse ({where}{exc.msg})"
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, pathological nesting
        return f"the code does not parse ({type(exc).__name__})"
    return None


def _finding(issue: Any) -> SecurityFinding:
    """One of bandit's issues as a finding (its severity and confidence are upper-case names)."""
    return SecurityFinding(
        line=issue.lineno if isinstance(issue.lineno, int) and issue.lineno > 0 else None,
        severity=_LEVELS.get(str(issue.severity).upper(), "low"),
        confidence=_LEVELS.get(str(issue.confidence).upper(), "low"),
        rule=str(issue.test_id),
        message=str(issue.text).strip(),
    )


def finding_line(finding: SecurityFinding) -> str:
    """``line 4: subprocess call with shell=True identified, security issue. (B602, high)``."""
    where = f"line {finding.line}: " if finding.line is not None else ""
    return f"{where}{finding.message} ({finding.rule}, {finding.severity})"


def security_constraint(report: SecurityReport) -> Constraint | None:
    """The ``security`` constraint (required for "solved"): no finding of ``BLOCKING`` severity;
    None when the report is not available (no verdict without an analysis)."""
    if not report.available:
        return None
    blocking = [f for f in report.findings if f.severity == BLOCKING]
    if blocking:
        evidence = "; ".join(finding_line(f) for f in blocking)
    else:
        evidence = f"no {BLOCKING}-severity finding ({len(report.findings)} lower)"
    return Constraint(name="security", satisfied=not blocking, evidence=evidence, required=True)


def security_feedback(report: SecurityReport) -> str | None:
    """The feedback lines on the findings, most severe first, or None without any."""
    if not report.available or not report.findings:
        return None
    shown = report.findings[:MAX_FEEDBACK_FINDINGS]
    lines = [f"- {finding_line(f)}" for f in shown]
    if len(report.findings) > len(shown):
        lines.append(f"- ({len(report.findings) - len(shown)} more finding(s) not shown.)")
    must = any(f.severity == BLOCKING for f in report.findings)
    head = (
        "Security analysis (bandit): fix the high-severity findings, keeping the tests passing:"
        if must
        else "Security analysis (bandit) findings; avoid them where you can:"
    )
    return head + "\n" + "\n".join(lines)


def security_reward(report: SecurityReport) -> float | None:
    """1.0 without findings, ``1 / (1 + sum of SEVERITY_WEIGHTS)`` with some (one high: 0.5, one
    low: 0.8); None when the report is not available."""
    if not report.available:
        return None
    return 1.0 / (1.0 + sum(SEVERITY_WEIGHTS[f.severity] for f in report.findings))
