"""A trajectory's page: the task, every step, how it stopped, and — apart, clearly marked — the
hidden-test result of the final answer, which the model never saw."""

from __future__ import annotations

from codemend.benchmarks import evaluation_tests, feedback_view
from codemend.trajectories import StepRecord, TrajectoryRecord
from codemend.viewer.html import badge, details, e, page, pre, tag
from codemend.viewer.outcome import CATEGORIES, Outcome
from codemend.viewer.steps import render_step
from codemend.viewer.tests_table import report_table

STOP_REASONS = {  # stop_reason: (what the list shows, what it means)
    "solved": ("visible tests passed", "every visible test passed; the hidden tests judge the answer apart"),
    "max_rounds": ("repair budget spent", "the repair budget (--rounds) was spent"),
    "no_progress": ("repeated a candidate", "the model repeated an earlier candidate"),
    "token_budget": ("token budget spent", "the token budget ran out"),
    "time_budget": ("time budget spent", "the time budget ran out"),
    "infrastructure": (
        "infrastructure failure",
        "the endpoint or the sandbox failed after retries (not scored)",
    ),
    "context_length": ("context full", "the next prompt no longer fit the model's context"),
}
_FASTER = (
    "visible tests passed, faster",
    "a candidate passed every visible test and was measurably faster than the baseline; the hidden "
    "tests and workload judge the answer apart",
)


def stop_reason(t: TrajectoryRecord) -> tuple[str, str]:
    """(label, meaning) of why the loop stopped. Named for what it says about the visible tests:
    the stop reason ``solved`` beside a hidden verdict "unsolved" read as a contradiction."""
    if t.stop_reason == "solved" and t.objective == "speed":
        return _FASTER
    return STOP_REASONS.get(t.stop_reason, (t.stop_reason, ""))


LEAK = (
    "This run used the hidden tests as feedback (--feedback-tests all): the model saw them, "
    "and its scores are not honest pass@k."
)


def answer_index(t: TrajectoryRecord) -> int | None:
    """The step whose code is the final answer, as the record keeps it; for a record stored before
    it was kept, the latest step with that code that was tested (a repeated candidate, which stops
    the loop as no progress, is not run again)."""
    if t.final_index is not None:
        return t.final_index
    if t.final_code is None:
        return None
    found = [s for s in t.steps if s.code == t.final_code]
    tested = [s for s in found if s.report is not None] or found
    return tested[-1].index if tested else None


def _previous(steps: list[StepRecord], step: StepRecord) -> StepRecord | None:
    if step.parent is not None:
        return next((s for s in steps if s.index == step.parent), None)
    earlier = [s for s in steps if s.index < step.index and s.code is not None]
    return earlier[-1] if earlier else None


def _sent_in(steps: list[StepRecord], step: StepRecord) -> int | None:
    return next((s.index for s in steps if s.parent == step.index), None)


def _rounds(outcome: Outcome) -> str:
    if outcome.by_round is None:
        return ""
    chips = "".join(
        tag("span", e(f"r{r}"), class_=f"chip {'pass' if ok else 'fail'}", title=f"after round {r}")
        for r, ok in enumerate(outcome.by_round)
    )
    return tag("span", chips, class_="rounds")


def _header(t: TrajectoryRecord, outcome: Outcome) -> str:
    cats = "".join(badge(CATEGORIES[c], c) for c in outcome.categories)
    label, meaning = stop_reason(t)
    stop = f"{label}: {meaning}" if meaning else label
    facts = [
        f"sample {t.sample_index}",
        f"{len(t.steps)} step(s)",
        f"{t.tokens_in:,} tokens in, {t.tokens_out:,} out",
        f"{t.wall_s:.2f} s",
        f"feedback tests: {t.feedback_tests}",
    ]
    if t.final_reward is not None:
        facts.append(f"final reward {t.final_reward:.3f}")
    nav = tag("a", "← all problems", href="../index.html", class_="back")
    title = tag("h1", e(t.problem.id) + " " + cats)
    stop_line = tag("p", tag("b", "Stopped: ") + e(stop), class_="stop", data_stop=t.stop_reason)
    warn = tag("p", e(LEAK), class_="banner warn") if t.feedback_tests == "all" else ""
    return (
        nav
        + title
        + warn
        + tag("p", e(" · ".join(facts)) + " " + _rounds(outcome), class_="facts")
        + stop_line
    )


