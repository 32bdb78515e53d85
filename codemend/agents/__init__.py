"""The agents of the repair loop: generator, critic, executor, and the rewards they earn.

Agents reach the outside only through ``codemend.llm`` and ``codemend.sandbox``. Every name is
imported on first use, so that a command that only runs tests (``check``) and reads an option's
choices from here loads no model code.
"""

from typing import TYPE_CHECKING

from codemend._lazy import lazy_names

if TYPE_CHECKING:
    from codemend.agents.constraints import (
        EXTRA_CONSTRAINTS,
        ExtraConstraint,
        ImportPolicy,
        check_constraints,
    )
    from codemend.agents.critic import (
        CRITIC_MODES,
        Critic,
        CriticMode,
        Verdict,
        extra_constraints,
        make_critic,
        repair_feedback,
    )
    from codemend.agents.executor import Executor, make_executor
    from codemend.agents.feedback import feedback_text
    from codemend.agents.generator import Generator, History, code_fingerprint, make_generator
    from codemend.agents.security import SecurityAnalyser
    from codemend.agents.step_rewards import (
        REWARDS,
        SIGNALS,
        RewardFn,
        constraint_score,
        pass_fraction,
        reward_components,
        reward_function,
    )
    from codemend.agents.structure import scored_structure, structure_score
    from codemend.agents.tracing import FEEDBACK_MODES, TRACE_TOKEN_BUDGET, FeedbackMode, with_trace

_HOMES = {
    "codemend.agents.constraints": (
        "EXTRA_CONSTRAINTS",
        "ExtraConstraint",
        "ImportPolicy",
        "check_constraints",
    ),
    "codemend.agents.critic": (
        "CRITIC_MODES",
        "Critic",
        "CriticMode",
        "Verdict",
        "extra_constraints",
        "make_critic",
        "repair_feedback",
    ),
    "codemend.agents.executor": ("Executor", "make_executor"),
    "codemend.agents.feedback": ("feedback_text",),
    "codemend.agents.generator": ("Generator", "History", "code_fingerprint", "make_generator"),
    "codemend.agents.security": ("SecurityAnalyser",),
    "codemend.agents.step_rewards": (
        "REWARDS",
        "SIGNALS",
        "RewardFn",
        "constraint_score",
        "pass_fraction",
        "reward_components",
        "reward_function",
    ),
    "codemend.agents.structure": ("scored_structure", "structure_score"),
    "codemend.agents.tracing": ("FEEDBACK_MODES", "TRACE_TOKEN_BUDGET", "FeedbackMode", "with_trace"),
}
__getattr__, __dir__ = lazy_names(__name__, globals(), _HOMES)

__all__ = [
    "CRITIC_MODES",
    "EXTRA_CONSTRAINTS",
    "FEEDBACK_MODES",
    "REWARDS",
    "SIGNALS",
    "TRACE_TOKEN_BUDGET",
    "Critic",
    "CriticMode",
    "Executor",
    "ExtraConstraint",
    "FeedbackMode",
    "Generator",
    "History",
    "ImportPolicy",
    "RewardFn",
    "SecurityAnalyser",
    "Verdict",
    "check_constraints",
    "code_fingerprint",
    "constraint_score",
    "extra_constraints",
    "feedback_text",
    "make_critic",
    "make_executor",
    "make_generator",
    "pass_fraction",
    "repair_feedback",
    "reward_components",
    "reward_function",
    "scored_structure",
    "structure_score",
    "with_trace",
]
