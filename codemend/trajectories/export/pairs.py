"""Preference pairs for ``dpo`` and ``openai-dpo``.

1. **Siblings**: attempts of the same task from the same state (the same messages sent, e.g.
   the samples of one task, or several repairs of one failure) are grouped; within a group the
   n-th passing attempt is paired with the n-th failing one (each attempt used once).
2. **Fallback**: a trajectory none of whose attempts was paired, whose first attempt failed and
   whose last passed, gives (task-only prompt, chosen = the last reply, rejected = the first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from codemend.records import Message, TrajectoryRecord
from codemend.trajectories.export.attempts import Attempt, assistant, attempts, chat, final_attempt
from codemend.trajectories.export.formats import Built
from codemend.trajectories.export.rows import DpoRow, OpenAIDpoRow
from codemend.trajectories.export.select import Row


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    prompt: list[Message]
    chosen: Attempt
    rejected: Attempt
    rule: str  # "sibling" | "fallback"


def preference_pairs(trajectories: Iterable[TrajectoryRecord]) -> tuple[list[Pair], int]:
    """The pairs, in the order their chosen attempts were made; and how many were withheld
    because their prompt would have shown hidden tests."""
    trajectories = list(trajectories)
    groups: dict[str, list[Attempt]] = {}
    for t in trajectories:
        for a in attempts(t):
            groups.setdefault(a.state.key, []).append(a)
    pairs, withheld = [], 0
    paired: set[str] = set()
    for group in groups.values():
        passing = [a for a in group if a.passed]
        failing = [a for a in group if not a.passed]
        for chosen, rejected in zip(passing, failing, strict=False):
            paired.update({chosen.state.trajectory.trajectory_id, rejected.state.trajectory.trajectory_id})
            if not (chosen.state.clean and rejected.state.clean):
                withheld += 1
                continue
            pairs.append(Pair(prompt=chosen.state.messages, chosen=chosen, rejected=rejected, rule="sibling"))
    for t in trajectories:
        if t.trajectory_id in paired:
            continue
        pair = _fallback(t)
        if pair is not None and not pair.rejected.state.clean:
            withheld += 1
        elif pair is not None:
            pairs.append(pair)
    return pairs, withheld


def _fallback(t: TrajectoryRecord) -> Pair | None:
    tried = attempts(t)
    last = final_attempt(t)
    if not tried or last is None or not last.passed or tried[0].passed:
        return None
    first = tried[0]
    if first.state.step.parent is not None:  # the first tested attempt was not on the task prompt
        return None
    return Pair(prompt=first.state.messages, chosen=last, rejected=first, rule="fallback")


def _row(pair: Pair, data: dict[str, object]) -> Row:
    return Row(
        task_id=pair.chosen.task_id,
        data=data,
        dedup_codes=(pair.chosen.code, pair.rejected.code),
        rank=pair.chosen.reward - pair.rejected.reward,
        meta={"rule": pair.rule},
    )


def dpo_rows(trajectories: Iterable[TrajectoryRecord]) -> Built:
    """One DPO row (``prompt``, ``chosen``, ``rejected``) per preference pair, with how many pairs
    were withheld because their prompt showed hidden tests."""
    pairs, withheld = preference_pairs(trajectories)
    rows = []
    for pair in pairs:
        data = DpoRow.model_validate(
            {
                "prompt": chat(pair.prompt),
                "chosen": assistant(pair.chosen.reply),
                "rejected": assistant(pair.rejected.reply),
                "chosen_structure": pair.chosen.structure,
                "rejected_structure": pair.rejected.structure,
            }
        )
        rows.append(_row(pair, data.model_dump()))
    return Built(rows=rows, withheld=withheld)


def openai_dpo_rows(trajectories: Iterable[TrajectoryRecord]) -> Built:
    """``dpo_rows`` in OpenAI's preference fine-tuning format (``input``, ``preferred_output``,
    ``non_preferred_output``)."""
    pairs, withheld = preference_pairs(trajectories)
    rows = []
    for pair in pairs:
        data = OpenAIDpoRow.model_validate(
            {
                "input": {"messages": chat(pair.prompt)},
                "preferred_output": assistant(pair.chosen.reply),
                "non_preferred_output": assistant(pair.rejected.reply),
            }
        )
        rows.append(_row(pair, data.model_dump()))
    return Built(rows=rows, withheld=withheld)