def _task(t: TrajectoryRecord) -> str:
    body = pre(t.problem.prompt) + tag("p", e(f"entry point: {t.problem.entry_point}"), class_="muted")
    return details("Task (the prompt)", body, class_="task model-saw")


def _hidden_panel(t: TrajectoryRecord, outcome: Outcome, answer: int | None) -> str:
    title = tag("h2", "Hidden tests: evaluation only, never shown to the model")
    if t.feedback_tests == "all":
        title += tag("p", e(LEAK), class_="warn")
    if t.status == "infrastructure_error" or outcome.scoring_error:
        cause = outcome.scoring_error or "the trajectory ended on an infrastructure error"
        return tag(
            "section", title + tag("p", e(f"Not scored: {cause}.")), id="hidden-result", class_="hidden-panel"
        )
    verdict = {True: ("passes", "pass"), False: ("fails", "fail"), None: ("not scored", "warn")}[
        outcome.final
    ]
    which = f"the final answer (step {answer})" if answer is not None else "the final answer"
    parts = [tag("p", e(f"Verdict on {which}: ") + badge(verdict[0], verdict[1]), class_="hidden-verdict")]
    if outcome.by_round is not None:
        rows = ", ".join(
            f"after round {r}: {'pass' if ok else 'fail'}" for r, ok in enumerate(outcome.by_round)
        )
        parts.append(tag("p", e(rows), class_="hidden-rounds"))
    if outcome.step_verdicts is not None:
        names = {True: "pass", False: "fail", None: "no code"}
        steps = ", ".join(f"step {i}: {names[v]}" for i, v in enumerate(outcome.step_verdicts))
        parts.append(tag("p", e("Each step's code: " + steps), class_="hidden-steps"))
    if t.hidden_report is not None:
        parts.append(report_table(t.hidden_report, t.problem.hidden_tests(), kind="hidden"))
    elif not evaluation_tests(t.problem):
        parts.append(tag("p", "The problem has no hidden tests.", class_="muted"))
    return tag("section", title + "".join(parts), id="hidden-result", class_="hidden-panel")


def _final(t: TrajectoryRecord, answer: int | None) -> str:
    if t.final_code is None:
        return tag("section", tag("h2", "Final answer") + tag("p", "None.", class_="muted"), class_="final")
    label = f"Final answer (step {answer})" if answer is not None else "Final answer"
    return tag("section", tag("h2", e(label)) + pre(t.final_code, class_="code"), class_="final")


def trajectory_html(t: TrajectoryRecord, outcome: Outcome) -> str:
    """One trajectory's page: its outcome, the task, every step (the answer's marked), the final
    answer and the hidden-test panel."""
    answer = answer_index(t)
    visible = feedback_view(t.problem, t.feedback_tests).visible_tests()
    steps = "".join(
        render_step(s, _previous(t.steps, s), _sent_in(t.steps, s), visible, is_answer=s.index == answer)
        for s in t.steps
    )
    toolbar = tag(
        "p",
        tag("button", "expand all", type="button", data_toggle="open")
        + tag("button", "collapse all", type="button", data_toggle="close"),
        class_="toolbar",
    )
    body = (
        _header(t, outcome)
        + _task(t)
        + tag("h2", "Steps")
        + toolbar
        + tag("div", steps or tag("p", "No step was stored.", class_="muted"), class_="steps")
        + _final(t, answer)
        + _hidden_panel(t, outcome, answer)
    )
    return page(f"{t.problem.id} · sample {t.sample_index}", tag("main", body), root="..")
