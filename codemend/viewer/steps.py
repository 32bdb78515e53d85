"""One step of a trajectory as HTML: what the model saw, what it answered, what the checks found.

Panels with ``model-saw`` hold what was sent to the model (the messages, and the feedback that
the next prompt carried); ``model-said`` what it answered. Neither ever holds hidden tests: the
visible report is the only test report a step has.
"""

from __future__ import annotations

from codemend.problems import AssertTest, IOTest
from codemend.records import Critique, StepRecord
from codemend.viewer.diff import diff_html
from codemend.viewer.html import badge, details, e, pre, table, tag
from codemend.viewer.signals import signals_html
from codemend.viewer.tests_table import report_table
from codemend.viewer.trace import trace_html


def _messages(step: StepRecord) -> str:
    items = [
        tag("div", tag("div", e(m.role), class_="role") + pre(m.content), class_=f"msg role-{m.role}")
        for m in step.messages
    ]
    chars = sum(len(m.content) for m in step.messages)
    summary = e(f"Messages sent ({len(step.messages)}, {chars:,} chars)")
    return details(summary, "".join(items), class_="messages model-saw")


def _reply(step: StepRecord) -> str:
    if step.reply is None:
        why = "the error above" if step.error else "the step ended before the model answered"
        return tag("p", e(f"No reply: {why}."), class_="muted")
    summary = e(f"Reply ({len(step.reply):,} chars)")
    return details(summary, pre(step.reply), open_=step.code is None, class_="reply model-said")


def _code(step: StepRecord, previous: StepRecord | None) -> str:
    if step.code is None:
        return tag("p", "No code could be extracted from the reply.", class_="muted") if step.reply else ""
    full = pre(step.code, class_="code")
    if previous is None or previous.code is None:
        return tag("div", tag("h4", "Code") + full, class_="code-panel")
    title = tag("h4", e(f"Diff against step {previous.index}"))
    return tag(
        "div", title + diff_html(previous.code, step.code) + details("Whole code", full), class_="code-panel"
    )


def _constraints(critique: Critique) -> str:
    rows = [
        [
            e(c.name),
            badge("ok", "pass") if c.satisfied else badge("violated", "fail"),
            e(c.evidence),
        ]
        for c in critique.constraints
    ]
    return table(("constraint", "", "evidence"), rows, class_="constraints")


def _critique(step: StepRecord, sent_in: int | None) -> str:
    critique = step.critique
    if critique is None:
        return ""
    where = (
        f"Feedback sent to the model (in step {sent_in}'s prompt)"
        if sent_in is not None
        else "Feedback (not sent: the trajectory stopped here)"
    )
    parts = [
        tag("h4", e(f"Critic ({critique.mode}): score {critique.score:.2f}")),
        _constraints(critique),
        tag("div", tag("h4", e(where)) + pre(critique.feedback, class_="feedback"), class_="model-saw"),
    ]
    if critique.llm_feedback:
        parts.append(
            tag("div", tag("h4", "LLM critic's diagnosis") + pre(critique.llm_feedback), class_="model-saw")
        )
    if critique.llm_error:
        parts.append(tag("p", e(f"LLM critique missing: {critique.llm_error}"), class_="warn"))
    parts.append(signals_html(critique))
    parts.append(trace_html(critique))
    return tag("div", "".join(parts), class_="critique")


def _rewards(step: StepRecord) -> str:
    reward = "n/a" if step.reward is None else f"{step.reward:.3f}"
    rows = [[e(name), e(f"{value:.3f}")] for name, value in sorted(step.rewards.items())]
    head = tag("h4", "Reward " + tag("span", e(reward), class_="reward-value"))
    return tag("div", head + (table(("component", "value"), rows) if rows else ""), class_="rewards")


def _meta(step: StepRecord) -> str:
    bits = [
        f"{step.tokens_in:,} tokens in",
        f"{step.tokens_out:,} out",
        f"{step.latency_s:.2f} s",
    ]
    if step.critique is not None and step.critique.llm_model:
        c = step.critique
        bits.append(f"critic {c.llm_tokens_in:,}+{c.llm_tokens_out:,} tokens, {c.llm_latency_s:.2f} s")
    return tag("span", e(" · ".join(bits)), class_="meta")


def render_step(
    step: StepRecord,
    previous: StepRecord | None,
    sent_in: int | None,
    visible_tests: list[AssertTest | IOTest],
    *,
    is_answer: bool,
) -> str:
    """``previous``: the step this one repairs (or the one before it); ``sent_in``: the step whose
    prompt carried this step's feedback; ``visible_tests``: the list the report's indices point into."""
    title = f"Step {step.index}: {step.kind}" + (f" of step {step.parent}" if step.parent is not None else "")
    flags = badge("answer", "pass") if is_answer else ""
    if step.error:
        flags += badge("error", "fail")
    head = tag("h3", e(title) + " " + flags + " " + _meta(step))
    tests = ""
    if step.report is not None:
        tests = tag(
            "div",
            tag("h4", "Visible tests (shown to the model)")
            + report_table(step.report, visible_tests, kind="visible"),
            class_="tests-panel",
        )
    error = tag("p", e(step.error), class_="error") if step.error else ""
    body = head + error + _messages(step) + _reply(step) + _code(step, previous) + tests
    body += _critique(step, sent_in) + _rewards(step)
    return tag("section", body, class_="step", id=f"step-{step.index}", data_step=step.index)
