"""Per-turn rewards of the repair environment: final-only, per-turn, improvement-shaped or
discounted, with the critic's constraint score as an optional dense term.

A turn's *score* is the graph's step reward (by default the fraction of the visible tests that
pass). The last turn's value is the episode's final reward, computed once on the hidden tests
(the graph's ``finish`` node); the hidden tests never reach an observation, only this number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from codemend.agents import SIGNALS
from codemend.errors import UserError

RewardMode = Literal["final", "per_turn", "improvement", "discounted"]
REWARD_MODES: tuple[RewardMode, ...] = ("final", "per_turn", "improvement", "discounted")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvRewards:
    """How the environment turns scores into per-turn rewards.

    - ``final``: 0 on every turn but the last, which gets the final (hidden-test) reward.
    - ``per_turn``: each turn its own visible-test score; the last turn the final reward.
    - ``improvement``: ``v_t - v_{t-1}`` with ``v_0 = 0``, ``v_t`` the turn's score and the last
      value the final reward, so the rewards sum to the final reward.
    - ``discounted``: ``discount ** (turns - 1) * final`` on the last turn, 0 before: solving in
      fewer turns earns more.

    ``constraint_weight`` adds ``weight * critique.score`` (CORGI's fraction of satisfied
    constraints) to every critiqued turn, as a dense term.

    ``component_weights`` adds ``weight * component`` for each of the critic's signal components
    (``agents.SIGNALS``: ``security``, ``structure``) to every turn whose step has it; a turn
    without it (no reference solution, no analyser, not asked for) gets no term, never a 0.
    """

    mode: RewardMode = "final"
    discount: float = 0.9
    constraint_weight: float = 0.0
    component_weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in REWARD_MODES:
            raise UserError(f"unknown reward mode {self.mode!r}; expected one of {', '.join(REWARD_MODES)}")
        if not 0.0 < self.discount <= 1.0:
            raise UserError(f"discount must be in (0, 1], got {self.discount}")
        for name in self.component_weights:
            if name not in SIGNALS:
                raise UserError(f"unknown reward component {name!r}; expected one of {', '.join(SIGNALS)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnScore:
    """What one turn earned before shaping."""

    turn: int
    """1 for the first attempt."""
    score: float
    """The step reward (visible tests); 0 for a turn stopped before its tests ran."""
    previous: float
    """The value of the turn before (0 before the first)."""
    constraint_score: float | None
    final: float | None
    """The final reward, on the episode's last turn only."""
    components: dict[str, float] = field(default_factory=dict)
    """The step's named reward components (``StepRecord.rewards``): those it has."""


def shaped(rewards: EnvRewards, turn: TurnScore) -> dict[str, float]:
    """The reward components of a turn; ``reward`` is the one a trainer gets."""
    last = turn.final is not None
    value = turn.final if turn.final is not None else turn.score
    if rewards.mode == "final":
        base = value if last else 0.0
    elif rewards.mode == "per_turn":
        base = value
    elif rewards.mode == "improvement":
        base = value - turn.previous
    else:
        base = rewards.discount ** (turn.turn - 1) * value if last else 0.0
    dense = rewards.constraint_weight * (turn.constraint_score or 0.0)
    weighted = {
        name: weight * turn.components[name]
        for name, weight in rewards.component_weights.items()
        if name in turn.components
    }
    signals = sum(weighted.values())
    parts = {
        "score": turn.score,
        "value": value,
        "shaped": base,
        "constraint": dense,
        **{f"{name}_term": term for name, term in weighted.items()},
        "reward": base + dense + signals,
    }
    if turn.final is not None:
        parts["final"] = turn.final
    return parts
