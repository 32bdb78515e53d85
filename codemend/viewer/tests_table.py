"""Test reports as tables: one row per test with its call, expected, actual and traceback."""

from __future__ import annotations

from collections.abc import Sequence

from codemend.problems import AssertTest, IOTest
from codemend.records import TestReport, TestResult
from codemend.viewer.html import badge, details, e, pre, table, tag

HEAD = ("#", "verdict", "test", "call", "expected", "actual", "error")


def _test_text(result: TestResult, test: AssertTest | IOTest | None) -> str:
    if test is not None:
        return (
            test.code
            if isinstance(test, AssertTest)
            else f"stdin: {test.stdin!r}\nexpected stdout: {test.expected_stdout!r}"
        )
    return result.assertion or ""


def _error(result: TestResult) -> str:
    head = ": ".join(x for x in (result.exc_type, result.exc_message) if x)
    parts = [tag("div", e(head), class_="exc")] if head else []
    if result.detail:
        parts.append(pre(result.detail, class_="detail"))
    if result.traceback:
        parts.append(details("traceback", pre(result.traceback), open_=True, class_="traceback"))
    return "".join(parts)


def _cell(text: str | None) -> str:
    return pre(text, class_="cell") if text else ""


def report_table(report: TestReport, tests: Sequence[AssertTest | IOTest] = (), *, kind: str) -> str:
    """``tests``: the list that was run (to show each test's code); ``kind`` names the CSS class."""
    rows = []
    for r in report.results:
        test = tests[r.index] if 0 <= r.index < len(tests) else None
        verdict = badge(r.status, "pass" if r.passed else "fail") + (
            "" if r.trusted else badge("untrusted", "warn")
        )
        rows.append(
            [
                e(r.index),
                verdict,
                _cell(_test_text(r, test)),
                _cell(r.call),
                _cell(r.expected),
                _cell(r.actual),
                _error(r),
            ]
        )
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items())) or "no tests"
    caption = tag(
        "p",
        e(
            f"{report.n_passed}/{len(report.results)} passed ({counts}); "
            f"{report.duration_s:.2f} s, {report.backend} sandbox, {report.isolation}"
        ),
        class_="muted",
    )
    out = [caption, table(HEAD, rows, class_=f"tests {kind}")]
    for name, text, cut in (
        ("stdout", report.stdout, report.stdout_truncated),
        ("stderr", report.stderr, report.stderr_truncated),
    ):
        if text:
            label = f"{name} ({len(text)} chars{', truncated' if cut else ''})"
            out.append(details(e(label), pre(text)))
    return "".join(out)
