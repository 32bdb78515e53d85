"""The vocabulary every layer speaks: test reports, critiques, steps, trajectories, runs.

The sandbox produces ``TestReport``s, the agents ``Critique``s and ``StepRecord``s, the graph
``TrajectoryRecord``s, the store keeps them and the exports read them; none of those layers
owns them. Pydantic models with ``extra="forbid"`` and a ``schema_version``: they are the on-disk
and export schema. ``Message`` is the one ``{role, content}`` type, from the LLM client to the
exported rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from codemend.problems import Problem

TestStatus = Literal["passed", "failed", "error", "timeout", "memory", "crashed"]
Isolation = Literal["namespaces", "rlimits", "container"]
CostMethod = Literal["cpu", "instructions"]
"""How a sandbox run's cost is taken: ``cpu`` (wait4 CPU time of the candidate's process tree,
always reported) or ``instructions`` (user-space instructions counted under valgrind)."""


class TestResult(BaseModel):
    """The verdict on one test."""

    __test__ = False  # not a pytest class
    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(description="Position of the test in the list that was run.")
    kind: Literal["assert", "io"]
    visibility: Literal["visible", "hidden"]
    status: TestStatus
    trusted: bool = Field(
        default=True, description="False when the verdict was decided inside the candidate process."
    )
    duration_s: float = 0.0
    call: str | None = Field(default=None, description="The last call of the solution, rendered.")
    assertion: str | None = None
    expected: str | None = None
    actual: str | None = None
    exc_type: str | None = None
    exc_message: str | None = None
    traceback: str | None = Field(default=None, description="Trimmed to the solution's frames.")
    detail: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the status is ``passed``."""
        return self.status == "passed"


CompileStatus = Literal["ok", "error", "timeout", "memory", "crashed"]


