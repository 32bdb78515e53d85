"""``codemend.solve()`` / ``codemend.asolve()``: one problem through the repair graph.

With nothing configured the generator (and an LLM critic) use the embedded model. ``solve()``
works inside a running event loop (Jupyter) by running its own loop in a worker thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import difflib
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict, Unpack

from codemend.agents import (
    FEEDBACK_MODES,
    CriticMode,
    ExtraConstraint,
    FeedbackMode,
    History,
    ImportPolicy,
    RewardFn,
    extra_constraints,
    make_critic,
    reward_function,
)
from codemend.errors import UserError
from codemend.graphs import (
    CHECKPOINT_FILE,
    Limits,
    RepairContext,
    StepHook,
    build_context,
    run_repair,
    to_trajectory,
)
from codemend.llm import LLMClient, LLMSettings, SamplingParams, resolve
from codemend.optimise import Correctness, Speed, as_objective
from codemend.problems import AssertTest, IOTest, Problem
from codemend.prompts import Prompts
from codemend.records import StepRecord, StopReason, TrajectoryRecord
from codemend.sandbox import Sandbox, open_sandbox
from codemend.settings import get_settings


class SolveOptions(TypedDict, total=False):
    prompt: str
    """With ``tests`` (and ``entry_point``), the problem when none is given."""
    tests: Sequence[str | AssertTest | IOTest]
    """Assertions (strings) or test objects; strings are visible tests."""
    entry_point: str | None
    rounds: int
    """Repairs after the first attempt (default 3)."""
    critic: CriticMode
    llm: LLMClient | LLMSettings | None
    """The generator's endpoint; default: the configured one, else the embedded model."""
    critic_llm: LLMClient | LLMSettings | None
    """The LLM critic's endpoint; default: ``CODEMEND_CRITIC_*``, else as the generator."""
    sandbox: Sandbox | None
    sampling: SamplingParams | None
    repair_sampling: SamplingParams | None
    history: History
    imports: ImportPolicy | Literal["default", "strict"]
    feedback: FeedbackMode
    """``"trace"``: each failing step's first failing visible test is traced in the sandbox and
    the trace (its blocks, their variables, where it diverged) joins the feedback."""
    constraints: Sequence[ExtraConstraint]
    """Constraints added to the critic's: ``["security"]`` runs bandit on each candidate; a
    high-severity finding keeps a step that passes its tests from being solved."""
    reward: RewardFn | str
    token_budget: int | None
    time_budget_s: float | None
    prompts: Prompts | None
    run_dir: str | Path | None
    """Keep checkpoints in ``run_dir/checkpoints.sqlite``: an interrupted solve resumes when
    called again with the same ``trajectory_id``."""
    trajectory_id: str | None
    resume: bool
    """The trajectory ``trajectory_id`` must already be in ``run_dir``'s checkpoints (of this
    problem): a ``UserError`` otherwise, instead of a fresh start."""
    run_id: str | None
    on_step: StepHook | None
    objective: Correctness | Speed | Literal["correctness", "speed"]
    """What to optimise: ``Correctness()`` (default) or ``Speed(...)`` (make a correct program
    faster, with how its cost is measured); a name means that objective's defaults."""


class SolveResult(BaseModel):
    """What a solve produced: the answers a caller wants first, and the whole trajectory."""

    model_config = ConfigDict(extra="forbid")

    code: str | None
    passed: bool = Field(description="The final code passes every visible and every hidden test.")
    rounds: int = Field(description="Repairs used after the first attempt.")
    stop_reason: StopReason
    trajectory: TrajectoryRecord
    problem_error: str | None = Field(
        default=None,
        description="The run stopped because the problem cannot be used as given (its reference "
        "fails its own tests or workload, its input generator fails): bad input, not a model failure.",
    )

    @classmethod
    def from_trajectory(cls, trajectory: TrajectoryRecord, problem_error: str | None = None) -> SolveResult:
        """The result of a finished ``trajectory``: its answer, whether it solved the problem, its
        repair rounds and stop reason."""
        return cls(
            code=trajectory.final_code,
            passed=trajectory.status == "solved",
            rounds=sum(step.kind == "repair" for step in trajectory.steps),
            stop_reason=trajectory.stop_reason,
            trajectory=trajectory,
            problem_error=problem_error,
        )

    @property
    def steps(self) -> list[StepRecord]:
        """The trajectory's steps, in order."""
        return self.trajectory.steps


def make_problem(
    prompt: str, tests: Sequence[str | AssertTest | IOTest], entry_point: str | None, *, id: str = "prompt"
) -> Problem:
    """A problem from a prompt and its tests (strings are asserts); ``UserError`` when they do not
    make a valid problem."""
    items = [AssertTest(code=t) if isinstance(t, str) else t for t in tests]
    try:
        return Problem(id=id, prompt=prompt, entry_point=entry_point, tests=items)
    except ValidationError as exc:
        raise UserError(f"invalid problem: {exc.errors()[0]['msg']}") from None


