"""``bench --by KEY``: every metric per value of a problem metadata key (the survey's APPS table:
pass@1 and pass@5 per difficulty).

Problems are grouped by the value their ``metadata`` holds for the key, read from the problems the
run was given (so a run stored before the loaders kept metadata breaks down as well); a problem
without the key is in the group ``(none)``. ``language`` is every problem's own language
(``Problem.language``) unless its metadata holds that key. Each group is summarised on its own,
with a bootstrap of its own problems (seeded from the run's seed and the group's name).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from pydantic import JsonValue

from codemend.benchmarks.intervals import derived_seed
from codemend.benchmarks.metrics import BenchSummary, Breakdown
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.records import TrajectoryRecord

UNSET = "(none)"
LANGUAGE_KEY = "language"
_ORDERS = (("introductory", "interview", "competition"), ("easy", "medium", "hard"))
"""Values read in their own order rather than alphabetically (APPS, LiveCodeBench)."""


def label(value: JsonValue) -> str:
    """A metadata value as a group name: a string as it is, anything else as sorted JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def group_of(problem: Problem, key: str) -> str:
    """The group ``problem`` is in for ``key``: its metadata's value, else for ``language`` its
    own language, else ``(none)``."""
    if key in problem.metadata:
        return label(problem.metadata[key])
    return problem.language if key == LANGUAGE_KEY else UNSET


def check_key(problems: Sequence[Problem], key: str) -> None:
    """A key no selected problem carries is bad input, said with the keys they do carry."""
    if key == LANGUAGE_KEY or any(key in p.metadata for p in problems):
        return
    carried = sorted({k for p in problems for k in p.metadata})
    have = f"they carry: {', '.join(carried)}" if carried else "they carry no metadata at all"
    raise UserError(f"--by {key}: no selected problem has {key!r} in its metadata ({have})")


def groups_of(problems: Sequence[Problem], key: str) -> dict[str, list[str]]:
    """Problem ids per value of ``key``: known orders first (introductory, interview,
    competition; easy, medium, hard), then the others sorted, ``(none)`` last."""
    found: dict[str, list[str]] = {}
    for p in problems:
        found.setdefault(group_of(p, key), []).append(p.id)
    return {name: found[name] for name in sorted(found, key=_rank)}


def _rank(name: str) -> tuple[int, int, str]:
    for order in _ORDERS:
        if name in order:
            return (0, order.index(name), "")
    return (2, 0, "") if name == UNSET else (1, 0, name)


Summarise = Callable[[Sequence[TrajectoryRecord], int], BenchSummary]
"""(the group's trajectories, the group's seed) -> its summary."""


def break_down(
    problems: Sequence[Problem],
    key: str,
    trajectories: Sequence[TrajectoryRecord],
    summarise: Summarise,
    *,
    seed: int,
) -> Breakdown:
    """Every metric per value of ``key``: each group's trajectories summarised by ``summarise``,
    with a seed of its own."""
    named = groups_of(problems, key)
    by_id: Mapping[str, str] = {pid: name for name, ids in named.items() for pid in ids}
    groups: dict[str, BenchSummary] = {}
    for name in named:
        chosen = [t for t in trajectories if by_id.get(t.problem.id) == name]
        groups[name] = summarise(chosen, derived_seed(seed, f"{key}={name}"))
    return Breakdown(key=key, groups=groups)
