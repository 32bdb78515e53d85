"""How a trajectory ended, in the terms the problem list filters on.

The verdicts are the hidden tests' (evaluation only): ``by_round[r]`` is whether the answer a run
stopped after round r would have returned passes them (``hidden.jsonl``). Without that file (a
bare store) only the final verdict is known, and repair's effect is not classified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from codemend.benchmarks import HiddenVerdicts
from codemend.records import TrajectoryRecord

Category = Literal["solved", "unsolved", "fixed", "broken", "infra"]
CATEGORIES: dict[Category, str] = {
    "solved": "solved",
    "unsolved": "unsolved",
    "fixed": "fixed by repair",
    "broken": "broken by repair",
    "infra": "infrastructure error",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    categories: tuple[Category, ...]
    by_round: tuple[bool, ...] | None
    """Hidden verdict after each round 0..R; None when unknown (no ``hidden.jsonl`` line)."""
    final: bool | None
    """The final answer passes the hidden tests; None when not scored."""
    step_verdicts: tuple[bool | None, ...] | None
    """Hidden verdict of every step's code (None for a step without code)."""
    scoring_error: str | None = None


def classify(t: TrajectoryRecord, verdicts: HiddenVerdicts | None) -> Outcome:
    """How ``t`` ended: infrastructure, solved or unsolved, and (with its hidden verdicts by round)
    whether repair fixed or broke the first answer."""
    if t.status == "infrastructure_error":
        return Outcome(categories=("infra",), by_round=None, final=None, step_verdicts=None)
    if verdicts is not None and verdicts.error:
        return Outcome(
            categories=("infra",), by_round=None, final=None, step_verdicts=None, scoring_error=verdicts.error
        )
    if verdicts is None or not verdicts.by_round:
        final = t.hidden_passed
        cats: tuple[Category, ...] = () if final is None else ("solved",) if final else ("unsolved",)
        return Outcome(categories=cats, by_round=None, final=final, step_verdicts=None)
    rounds = tuple(verdicts.by_round)
    final, first = rounds[-1], rounds[0]
    found: list[Category] = ["solved" if final else "unsolved"]
    if final and not first:
        found.append("fixed")
    if first and not final:
        found.append("broken")
    return Outcome(categories=tuple(found), by_round=rounds, final=final, step_verdicts=tuple(verdicts.steps))
