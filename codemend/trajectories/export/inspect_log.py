"""A run as an Inspect AI eval log (``codemend export RUN --format inspect``), so ``inspect view``
opens it: one sample per trajectory, written with inspect_ai's own API (``write_eval_log``).

Each sample holds the conversation (every step's prompt, then the model's reply), one model
event per step with exactly the messages that step sent, the step rewards as intermediate scores
(one per round), and the final scores: ``hidden_tests`` (the final answer on the hidden tests,
C/I; evaluation only) and ``reward`` (the final reward). An infrastructure stop is a sample error,
never a wrong answer. Hidden tests appear in no message and no input; ``target`` is empty.
``inspect-ai`` is an optional extra (``pip install 'codemend[inspect]'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemend.errors import UserError
from codemend.trajectories import Message, RunRecord, StepRecord, TrajectoryRecord

if TYPE_CHECKING:
    from inspect_ai.event import Event
    from inspect_ai.log import EvalLog, EvalSample
    from inspect_ai.model import ChatMessage
    from inspect_ai.scorer import Score

SUFFIXES = (".eval", ".json")
HIDDEN_SCORER, REWARD_SCORER = "hidden_tests", "reward"


def _require() -> None:
    try:
        import inspect_ai  # noqa: F401
    except ImportError:
        raise UserError(
            "--format inspect needs inspect-ai: pip install 'codemend[inspect]' (or pip install inspect-ai)"
        ) from None


def _chat(message: Message) -> ChatMessage:
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

    if message.role == "system":
        return ChatMessageSystem(content=message.content)
    if message.role == "assistant":
        return ChatMessageAssistant(content=message.content)
    return ChatMessageUser(content=message.content)


def _conversation(t: TrajectoryRecord) -> list[ChatMessage]:
    """Every step's prompt, then its reply: what the model was sent and said, in order."""
    from inspect_ai.model import ChatMessageAssistant

    out: list[ChatMessage] = []
    for step in t.steps:
        out.extend(_chat(m) for m in step.messages)
        if step.reply is not None:
            out.append(ChatMessageAssistant(content=step.reply, model=None))
    return out


def _when(value: datetime | None) -> datetime:
    return (value or datetime.now(UTC)).astimezone(UTC)


def _model_event(step: StepRecord, model: str) -> Event:
    from inspect_ai.event import ModelEvent
    from inspect_ai.model import GenerateConfig, ModelOutput, ModelUsage

    output = ModelOutput.from_content(model, step.reply or "", error=step.error)
    output.usage = ModelUsage(
        input_tokens=step.tokens_in,
        output_tokens=step.tokens_out,
        total_tokens=step.tokens_in + step.tokens_out,
    )
    output.time = step.latency_s
    return ModelEvent(
        timestamp=_when(step.started_at),
        working_start=0.0,
        model=model,
        input=[_chat(m) for m in step.messages],
        tools=[],
        tool_choice="none",
        config=GenerateConfig(),
        output=output,
        error=step.error,
        completed=_when(step.ended_at),
        working_time=step.latency_s,
        metadata={"step": step.index, "kind": step.kind},
    )


def _step_score(step: StepRecord) -> Score:
    from inspect_ai.scorer import Score

    critique = step.critique
    return Score(
        value=step.reward if step.reward is not None else float("nan"),
        answer=step.code,
        explanation=critique.feedback if critique else step.error,
        metadata={
            "round": step.index,
            "kind": step.kind,
            "rewards": dict(step.rewards),
            "visible_passed": step.report.n_passed if step.report else None,
            "visible_total": len(step.report.results) if step.report else None,
        },
    )


def _events(t: TrajectoryRecord, model: str) -> list[Event]:
    from inspect_ai.event import ScoreEvent

    events: list[Event] = []
    for step in t.steps:
        events.append(_model_event(step, model))
        if step.reward is not None:
            events.append(
                ScoreEvent(
                    timestamp=_when(step.ended_at),
                    working_start=0.0,
                    score=_step_score(step),
                    intermediate=True,
                    scorer=REWARD_SCORER,
                )
            )
    return events


def _final_scores(t: TrajectoryRecord, by_round: Sequence[bool] | None) -> dict[str, Score]:
    from inspect_ai.scorer import CORRECT, INCORRECT, Score

    scores: dict[str, Score] = {}
    if t.hidden_passed is not None:
        report = t.hidden_report
        scores[HIDDEN_SCORER] = Score(
            value=CORRECT if t.hidden_passed else INCORRECT,
            answer=t.final_code,
            explanation="hidden tests (evaluation only, never shown to the model): "
            + (
                f"{report.n_passed}/{len(report.results)} passed"
                if report
                else ("pass" if t.hidden_passed else "fail")
            ),
            metadata={"by_round": list(by_round) if by_round is not None else None},
        )
    if t.final_reward is not None:
        rounds = [s.reward for s in t.steps]
        scores[REWARD_SCORER] = Score(
            value=t.final_reward, answer=t.final_code, metadata={"by_round": rounds}
        )
    return scores


def _error(t: TrajectoryRecord) -> Any:
    from inspect_ai.log import EvalError

    if t.status != "infrastructure_error":
        return None
    cause = next((s.error for s in reversed(t.steps) if s.error), None) or "infrastructure error"
    return EvalError(message=f"infrastructure (not scored): {cause}", traceback=cause, traceback_ansi=cause)


