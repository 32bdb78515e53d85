"""The critic's optional signals of one step as HTML: the security analysis (its findings also
reached the model, in the feedback) and the structure score (never shown to the model: it is
computed against the reference solution). A signal that is not available says why."""

from __future__ import annotations

from codemend.records import Critique, SecurityReport, StructureScore
from codemend.viewer.html import badge, e, table, tag


def signals_html(critique: Critique) -> str:
    """The security and structure panels the critique has (nothing for those not asked for)."""
    parts = []
    if critique.security is not None:
        parts.append(_security(critique.security))
    if critique.structure is not None:
        parts.append(_structure(critique.structure))
    return "".join(parts)


def _unavailable(report: SecurityReport | StructureScore) -> str:
    return tag("p", e(f"not available: {report.reason or 'no reason recorded'}"), class_="muted")


def _security(report: SecurityReport) -> str:
    head = tag("h4", e(f"Security analysis ({report.analyser or 'no analyser'})"))
    if not report.available:
        return tag("div", head + _unavailable(report), class_="security")
    if not report.findings:
        return tag("div", head + tag("p", "No findings.", class_="muted"), class_="security")
    kinds = {"high": "fail", "medium": "warn", "low": "muted"}
    rows = [
        [
            e(f.line if f.line is not None else ""),
            badge(f.severity, kinds[f.severity]),
            e(f.confidence),
            e(f.rule),
            e(f.message),
        ]
        for f in report.findings
    ]
    found = table(("line", "severity", "confidence", "rule", "finding"), rows, class_="findings")
    return tag("div", head + found, class_="security")


def _structure(score: StructureScore) -> str:
    head = tag("h4", "Structure against the reference solution (not shown to the model)")
    if not score.available:
        return tag("div", head + _unavailable(score), class_="structure")
    rows = [
        [e("syntax match"), e(_number(score.syntax_match))],
        [e("data-flow match"), e(_number(score.dataflow_match, "n/a (the reference has no data flow)"))],
        [e("closeness of the credited statements"), e(_number(score.closeness))],
        [e("statements credited"), e(_credited(score))],
        [e("score"), e(_number(score.score, f"n/a ({score.unscored})" if score.unscored else "n/a"))],
    ]
    return tag("div", head + table(("component", "value"), rows), class_="structure")


def _credited(score: StructureScore) -> str:
    if score.credited is None or score.statements is None:
        return "n/a"
    return f"{score.credited} of {score.statements} (those a passing visible test needs)"


def _number(value: float | None, missing: str = "n/a") -> str:
    return missing if value is None else f"{value:.3f}"