class CompileReport(BaseModel):
    """How compiling a program in another language than Python went, in the sandbox under limits
    of its own; its time is never the candidate's run time or cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: CompileStatus
    output: str = Field(default="", description="The compiler's diagnostics (errors and warnings), clipped.")
    duration_s: float = 0.0
    detail: str | None = None
    command: str = Field(default="", description="The compile command as run: compiler, standard and flags.")

    @property
    def ok(self) -> bool:
        """Whether the code compiled."""
        return self.status == "ok"


class TestReport(BaseModel):
    """All verdicts of one run, with the candidate's captured output."""

    __test__ = False
    model_config = ConfigDict(extra="forbid", frozen=True)

    results: list[TestResult]
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_s: float = 0.0
    backend: str = "local"
    isolation: Isolation = "namespaces"
    cpu_s: float | None = Field(
        default=None,
        description="CPU time (user + system) of the candidate's process trees, fork to exit, "
        "as the sandbox's supervisor got it from wait4: measured outside the candidate.",
    )
    instructions: int | None = Field(
        default=None,
        description="Runs with cost 'instructions': user-space instructions of the run's candidate "
        "processes, counted by valgrind outside the candidate's reach; None when not asked for or "
        "when a candidate process left no count (it did not exit by itself).",
    )
    compile: CompileReport | None = Field(
        default=None, description="Other languages than Python: how compiling the code went."
    )

    @model_serializer(mode="wrap")
    def _without_compile(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A Python run serialises as it did before other languages came (no ``compile`` key),
        so stored reports and their exports stay the same."""
        data: dict[str, Any] = handler(self)
        if self.compile is None:
            data.pop("compile", None)
        return data

    @property
    def passed(self) -> bool:
        """Every test passed (an empty run passes nothing)."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def n_passed(self) -> int:
        """How many tests passed."""
        return sum(r.passed for r in self.results)

    @property
    def fraction_passed(self) -> float:
        """The fraction of tests that passed (0.0 when none ran)."""
        return self.n_passed / len(self.results) if self.results else 0.0

    def counts(self) -> dict[str, int]:
        """How many tests ended with each status, by status."""
        tally: dict[str, int] = {}
        for r in self.results:
            tally[r.status] = tally.get(r.status, 0) + 1
        return tally


ObjectiveName = Literal["correctness", "speed"]
"""The name of a run's objective (``codemend.optimise.objective`` has the values)."""
SpeedVerdict = Literal["faster", "slower", "same", "incorrect"]


class SpeedMeasurement(BaseModel):
    """A candidate's cost against a baseline's, measured from outside both: paired fresh-process
    repetitions in one sandbox, compared with a one-sided Mann-Whitney U test."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["cpu", "wall", "instructions"] = Field(
        default="cpu",
        description="cpu: user + system CPU seconds of each run's candidate process tree, fork to "
        "exit (import time included), from the supervisor's wait4; wall: each run's wall time, "
        "used where candidates are not contained (a detached helper's CPU time would escape wait4); "
        "instructions: user-space instructions of the candidate's process counted under valgrind "
        "(one run each: the count repeats exactly), less the interpreter's start-up.",
    )
    hidden: bool = Field(
        default=False,
        description="Measured on performance inputs the model is never shown (the reward, the judge), "
        "not on the visible ones that feed the repair loop.",
    )
    seed: int | None = Field(
        default=None,
        description="The seed the problem's input generator drew this measurement's inputs from.",
    )
    baseline_instructions: int | None = None
    candidate_instructions: int | None = None
    startup_instructions: int | None = Field(
        default=None, description="instructions: the interpreter's start-up, subtracted from both counts."
    )
    contained: bool = Field(
        description="Candidates ran in namespaces of their own, so every process they spawned was "
        "reaped inside and its CPU time counted."
    )
    inputs: list[str] = Field(default_factory=list, description="The workload: calls or stdin, shortened.")
    warmup: int = 0
    baseline_s: list[float] = Field(default_factory=list)
    candidate_s: list[float] = Field(default_factory=list)
    baseline_median_s: float | None = None
    candidate_median_s: float | None = None
    speedup: float | None = Field(default=None, description="Baseline median / candidate median.")
    u_statistic: float | None = Field(default=None, description="Pairs (candidate < baseline), ties half.")
    p_faster: float | None = Field(default=None, description="One-sided p: the candidate costs less.")
    p_slower: float | None = None
    test: Literal["mann-whitney-exact", "mann-whitney-normal"] | None = None
    alpha: float = 0.05
    verdict: SpeedVerdict
    failure: str | None = Field(default=None, description="Why the candidate is incorrect on the workload.")
    failing_input: str | None = None
    wall_s: float = Field(default=0.0, description="What the measurement cost, wall clock.")
    language: str | None = Field(
        default=None, description="Programs in other languages than Python: the language both are in."
    )
    compile_command: str | None = Field(
        default=None,
        description="Compiled programs: the command (compiler, standard and flags) the baseline and "
        "the candidate were built with, each run afresh; compile time is never part of the cost.",
    )
    compile_s: list[float] = Field(
        default_factory=list,
        description="Compiled programs: the candidate's compile times (wall clock), reported apart "
        "and never counted as its cost.",
    )

    @model_serializer(mode="wrap")
    def _without_language(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A Python measurement serialises as it did before other languages came (no language,
        compile command or compile times), so stored records and their exports stay the same."""
        data: dict[str, Any] = handler(self)
        if self.language is None:
            for key in ("language", "compile_command", "compile_s"):
                data.pop(key, None)
        return data

    @property
    def credited_speedup(self) -> float:
        """The speedup when significant either way, else 1.0 (PIE: incorrect counts as 1.0)."""
        if self.verdict in ("faster", "slower") and self.speedup is not None:
            return self.speedup
        return 1.0


SCHEMA_VERSION = 6  # 2: stop reason context_length, Critique.llm_error; 3: speed measurements;
# 4: a step's token ids and logprobs; 5: the critic's signals (Critique.trace, .security, .structure);
# 6: the structure reward credits only the statements the passing tests need (schema 5's ``score``
# was CodeBLEU's mean over the whole program)

StepKind = Literal["generate", "repair"]
StopReason = Literal[
    "solved",  # every visible test passed
    "max_rounds",  # the repair budget was spent
    "no_progress",  # the new candidate is the same code as an earlier one (normalised)
    "token_budget",
    "time_budget",
    "infrastructure",  # the endpoint or the sandbox failed after retries: not the model's fault
    "context_length",  # the next prompt no longer fits the model's context; what came before is scored
]
TrajectoryStatus = Literal["solved", "unsolved", "infrastructure_error"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(_Record):
    role: Literal["system", "user", "assistant"]
    content: str


class Constraint(_Record):
    """One constraint the critic checked, CORGI-style."""

    name: Literal["parses", "entry_point", "imports", "tests", "resources"] | str
    satisfied: bool
    evidence: str = ""
    required: bool = Field(
        default=False,
        description="A step is not solved while this is unsatisfied, even when every visible test "
        "passes (the security constraint of --constraints security).",
    )


class Signal(_Record):
    """One of the critic's optional signals on one candidate. ``available`` False means it could
    not be had (no analyser installed, no reference solution, the tracer was stopped), and
    ``reason`` says why: never a crashed step, never a zero standing in for a missing value."""

    available: bool
    reason: str | None = Field(default=None, description="Why the signal is not available.")


class TraceBlock(_Record):
    """A run of consecutive lines of the candidate's own code (a basic block, LDB-style) as one
    failing test executed it, with the values its variables held afterwards."""

    first_line: int = Field(ge=1)
    last_line: int = Field(ge=1)
    function: str = Field(description="The function (or ``<module>``) the block belongs to.")
    lines: list[int] = Field(default_factory=list, description="The lines it ran, in order (the path taken).")
    omitted_before: int = Field(default=0, ge=0, description="Blocks left out just before this one.")
    values: dict[str, str] = Field(
        default_factory=dict, description="Variable name -> its value's repr, shortened (untrusted text)."
    )


class Trace(Signal):
    """``--feedback trace``: the candidate's own execution of its first failing visible test,
    gathered in the candidate's process (untrusted: feedback only, never a verdict)."""

    test_index: int | None = Field(default=None, description="The visible test that was traced.")
    blocks: list[TraceBlock] = Field(default_factory=list, description="The blocks shown, in order.")
    omitted_blocks: int = Field(default=0, ge=0, description="Blocks left out to keep the budget.")
    text: str = Field(default="", description="The trace as the repair prompt shows it.")
    note: str | None = Field(
        default=None, description="Why an available trace is partial (the run or the tracer stopped early)."
    )


class SecurityFinding(_Record):
    """One finding of the static security analysis of the candidate."""

    line: int | None = None
    severity: Literal["low", "medium", "high"]
    confidence: Literal["low", "medium", "high"] = "high"
    rule: str = Field(description="The analyser's identifier for the check (e.g. bandit's B602).")
    message: str


class SecurityReport(Signal):
    """``--constraints security``: what the analyser found in the candidate."""

    analyser: str | None = Field(default=None, description="Name and version of the analyser.")
    findings: list[SecurityFinding] = Field(default_factory=list)


class StructureScore(Signal):
    """Closeness of the candidate to the problem's reference solution: CodeBLEU's syntax and
    data-flow components over the whole program (an export column), and the reward ``score``,
    which credits only the statements the passing visible tests need (``agents.credit``). Never
    a verdict, never shown to the model."""

    syntax_match: float | None = Field(
        default=None, ge=0.0, le=1.0, description="CodeBLEU's syntax match: the reference's subtrees found."
    )
    dataflow_match: float | None = Field(
        default=None, ge=0.0, le=1.0, description="CodeBLEU's data-flow match: the reference's edges found."
    )
    closeness: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="F1 of subtrees and data-flow edges between the reference and the credited statements.",
    )
    statements: int | None = Field(default=None, ge=0, description="The candidate's statements.")
    credited: int | None = Field(
        default=None, ge=0, description="Of those, the ones a passing visible test was shown to need."
    )
    score: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="The reward: (visible tests passed + closeness) / (visible tests + 1); None until the "
        "executor has checked which statements the tests need.",
    )
    unscored: str | None = Field(default=None, description="Why ``score`` is None (the signal is there).")