def eval_sample(t: TrajectoryRecord, model: str, by_round: Sequence[bool] | None = None) -> EvalSample:
    """The trajectory as an Inspect ``EvalSample``: its conversation, the answer as output, the
    hidden-test and reward scores (``by_round``: the hidden verdict of each round's answer)."""
    from inspect_ai.log import EvalSample
    from inspect_ai.model import ModelOutput, ModelUsage

    first = t.steps[0].messages if t.steps else []
    replies = [s.reply for s in t.steps if s.reply is not None]
    started = next((s.started_at for s in t.steps if s.started_at), None)
    ended = next((s.ended_at for s in reversed(t.steps) if s.ended_at), None)
    return EvalSample(
        id=t.problem.id,
        epoch=t.sample_index + 1,
        input=[_chat(m) for m in first] or t.problem.prompt,
        target="",
        messages=_conversation(t),
        output=ModelOutput.from_content(model, replies[-1] if replies else ""),
        scores=_final_scores(t, by_round) or None,
        metadata={
            "trajectory_id": t.trajectory_id,
            "entry_point": t.problem.entry_point,
            "status": t.status,
            "stop_reason": t.stop_reason,
            "feedback_tests": t.feedback_tests,
            "steps": len(t.steps),
            "repairs": sum(s.kind == "repair" for s in t.steps),
            "final_code": t.final_code,
            "rewards_by_round": [s.reward for s in t.steps],
            "problem_metadata": t.problem.metadata,
        },
        events=_events(t, model),
        model_usage={
            model: ModelUsage(
                input_tokens=t.tokens_in, output_tokens=t.tokens_out, total_tokens=t.tokens_in + t.tokens_out
            )
        },
        started_at=started.isoformat() if started else None,
        completed_at=ended.isoformat() if ended else None,
        total_time=t.wall_s,
        working_time=sum(s.latency_s for s in t.steps),
        error=_error(t),
    )


def _results(samples: Sequence[EvalSample]) -> Any:
    from inspect_ai.log import EvalMetric, EvalResults, EvalScore
    from inspect_ai.scorer import CORRECT

    scored = [s for s in samples if s.scores and HIDDEN_SCORER in s.scores]
    accuracy = (
        sum(s.scores[HIDDEN_SCORER].value == CORRECT for s in scored if s.scores) / len(scored)
        if scored
        else 0.0
    )
    metric = EvalMetric(name="accuracy", value=accuracy)
    hidden = EvalScore(
        name=HIDDEN_SCORER,
        scorer=HIDDEN_SCORER,
        scored_samples=len(scored),
        unscored_samples=len(samples) - len(scored),
        metrics={"accuracy": metric},
    )
    return EvalResults(total_samples=len(samples), completed_samples=len(scored), scores=[hidden])


def eval_log(
    run: RunRecord,
    trajectories: Iterable[TrajectoryRecord],
    by_round: Mapping[str, Sequence[bool]] | None = None,
) -> EvalLog:
    """The run as an ``EvalLog``; ``by_round``: hidden verdicts after each round, by trajectory id
    (a bench run dir's ``hidden.jsonl``), kept in the ``hidden_tests`` score's metadata."""
    _require()
    from inspect_ai.log import EvalConfig, EvalDataset, EvalLog, EvalPlan, EvalPlanStep, EvalSpec, EvalStats
    from inspect_ai.model import ModelUsage

    model = run.model or "unknown"
    rounds = by_round or {}
    samples = [eval_sample(t, model, rounds.get(t.trajectory_id)) for t in trajectories]
    benchmark = str(run.settings.get("benchmark", "solve"))
    spec = EvalSpec(
        run_id=run.run_id,
        task_id=run.run_id,
        created=run.created_at.astimezone(UTC).isoformat(),
        task=f"codemend/{benchmark}",
        dataset=EvalDataset(
            name=benchmark,
            samples=len({s.id for s in samples}),
            sample_ids=sorted({s.id for s in samples}, key=str),
        ),
        model=model,
        model_base_url=run.endpoint,
        config=EvalConfig(epochs=max((s.epoch for s in samples), default=1)),
        task_args=dict(run.settings),
        solver="codemend repair loop",
        metadata={
            "codemend_version": run.codemend_version,
            "prompt_hashes": run.prompt_hashes,
            "critic_model": run.critic_model,
        },
    )
    usage = ModelUsage(
        input_tokens=sum(s.model_usage[model].input_tokens for s in samples),
        output_tokens=sum(s.model_usage[model].output_tokens for s in samples),
    )
    usage.total_tokens = usage.input_tokens + usage.output_tokens
    stats = EvalStats(
        started_at=run.created_at.astimezone(UTC).isoformat(),
        completed_at=(run.ended_at or run.created_at).astimezone(UTC).isoformat(),
        model_usage={model: usage},
    )
    plan = EvalPlan(
        name="codemend", steps=[EvalPlanStep(solver=n) for n in ("generate", "execute", "critique", "repair")]
    )
    return EvalLog(
        status="success" if run.ended_at else "started",
        eval=spec,
        plan=plan,
        results=_results(samples),
        stats=stats,
        samples=samples,
    )


def write_inspect_log(
    run: RunRecord,
    trajectories: Iterable[TrajectoryRecord],
    out: Path,
    by_round: Mapping[str, Sequence[bool]] | None = None,
) -> int:
    """Write ``out`` (.eval, or .json) and return how many samples it holds."""
    if out.suffix not in SUFFIXES:
        raise UserError(f"--out {out}: an Inspect log is a .eval or .json file")
    log = eval_log(run, trajectories, by_round)
    from inspect_ai.log import write_eval_log

    out.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(log, out)
    return len(log.samples or [])
