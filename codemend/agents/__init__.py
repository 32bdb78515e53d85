"""The agents of the repair loop: generator, critic, executor, and the rewards they earn.

Agents reach the outside only through ``codemend.llm`` and ``codemend.sandbox``.
"""

from codemend.agents.constraints import ImportPolicy, check_constraints
from codemend.agents.critic import (
    CRITIC_MODES,
    EXTRA_CONSTRAINTS,
    Critic,
    CriticMode,
    ExtraConstraint,
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
from codemend.agents.structure import structure_score
from codemend.agents.tracing import FEEDBACK_MODES, TRACE_TOKEN_BUDGET, FeedbackMode, with_trace

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
    "structure_score",
    "with_trace",
]