class Critique(_Record):
    """The critic's verdict on one candidate: constraints, a score in [0, 1] and feedback text.

    ``feedback`` is built from the deterministic report and never mentions hidden tests;
    ``llm_feedback`` is the optional LLM diagnosis riding on top of it.
    """

    constraints: list[Constraint]
    score: float = Field(ge=0.0, le=1.0)
    feedback: str
    llm_feedback: str | None = None
    mode: Literal["tests", "llm", "hybrid"] = "tests"
    llm_messages: list[Message] = Field(default_factory=list, description="What the LLM critic was sent.")
    llm_model: str | None = None
    llm_tokens_in: int = 0
    llm_tokens_out: int = 0
    llm_latency_s: float = 0.0
    llm_error: str | None = Field(
        default=None, description="Why the LLM critique is missing (its prompt did not fit the context)."
    )
    trace: Trace | None = Field(default=None, description="--feedback trace; None when not asked for.")
    security: SecurityReport | None = Field(
        default=None, description="--constraints security; None when not asked for."
    )
    structure: StructureScore | None = Field(
        default=None, description="Closeness to the reference solution; None when not asked for."
    )


class StepRecord(_Record):
    """One model call and what came of it: the messages sent, the reply, the code extracted,
    the visible-test report, the critique and the rewards."""

    schema_version: int = SCHEMA_VERSION
    index: int = Field(ge=0)
    kind: StepKind
    parent: int | None = Field(default=None, description="Index of the step this one repairs.")
    messages: list[Message] = Field(description="What was sent to the model (never hidden tests).")
    reply: str | None = None
    code: str | None = None
    report: TestReport | None = Field(default=None, description="Visible tests only.")
    critique: Critique | None = None
    measurement: SpeedMeasurement | None = Field(
        default=None, description="--objective speed: this code's cost against the baseline's."
    )
    reward: float | None = Field(default=None, description="The step's reward (pluggable).")
    rewards: dict[str, float] = Field(default_factory=dict, description="Named reward components.")
    tokens_in: int = 0
    tokens_out: int = 0
    prompt_token_ids: list[int] | None = Field(
        default=None, description="The prompt as the endpoint tokenized it, when it returned it (vLLM)."
    )
    completion_token_ids: list[int] | None = Field(
        default=None, description="The reply's token ids, when the endpoint returned them."
    )
    completion_logprobs: list[float] | None = Field(
        default=None,
        description="The sampling policy's logprob of each reply token, when the endpoint returned "
        "them: for off-policy correction on stored episodes.",
    )
    latency_s: float = 0.0
    error: str | None = Field(
        default=None,
        description="Why the step has no reply: infrastructure, or a prompt too long for the context.",
    )
    started_at: datetime | None = None
    ended_at: datetime | None = None


