"""A step's execution trace (``--feedback trace``) as HTML: the blocks the candidate's run of
its first failing visible test went through, with the variables after each. Every string in it
came from the candidate's own process (names, values, even the function names): all of it is
escaped, and it is labelled as the candidate's own data. A trace that is not available says why."""

from __future__ import annotations

from codemend.records import Critique, Trace
from codemend.viewer.html import details, e, table, tag


def trace_html(critique: Critique) -> str:
    """The trace panel, or nothing when no trace was asked for."""
    trace = critique.trace
    if trace is None:
        return ""
    which = f"visible test {trace.test_index}" if trace.test_index is not None else "no test"
    head = tag("h4", e(f"Execution trace of {which} (the candidate's own run: untrusted, feedback only)"))
    if not trace.available:
        reason = tag("p", e(f"not available: {trace.reason or 'no reason recorded'}"), class_="muted")
        return tag("div", head + reason, class_="trace")
    parts = [head]
    if trace.note:
        parts.append(tag("p", e(f"partial: {trace.note}"), class_="warn"))
    parts.append(details(e(_summary(trace)), _blocks(trace)))
    return tag("div", "".join(parts), class_="trace")


def _summary(trace: Trace) -> str:
    left_out = f", {trace.omitted_blocks} left out" if trace.omitted_blocks else ""
    return f"{len(trace.blocks)} block(s) shown{left_out}"


def _blocks(trace: Trace) -> str:
    rows = []
    for block in trace.blocks:
        if block.omitted_before:
            rows.append([e("..."), e(f"{block.omitted_before} block(s) left out"), "", ""])
        values = "; ".join(f"{k} = {v}" for k, v in block.values.items())
        lines = ", ".join(map(str, block.lines or [block.first_line]))
        rows.append([e(block.function), e(lines), e(values), ""])
    return table(("function", "lines", "variables after the block", ""), rows, class_="trace-blocks")
