"""``--by KEY``: which problems go in which group, in which order, and a key nobody carries."""

from __future__ import annotations

import pytest

from codemend.benchmarks.breakdown import UNSET, check_key, groups_of
from codemend.errors import UserError
from codemend.problems import Problem


def tagged(pid: str, **metadata: object) -> Problem:
    return Problem(id=pid, prompt="", metadata=metadata)


def test_groups_keep_the_sources_own_order_then_sorted_values_then_the_untagged() -> None:
    problems = [
        tagged("1", difficulty="competition"),
        tagged("2", difficulty="introductory"),
        tagged("3"),
        tagged("4", difficulty="interview"),
        tagged("5", difficulty="introductory"),
    ]
    assert groups_of(problems, "difficulty") == {
        "introductory": ["2", "5"],
        "interview": ["4"],
        "competition": ["1"],
        UNSET: ["3"],
    }
    rated = [tagged("a", rating=1800), tagged("b", rating=1200), tagged("c", tags=["dp", "greedy"])]
    assert list(groups_of(rated, "rating")) == ["1200", "1800", UNSET]
    assert groups_of(rated, "tags") == {'["dp", "greedy"]': ["c"], UNSET: ["a", "b"]}


def test_a_key_no_problem_carries_names_the_keys_they_do() -> None:
    nobody = r"--by level: no selected problem has 'level' in its metadata \(they carry: platform, split\)"
    with pytest.raises(UserError, match=nobody):
        check_key([tagged("a", platform="atcoder"), tagged("b", split="test")], "level")
    with pytest.raises(UserError, match="they carry no metadata at all"):
        check_key([tagged("a")], "level")
