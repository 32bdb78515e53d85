"""Building a run's ``RepairContext`` from its parts: the one place that wires a generator (with
its templates) and an executor around a model, a critic and a sandbox, for ``codemend.solve`` and
for ``codemend.env`` alike."""

from __future__ import annotations

from codemend.agents import (
    Critic,
    FeedbackMode,
    History,
    RewardFn,
    make_executor,
    make_generator,
    pass_fraction,
)
from codemend.graphs.state import Limits, RepairContext, StepHook
from codemend.llm import ChatModel, SamplingParams
from codemend.optimise import Correctness, Speed
from codemend.problems import Problem
from codemend.prompts import Prompts
from codemend.sandbox import Sandbox


def build_context(
    problem: Problem,
    *,
    llm: ChatModel,
    critic: Critic,
    sandbox: Sandbox,
    prompts: Prompts,
    history: History = "latest",
    sampling: SamplingParams | None = None,
    repair_sampling: SamplingParams | None = None,
    reward: RewardFn = pass_fraction,
    limits: Limits | None = None,
    on_step: StepHook | None = None,
    objective: Correctness | Speed | None = None,
    feedback: FeedbackMode = "tests",
) -> RepairContext:
    """The context a run of the repair graph reads: ``llm`` writes the code (an HTTP endpoint, or
    the policy being trained), ``critic`` judges it, ``sandbox`` runs it (and traces a failing
    test's run with ``feedback="trace"``)."""
    generator = make_generator(
        llm=llm,
        generate_prompt=prompts.generate,
        repair_prompt=prompts.repair,
        optimise_prompt=prompts.optimise,
        sampling=sampling,
        repair_sampling=repair_sampling,
        history=history,
    )
    return RepairContext(
        problem=problem,
        generator=generator,
        critic=critic,
        executor=make_executor(sandbox),
        reward=reward,
        limits=limits or Limits(),
        on_step=on_step,
        objective=objective or Correctness(),
        feedback=feedback,
    )
