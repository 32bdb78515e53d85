"""``--feedback trace``: the first failing visible test traced in the candidate's own run (LDB's
idea: the blocks it ran, its variables after each), written into the feedback within a fixed
token budget, with where it diverged from the expected result at the end.

The trace comes from the candidate's process, so it is untrusted text: it is shown to the model
and stored, and never read for a verdict, a score or a reward.
"""

from __future__ import annotations

import ast
from typing import Literal, get_args

from codemend.agents.constraints import visible_results
from codemend.problems import AssertTest, Problem
from codemend.records import Critique, TestReport, TestResult, Trace, TraceBlock

FeedbackMode = Literal["tests", "trace"]
FEEDBACK_MODES: tuple[FeedbackMode, ...] = get_args(FeedbackMode)
"""What the repair prompt is told besides the constraints: the failing tests' report (``tests``),
or that and a trace of the first failing one (``trace``)."""

TRACE_TOKEN_BUDGET = 1500
"""The trace's share of a repair prompt, in tokens estimated as characters / 4."""
CHARS_PER_TOKEN = 4
SOURCE_CHARS = 100  # per source line shown


def first_failing(report: TestReport) -> TestResult | None:
    """The first visible test that did not pass (the one a trace follows), or None."""
    return next((r for r in visible_results(report) if not r.passed), None)


def untraceable(code: str, report: TestReport) -> Trace | None:
    """A ``Trace`` saying why there is nothing to trace (no failing visible test, code that does
    not parse), or None when a traced run can be tried."""
    if first_failing(report) is None:
        return Trace(available=False, reason="no visible test fails")
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return Trace(available=False, reason=f"the code does not parse ({type(exc).__name__})")
    return None


def diverged(result: TestResult, problem: Problem) -> str:
    """Where the traced test diverged from what it expected, from the visible run's verdict."""
    if result.status == "failed" and result.expected is not None:
        return f"expected {_clip(result.expected, 200)}, got {_clip(result.actual or '?', 200)}"
    if result.status == "error":
        return f"raised {result.exc_type or 'an exception'}: {_clip(result.exc_message or '', 200)}"
    if result.status == "timeout":
        return f"did not finish within {problem.time_limit_s:g}s"
    return f"ended as {result.status}" + (f" ({_clip(result.detail, 200)})" if result.detail else "")


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _source_line(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= SOURCE_CHARS else line[: SOURCE_CHARS - 3] + "..."


def _values(block: TraceBlock) -> str:
    shown = [f"{k}={v}" for k, v in block.values.items() if not k.startswith("(")]
    text = ", ".join(shown) or "(no variables)"
    if "(return)" in block.values:
        text += f" -> returned {block.values['(return)']}"
    if "(raised)" in block.values:
        text += f" -> raised {block.values['(raised)']}"
    return text


def _path(block: TraceBlock) -> str:
    lines = block.lines or [block.first_line]
    if lines == list(range(lines[0], lines[-1] + 1)):
        return f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
    return "lines " + ", ".join(map(str, lines))


def _render_block(number: int, block: TraceBlock, source: list[str], seen: set[tuple[str, ...]]) -> str:
    head = f"[{number}] {block.function}, {_path(block)}: {_values(block)}"
    key = (block.function, *map(str, block.lines))
    if key in seen:
        return head
    seen.add(key)
    code = [_source_line(source[n - 1]) for n in block.lines if 0 < n <= len(source)]
    return head + "".join(f"\n      {line}" for line in code)


def render_trace(trace: Trace, code: str, test: str, result: TestResult, problem: Problem) -> str:
    """The trace as the repair prompt shows it, within ``TRACE_TOKEN_BUDGET``: first and last
    blocks kept, the middle ones dropped as needed (each gap says how many)."""
    if not trace.available:
        return f"(No execution trace: {trace.reason or 'not available'}.)"
    source = code.splitlines()
    head = (
        f"Execution trace of `{_clip(test, 200)}` in your code "
        "(the lines each block ran, the variables after it):"
    )
    tail = [f"Where it diverged: the test {diverged(result, problem)}."]
    if trace.note:
        tail.insert(0, f"(Trace partial: {_clip(trace.note, 300)}.)")
    budget = TRACE_TOKEN_BUDGET * CHARS_PER_TOKEN - len(head) - sum(len(t) + 1 for t in tail)
    keep = list(range(len(trace.blocks)))
    while True:
        body = _body(trace, keep, source)
        if len(body) <= budget or len(keep) <= 2:
            break
        del keep[len(keep) // 2]
    if len(body) > budget:
        body = body[: max(0, budget - 40)] + "\n(trace cut to its budget)"
    return "\n".join([head, body, *tail])


def _body(trace: Trace, keep: list[int], source: list[str]) -> str:
    lines: list[str] = []
    seen: set[tuple[str, ...]] = set()
    previous = -1
    for i in keep:
        block = trace.blocks[i]
        skipped = range(previous + 1, i)
        dropped = block.omitted_before + sum(1 + trace.blocks[j].omitted_before for j in skipped)
        if dropped:
            lines.append(f"... ({dropped} block(s) not shown) ...")
        lines.append(_render_block(i + 1 + _omitted_until(trace, i), block, source, seen))
        previous = i
    return "\n".join(lines)


def _omitted_until(trace: Trace, index: int) -> int:
    return sum(b.omitted_before for b in trace.blocks[: index + 1])


def with_trace(critique: Critique, trace: Trace, problem: Problem, code: str, report: TestReport) -> Critique:
    """``critique`` with ``trace`` recorded and, when there is one, its text after the feedback."""
    result = next((r for r in report.results if r.index == trace.test_index), None)
    if result is None or not trace.available:
        return critique.model_copy(update={"trace": trace})
    test = problem.visible_tests()[result.index]
    label = test.code if isinstance(test, AssertTest) else f"stdin {test.stdin[:100]!r}"
    text = render_trace(trace, code, label, result, problem)
    feedback = f"{critique.feedback}\n\n{text}"
    shown = trace.model_copy(update={"text": text})
    return critique.model_copy(update={"trace": shown, "feedback": feedback})
