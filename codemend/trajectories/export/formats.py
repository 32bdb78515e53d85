"""Row builders for ``raw``, ``sft``, ``kto`` and ``openai-sft`` (pairs and RL prompts live in
``pairs.py`` and ``rl.py``). Each returns the rows and how many it withheld because their
prompt would have shown hidden tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from codemend.problems import Problem
from codemend.records import Critique, Message, StepRecord, TestReport, TrajectoryRecord
from codemend.trajectories.export.attempts import (
    assistant,
    attempts,
    chat,
    final_attempt,
    trajectory_reward,
)
from codemend.trajectories.export.rows import (
    KtoRow,
    OpenAISftRow,
    RawRow,
    RawStep,
    SftMessagesRow,
    SftRow,
    WeightedMessage,
)
from codemend.trajectories.export.select import Row


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    rows: list[Row]
    withheld: int = 0


# -- raw ------------------------------------------------------------------------------------
def raw_rows(trajectories: Iterable[TrajectoryRecord]) -> Built:
    """One ``raw`` row per trajectory, ranked by its reward."""
    rows = [
        Row(task_id=t.problem.id, data=raw_row(t), dedup_scope=t.trajectory_id, rank=trajectory_reward(t))
        for t in trajectories
    ]
    return Built(rows=rows)


def raw_row(t: TrajectoryRecord) -> dict[str, Any]:
    """The whole trajectory as a ``raw`` row: its outcome, rewards, tokens, problem and steps
    (the problem and the hidden report as JSON strings)."""
    return RawRow(
        schema_version=t.schema_version,
        trajectory_id=t.trajectory_id,
        run_id=t.run_id,
        task_id=t.problem.id,
        sample_index=t.sample_index,
        status=t.status,
        stop_reason=t.stop_reason,
        final_code=t.final_code,
        final_reward=t.final_reward,
        hidden_passed=t.hidden_passed,
        hidden_report=t.hidden_report.model_dump_json() if t.hidden_report else None,
        step_rewards=[s.reward for s in t.steps],
        tokens_in=t.tokens_in,
        tokens_out=t.tokens_out,
        wall_s=t.wall_s,
        feedback_tests=t.feedback_tests,
        problem=t.problem.model_dump_json(),
        steps=[_raw_step(s) for s in t.steps],
    ).model_dump()


def _raw_step(s: StepRecord) -> RawStep:
    report = s.report
    return RawStep.model_validate(
        {
            **s.model_dump(include={"index", "kind", "parent", "reply", "code", "reward", "error"}),
            **s.model_dump(include={"prompt_token_ids", "completion_token_ids", "completion_logprobs"}),
            "messages": chat(s.messages),
            "passed": report.passed if report else None,
            "n_passed": report.n_passed if report else None,
            "n_tests": len(report.results) if report else None,
            "report": report.model_dump_json() if report else None,
            "critique": s.critique.model_dump_json() if s.critique else None,
            "rewards": json.dumps(s.rewards),
            "structure": s.rewards.get("structure"),
            "tokens_in": s.tokens_in,
            "tokens_out": s.tokens_out,
            "latency_s": s.latency_s,
            "started_at": s.started_at.isoformat() if s.started_at else None,
            "ended_at": s.ended_at.isoformat() if s.ended_at else None,
            "schema_version": s.schema_version,
        }
    )


def from_raw_row(row: dict[str, Any]) -> TrajectoryRecord:
    """The ``TrajectoryRecord`` a ``raw`` row was made from."""
    data = RawRow.model_validate(row)
    steps = [
        StepRecord(
            schema_version=s.schema_version,
            index=s.index,
            kind=s.kind,  # type: ignore[arg-type]  # validated by StepRecord
            parent=s.parent,
            messages=[Message.model_validate(m.model_dump()) for m in s.messages],
            reply=s.reply,
            code=s.code,
            report=TestReport.model_validate_json(s.report) if s.report else None,
            critique=Critique.model_validate_json(s.critique) if s.critique else None,
            reward=s.reward,
            rewards=json.loads(s.rewards),
            tokens_in=s.tokens_in,
            tokens_out=s.tokens_out,
            prompt_token_ids=s.prompt_token_ids,
            completion_token_ids=s.completion_token_ids,
            completion_logprobs=s.completion_logprobs,
            latency_s=s.latency_s,
            error=s.error,
            started_at=s.started_at,  # type: ignore[arg-type]  # ISO text, parsed by pydantic
            ended_at=s.ended_at,  # type: ignore[arg-type]
        )
        for s in data.steps
    ]
    fields = data.model_dump(exclude={"task_id", "step_rewards", "steps", "problem", "hidden_report"})
    return TrajectoryRecord.model_validate(
        {
            **fields,
            "problem": Problem.model_validate_json(data.problem),
            "hidden_report": TestReport.model_validate_json(data.hidden_report)
            if data.hidden_report
            else None,
            "steps": steps,
        }
    )


# -- sft ------------------------------------------------------------------------------------
def sft_rows(trajectories: Iterable[TrajectoryRecord], *, messages: bool) -> Built:
    """One row per trajectory: the last step's prompt and its reply."""
    rows, withheld = [], 0
    for t in trajectories:
        last = final_attempt(t)
        if last is None:
            continue
        if not last.state.clean:
            withheld += 1
            continue
        prompt, completion = chat(last.state.messages), assistant(last.reply)
        data = (
            SftMessagesRow.model_validate({"messages": prompt + completion})
            if messages
            else SftRow.model_validate({"prompt": prompt, "completion": completion})
        )
        rows.append(
            Row(
                task_id=last.task_id,
                data=data.model_dump(),
                dedup_codes=(last.code,),
                rank=trajectory_reward(t),
            )
        )
    return Built(rows=rows, withheld=withheld)


def openai_sft_rows(trajectories: Iterable[TrajectoryRecord]) -> Built:
    """Like ``sft --messages`` with OpenAI's ``weight``: 0 on every earlier assistant turn, 1
    on the final one; only trajectories whose last attempt passed give a row."""
    rows, withheld = [], 0
    for t in trajectories:
        last = final_attempt(t)
        if last is None or not last.passed:
            continue
        if not last.state.clean:
            withheld += 1
            continue
        history = [_weighted(m) for m in last.state.messages]
        final = WeightedMessage(role="assistant", content=last.reply, weight=1)
        data = OpenAISftRow(messages=[*history, final]).model_dump(exclude_none=True)
        rows.append(Row(task_id=last.task_id, data=data, dedup_codes=(last.code,), rank=trajectory_reward(t)))
    return Built(rows=rows, withheld=withheld)


def _weighted(m: Message) -> WeightedMessage:
    return WeightedMessage(role=m.role, content=m.content, weight=0 if m.role == "assistant" else None)


# -- kto ------------------------------------------------------------------------------------
def kto_rows(trajectories: Iterable[TrajectoryRecord]) -> Built:
    """One row per tested attempt, labelled by whether it passed."""
    rows, withheld = [], 0
    for t in trajectories:
        for a in attempts(t):
            if not a.state.clean:
                withheld += 1
                continue
            data = KtoRow.model_validate(
                {
                    "prompt": chat(a.state.messages),
                    "completion": assistant(a.reply),
                    "label": a.passed,
                    "structure": a.structure,
                }
            )
            scope = f"{a.passed}:{a.state.key}"
            rows.append(
                Row(
                    task_id=a.task_id,
                    data=data.model_dump(),
                    dedup_scope=scope,
                    dedup_codes=(a.code,),
                    rank=a.reward,
                )
            )
    return Built(rows=rows, withheld=withheld)