def required_satisfied(step: StepRecord) -> bool:
    """Every ``required`` constraint of the step's critique holds (true without any)."""
    constraints = step.critique.constraints if step.critique is not None else []
    return all(c.satisfied for c in constraints if c.required)


def visible_solved(step: StepRecord) -> bool:
    """Every visible test passed (with none, every structural constraint the critic checked), and
    every ``required`` constraint holds (``--constraints security``: no high-severity finding)."""
    if not required_satisfied(step):
        return False
    if step.report is not None and step.report.results:
        return step.report.passed
    return step.critique is not None and all(c.satisfied for c in step.critique.constraints)


class TrajectoryRecord(_Record):
    """One solve of one problem: its steps, how it stopped, and the final (hidden-test) reward."""

    schema_version: int = SCHEMA_VERSION
    trajectory_id: str
    run_id: str
    problem: Problem
    sample_index: int = 0
    status: TrajectoryStatus
    stop_reason: StopReason
    final_code: str | None = None
    final_reward: float | None = None
    hidden_passed: bool | None = Field(default=None, description="None when there are no hidden tests.")
    hidden_report: TestReport | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    feedback_tests: Literal["visible", "all", "none"] = "visible"
    objective: ObjectiveName = "correctness"
    baseline_step: int | None = Field(
        default=None,
        description="--objective speed without a reference solution: the step whose (first "
        "passing) code is the baseline.",
    )
    final_measurement: SpeedMeasurement | None = Field(
        default=None, description="A measuring objective: the answer's cost on the hidden workload."
    )
    final_index: int | None = Field(
        default=None,
        description="The step whose code is the answer (as the objective picked it); None without "
        "one, or in a store written before it was kept.",
    )


class RunRecord(_Record):
    """One invocation (a solve, a bench): settings, model and endpoint, template hashes."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: datetime
    ended_at: datetime | None = None
    codemend_version: str
    model: str | None = None
    endpoint: str | None = None
    critic_model: str | None = None
    critic_endpoint: str | None = None
    prompt_hashes: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How a trajectory ended: what ``finish_trajectory`` stores. Tokens default to the sum over
    the trajectory's steps and ``wall_s`` to the time since it started."""

    status: TrajectoryStatus
    stop_reason: StopReason
    final_code: str | None = None
    final_reward: float | None = None
    hidden_passed: bool | None = None
    hidden_report: TestReport | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    wall_s: float | None = None
    objective: ObjectiveName = "correctness"
    baseline_step: int | None = None
    final_measurement: SpeedMeasurement | None = None
    final_index: int | None = None

    @classmethod
    def of(cls, record: TrajectoryRecord) -> Outcome:
        """The outcome a finished ``record`` carries."""
        return cls(
            status=record.status,
            stop_reason=record.stop_reason,
            final_code=record.final_code,
            final_reward=record.final_reward,
            hidden_passed=record.hidden_passed,
            hidden_report=record.hidden_report,
            tokens_in=record.tokens_in,
            tokens_out=record.tokens_out,
            wall_s=record.wall_s,
            objective=record.objective,
            baseline_step=record.baseline_step,
            final_measurement=record.final_measurement,
            final_index=record.final_index,
        )
