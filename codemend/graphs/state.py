"""The repair graph's state (serialisable, checkpointed) and its run-scoped context (not).

Accumulating fields carry a reducer: ``steps`` and ``fingerprints`` append, the counters add.
LLM clients, the sandbox, prompts and settings travel in ``RepairContext``, read by the nodes
through ``Runtime[RepairContext]``; an interrupted solve resumes with a context built again.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from typing_extensions import TypedDict

from codemend.agents import Critic, Executor, FeedbackMode, Generator, RewardFn, pass_fraction
from codemend.optimise import Correctness, Speed
from codemend.problems import Problem
from codemend.records import SpeedMeasurement, StepRecord, StopReason, TestReport

StepHook = Callable[[StepRecord], Awaitable[None] | None]
"""Called with each step once it is finished (a store commits it). On resume a step whose node
was interrupted after the call may be reported again, with the same index."""


class RepairState(TypedDict, total=False):
    steps: Annotated[list[StepRecord], operator.add]
    """Finished steps, in order."""
    current: StepRecord | None
    """The step being built: drafted, then executed, then critiqued (and moved to ``steps``)."""
    fingerprints: Annotated[list[str], operator.add]
    """``code_fingerprint`` of every candidate so far, for the no-progress stop."""
    tokens_in: Annotated[int, operator.add]
    tokens_out: Annotated[int, operator.add]
    elapsed_s: Annotated[float, operator.add]
    """Wall time spent in nodes (survives a resume, unlike a start timestamp)."""
    stop_reason: StopReason | None
    error: str | None
    final_index: int | None
    """The step whose code is the answer (best reward; the latest among ties)."""
    hidden_report: TestReport | None
    final_reward: float | None
    problem_error: str | None
    """The run stopped because the problem cannot be used as given (``ProblemError``: its
    reference fails its own tests or workload, its input generator fails): not the model's
    failure, and not the sandbox's either."""
    problem_digest: str
    """SHA-256 of the problem the run was started on: a checkpointed thread resumes on it only."""
    final_measurement: SpeedMeasurement | None
    """A measuring objective: the answer's cost on the hidden workload (its reward's measure)."""
    baseline: str | None
    """``--objective speed``: the correct code candidates are measured against (the reference
    solution, else the first candidate that passed)."""
    baseline_step: int | None
    """The step whose code is the baseline, when it is not the reference solution."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_rounds: int = 3
    """Repairs after the first attempt."""
    token_budget: int | None = None
    """Prompt plus completion tokens, generator and critic together."""
    time_budget_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairContext:
    problem: Problem
    generator: Generator
    critic: Critic
    executor: Executor
    reward: RewardFn = pass_fraction
    limits: Limits = field(default_factory=Limits)
    on_step: StepHook | None = None
    objective: Correctness | Speed = field(default_factory=Correctness)
    """What the run optimises, with its settings and behaviour (``codemend.optimise.objective``):
    ``Speed`` starts from a correct program and asks for faster ones."""
    feedback: FeedbackMode = "tests"
    """``trace``: a failing step's first failing visible test is traced in the sandbox and the
    trace joins its feedback (``agents.tracing``)."""