def _problem(problem: Problem | None, options: SolveOptions) -> Problem:
    prompt, tests = options.get("prompt"), options.get("tests")
    if problem is not None:
        if prompt is not None or tests is not None:
            raise UserError("give either a problem or prompt=/tests=, not both")
        return problem
    if prompt is None or tests is None:
        raise UserError("solve() needs a problem, or prompt= and tests=")
    return make_problem(prompt, tests, options.get("entry_point"))


async def _client(
    given: LLMClient | LLMSettings | None, default: LLMSettings, stack: AsyncExitStack
) -> LLMClient:
    if isinstance(given, LLMClient):
        return given
    settings = await asyncio.to_thread(resolve, given or default)  # may start the embedded model
    return await stack.enter_async_context(LLMClient(settings))


def _sandbox(given: Sandbox | None, stack: AsyncExitStack) -> Sandbox:
    if given is not None:
        return given
    return stack.enter_context(open_sandbox(get_settings().sandbox, workers=1))


async def _context(problem: Problem, options: SolveOptions, stack: AsyncExitStack) -> RepairContext:
    settings = get_settings()
    objective = as_objective(options.get("objective", "correctness"))
    sandbox = _sandbox(options.get("sandbox"), stack)
    if isinstance(objective, Speed):
        await asyncio.to_thread(_check_cost, sandbox, objective)
        if (why := objective.unavailable_for(problem.language)) is not None:
            raise UserError(f"--cost {objective.cost}: {why}")
    prompts = options.get("prompts") or Prompts.load()
    generator_llm = await _client(options.get("llm"), settings.llm, stack)
    mode = options.get("critic", "tests")
    critic_llm = await _client(options.get("critic_llm"), settings.critic, stack) if mode != "tests" else None
    critic = make_critic(
        mode,
        llm=critic_llm,
        prompt=prompts.critique,
        imports=options.get("imports", "default"),
        constraints=options.get("constraints", ()),
    )
    return build_context(
        problem,
        llm=generator_llm,
        critic=critic,
        sandbox=sandbox,
        prompts=prompts,
        history=options.get("history", "latest"),
        sampling=options.get("sampling"),
        repair_sampling=options.get("repair_sampling"),
        reward=reward_function(options.get("reward", "pass_fraction")),
        limits=_limits(options),
        on_step=options.get("on_step"),
        objective=objective,
        feedback=options.get("feedback", "tests"),
    )


def _check_cost(sandbox: Sandbox, objective: Speed) -> None:
    """Say at the start, not mid-run, that this sandbox cannot take the objective's cost."""
    why = sandbox.cost_unavailable(objective.cost)
    if why is not None:
        raise UserError(f"--cost {objective.cost}: {why}")


