"""``problem_from_row``: a dataset row names its problem by its ground truth, wherever the framework
puts it."""

from __future__ import annotations

import pytest
from trajectory_data import SQUARE

from codemend.env import problem_from_row
from codemend.env.rows import ground_truth
from codemend.errors import UserError


def test_rows_name_their_problem() -> None:
    truth = ground_truth(SQUARE)
    for row in (
        {"ground_truth": truth},
        {"reward_spec": {"ground_truth": truth}},
        {"reward_model": {"ground_truth": truth}},
    ):
        assert problem_from_row(row) == SQUARE
    with pytest.raises(UserError, match="ground_truth"):
        problem_from_row({"prompt": []})
