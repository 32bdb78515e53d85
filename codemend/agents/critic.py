"""The critic agent, CORGI-style: constraints with evidence, a score in [0, 1] and feedback.

Modes: ``tests`` (deterministic only), ``llm`` (an LLM reads the code and the report and writes a
diagnosis and a fix plan from ``critique.md``; the generator gets that), ``hybrid`` (the generator
gets both). The deterministic constraints and feedback are kept in every mode. With a speed
measurement (``--objective speed``) correctness comes first: a failing test is the feedback as
always, and only a correct candidate is told its measured cost (a ``speed`` constraint).

Signals beside the verdict: ``--constraints security`` runs bandit on the candidate (findings in
the feedback, a ``security`` constraint that a high-severity finding fails, which keeps the step
from being solved); the structure score against the problem's reference solution is computed for
every candidate (about 0.5 ms) and only ever becomes a reward component, never feedback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from codemend.agents.constraints import EXTRA_CONSTRAINTS, ExtraConstraint, ImportPolicy, check_constraints
from codemend.agents.feedback import feedback_text
from codemend.agents.render import prompt_values
from codemend.agents.security import SecurityAnalyser, security_constraint, security_feedback
from codemend.agents.structure import structure_score
from codemend.errors import ContextLengthExceeded, UserError
from codemend.llm import ChatModel, SamplingParams
from codemend.optimise import speed_feedback
from codemend.problems import Problem
from codemend.prompts import PromptTemplate, load_prompt
from codemend.records import Constraint, Critique, Message, SpeedMeasurement, TestReport

CriticMode = Literal["tests", "llm", "hybrid"]
CRITIC_MODES: tuple[CriticMode, ...] = ("tests", "llm", "hybrid")


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """A critique and what its LLM call (if any) cost."""

    critique: Critique
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Critic:
    mode: CriticMode
    policy: ImportPolicy
    prompt: PromptTemplate
    llm: ChatModel | None = None
    sampling: SamplingParams = field(default_factory=lambda: SamplingParams())
    security: SecurityAnalyser | None = None
    """``--constraints security``: the analyser; None when not asked for."""
    structure: bool = True
    """Score each candidate's closeness to the reference solution (a reward component only)."""

    async def __call__(
        self,
        problem: Problem,
        code: str,
        report: TestReport,
        measurement: SpeedMeasurement | None = None,
        baseline: str = "the reference solution",
    ) -> Verdict:
        """Judge ``code`` from its visible-test ``report`` (and its speed ``measurement`` against
        ``baseline``, if measured); the LLM call may raise ``InfrastructureError``. When the LLM
        prompt does not fit its context, the critique is the report's alone, and ``llm_error``
        says why."""
        constraints = check_constraints(problem, code, report, self.policy)
        feedback = feedback_text(problem, constraints, report)
        security = self.security.analyse(problem, code) if self.security is not None else None
        if security is not None:
            found = security_constraint(security)
            constraints.extend([found] if found is not None else [])
            lines = security_feedback(security)
            feedback = f"{feedback}\n\n{lines}" if lines else feedback
        structure = structure_score(problem, code) if self.structure else None
        if measurement is not None and all(c.satisfied for c in constraints):
            feedback = speed_feedback(measurement, baseline)
            faster = measurement.verdict == "faster"
            constraints.append(Constraint(name="speed", satisfied=faster, evidence=feedback))
        score = sum(c.satisfied for c in constraints) / len(constraints)
        critique = Critique(
            constraints=constraints,
            score=score,
            feedback=feedback,
            mode=self.mode,
            security=security,
            structure=structure,
        )
        if self.llm is None or self.mode == "tests" or all(c.satisfied for c in constraints):
            return Verdict(critique=critique)
        values = prompt_values(problem) | {"code": code.rstrip(), "feedback": feedback}
        request = self.prompt.render(**values)
        try:
            sent = [Message(role="user", content=request)]
            result = await self.llm.chat(sent, **self.sampling)
        except ContextLengthExceeded as exc:
            return Verdict(critique=critique.model_copy(update={"llm_error": str(exc)}))
        audit = {
            "llm_feedback": result.text.strip(),
            "llm_messages": sent,
            "llm_model": result.model or self.llm.model,
            "llm_tokens_in": result.usage.prompt_tokens,
            "llm_tokens_out": result.usage.completion_tokens,
            "llm_latency_s": result.latency_s,
        }
        return Verdict(
            critique=critique.model_copy(update=audit),
            tokens_in=result.usage.prompt_tokens,
            tokens_out=result.usage.completion_tokens,
        )


def extra_constraints(names: Iterable[str]) -> tuple[ExtraConstraint, ...]:
    """``names`` checked against ``EXTRA_CONSTRAINTS`` (each once, in that order); a ``UserError``
    naming the valid ones for any other."""
    given = list(names)
    for name in given:
        if name not in EXTRA_CONSTRAINTS:
            raise UserError(f"unknown constraint {name!r}; expected one of {', '.join(EXTRA_CONSTRAINTS)}")
    return tuple(c for c in EXTRA_CONSTRAINTS if c in given)


def repair_feedback(critique: Critique) -> str:
    """What the generator is told: the report, the LLM's diagnosis, or both (by mode)."""
    if critique.llm_feedback is None or critique.mode == "tests":
        return critique.feedback
    if critique.mode == "llm":
        return critique.llm_feedback
    return f"{critique.feedback}\n\nA reviewer's diagnosis:\n{critique.llm_feedback}"


def make_critic(
    mode: CriticMode = "tests",
    *,
    llm: ChatModel | None = None,
    prompt: PromptTemplate | None = None,
    imports: ImportPolicy | str = "default",
    sampling: SamplingParams | None = None,
    constraints: Iterable[str] = (),
    structure: bool = True,
) -> Critic:
    """A critic; ``llm`` (possibly another endpoint than the generator's) is needed by the
    ``llm`` and ``hybrid`` modes. ``constraints`` adds constraints of ``EXTRA_CONSTRAINTS``
    (``security``: bandit's static analysis); ``structure=False`` skips the structure score."""
    if mode not in CRITIC_MODES:
        raise UserError(f"unknown critic mode {mode!r}; expected one of {', '.join(CRITIC_MODES)}")
    if mode != "tests" and llm is None:
        raise UserError(f"the {mode!r} critic needs an LLM client")
    policy = imports if isinstance(imports, ImportPolicy) else ImportPolicy.named(imports)
    return Critic(
        mode=mode,
        policy=policy,
        prompt=prompt or load_prompt("critique"),
        llm=llm,
        sampling=sampling or SamplingParams(),
        security=SecurityAnalyser() if "security" in extra_constraints(constraints) else None,
        structure=structure,
    )