def _unknown(given: object, valid: frozenset[str], what: str) -> None:
    """A ``UserError`` for a key of ``given`` that is not in ``valid``, naming the closest one."""
    if not isinstance(given, dict):
        return
    for key in given:
        if key not in valid:
            close = difflib.get_close_matches(str(key), sorted(valid), n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UserError(f"unknown {what} {key!r}: {hint}valid: {', '.join(sorted(valid))}")


def check_options(options: dict[str, object]) -> None:
    """Refuse misspelt options (``round=2``, ``sampling={"max_token": 50}``) instead of
    silently running with the defaults."""
    _unknown(options, SolveOptions.__optional_keys__, "solve() option")
    for name in ("sampling", "repair_sampling"):
        _unknown(options.get(name), SamplingParams.__optional_keys__, f"key of {name}")
    as_objective(options.get("objective", "correctness"))
    if options.get("feedback", "tests") not in FEEDBACK_MODES:
        given = options.get("feedback")
        raise UserError(f"feedback must be one of {', '.join(FEEDBACK_MODES)}, got {given!r}")
    constraints = options.get("constraints", ())
    if isinstance(constraints, str):
        raise UserError(f"constraints must be a list of names, e.g. [{constraints!r}], not a string")
    extra_constraints(constraints)  # type: ignore[arg-type]
    rounds = options.get("rounds", 3)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 0:
        raise UserError(f"rounds must be an int, 0 or more, got {rounds!r}")


def _limits(options: SolveOptions) -> Limits:
    return Limits(
        max_rounds=options.get("rounds", 3),
        token_budget=options.get("token_budget"),
        time_budget_s=options.get("time_budget_s"),
    )


async def asolve(problem: Problem | None = None, **options: Unpack[SolveOptions]) -> SolveResult:
    """Generate, test, critique and repair until the visible tests pass or a limit stops it.

    ``problem`` is a ``Problem`` (e.g. from ``load_problems``); without one, give ``prompt`` and
    ``tests``. Options (an unknown name, or an unknown key in ``sampling``, is a ``UserError``
    naming the closest valid one):

    - ``prompt``, ``tests``, ``entry_point`` (None): the problem when none is given; strings in
      ``tests`` are visible assertions.
    - ``rounds`` (3): repairs after the first attempt.
    - ``critic`` ("tests"): "tests" (the test report alone), "llm" or "hybrid".
    - ``llm`` (None: ``CODEMEND_*``, else the embedded model), ``critic_llm`` (None:
      ``CODEMEND_CRITIC_*``, else as the generator): an ``LLMClient`` or ``LLMSettings``.
    - ``sandbox`` (None: a ``LocalSandbox``, or ``CODEMEND_SANDBOX``'s backend, for this solve).
    - ``sampling`` (None: the endpoint's defaults) and ``repair_sampling`` (None: as
      ``sampling``): ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``, ``n``.
    - ``history`` ("latest"): the repair prompt shows the latest attempt, or "full": all of them.
    - ``feedback`` ("tests"): what a repair prompt is told of a failing step, the failing tests'
      report; "trace": that and a trace of the first failing visible test in the candidate's own
      run (within ``codemend.agents.TRACE_TOKEN_BUDGET`` tokens; see the README's "Trace feedback").
    - ``imports`` ("default"): the import policy; "strict" forbids network and subprocess modules.
    - ``constraints`` (()): constraints added to the critic's; ``["security"]``: bandit's static
      analysis of each candidate, its findings in the feedback, and a step with a high-severity
      finding is not solved even when its tests pass.
    - ``reward`` ("pass_fraction"): the per-step reward, by name or as a function.
    - ``token_budget`` (None), ``time_budget_s`` (None): stop once spent.
    - ``prompts`` (None: codemend's templates): a ``Prompts`` set.
    - ``run_dir`` (None): keep checkpoints there, so a solve called again with the same
      ``trajectory_id`` resumes (on the same problem only); ``trajectory_id``, ``run_id`` (None:
      fresh ids); ``resume`` (False): the trajectory must already be there.
    - ``on_step`` (None): called with each ``StepRecord`` as it is made.
    - ``objective`` (``Correctness()``): ``Speed(...)`` (or "speed" for its defaults) starts
      from a correct program (the problem's ``reference_solution``, else the first passing
      answer) and asks for faster ones; each correct candidate's cost (``cost="cpu"``: CPU time
      of paired fresh sandboxed runs; ``"instructions"``: counted under valgrind) is measured
      against it (``codemend.optimise``): on the visible performance inputs for feedback, on the
      hidden ones for the answer's reward, the correctness-gated speedup.

    Raises ``UserError`` on bad input and ``InfrastructureError`` when the sandbox or the embedded
    model cannot start; an endpoint that fails mid-run ends the trajectory with the
    ``infrastructure`` stop reason instead.
    """
    check_options(dict(options))
    task = _problem(problem, options)
    if not task.tests and not (
        task.perf_tests and as_objective(options.get("objective", "correctness")).measures
    ):
        raise UserError(
            f"problem {task.id} has no tests: nothing would check the answer (no test is not a pass)"
        )
    trajectory_id = options.get("trajectory_id") or uuid.uuid4().hex
    async with AsyncExitStack() as stack:
        ctx = await _context(task, options, stack)
        run_dir = options.get("run_dir")
        checkpoints = Path(run_dir) / CHECKPOINT_FILE if run_dir is not None else None
        if options.get("resume") and checkpoints is None:
            raise UserError("resume=True needs the run_dir the trajectory was started in")
        values = await run_repair(
            ctx, thread_id=trajectory_id, checkpoints=checkpoints, resume=bool(options.get("resume"))
        )
    trajectory = to_trajectory(
        values,
        problem=task,
        trajectory_id=trajectory_id,
        run_id=options.get("run_id") or trajectory_id,
        objective=ctx.objective.name,
    )
    return SolveResult.from_trajectory(trajectory, values.get("problem_error"))


def solve(problem: Problem | None = None, **options: Unpack[SolveOptions]) -> SolveResult:
    """``asolve`` for synchronous callers, also from inside a running event loop (Jupyter).

    Takes the same problem and options as ``asolve`` (see ``help(codemend.asolve)``): ``rounds``
    (3), ``critic`` ("tests"), ``llm``, ``critic_llm``, ``sandbox``, ``sampling``,
    ``repair_sampling``, ``history`` ("latest"), ``feedback`` ("tests"), ``imports`` ("default"),
    ``constraints`` (()), ``reward``
    ("pass_fraction"), ``token_budget``, ``time_budget_s``, ``prompts``, ``run_dir``,
    ``trajectory_id``, ``resume``, ``run_id``, ``on_step``, ``objective`` (``Correctness()``), or
    ``prompt``/``tests``/``entry_point`` instead of a problem. An unknown option is a
    ``UserError``.

    Inside a running loop the solve gets its own loop in a worker thread: pass endpoint settings
    rather than an ``LLMClient`` that already belongs to another loop.
    """
    check_options(dict(options))
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(asolve(problem, **options))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="codemend-solve") as pool:
        return pool.submit(lambda: asyncio.run(asolve(problem, **options))).result()
