"""End to end with the real embedded model (SmolLM2-135M through llama.cpp), nothing configured."""

from __future__ import annotations

import pytest
from repair_helpers import HIDDEN_MARK

from codemend import solve
from codemend.llm import LLMSettings
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["repair_fixtures"]


@pytest.mark.slow
def test_one_small_problem_with_the_embedded_model(square: Problem, sandbox: LocalSandbox) -> None:
    embedded = LLMSettings()  # no endpoint: the embedded model, whatever the environment says
    result = solve(
        square, llm=embedded, sandbox=sandbox, rounds=1, sampling={"max_tokens": 160, "temperature": 0.0}
    )
    t = result.trajectory
    assert t.status in ("solved", "unsolved"), [s.error for s in t.steps]
    assert 1 <= len(t.steps) <= 2 and t.tokens_out > 0
    for step in t.steps:
        assert step.reply and step.report is not None and step.critique is not None
        assert step.reward is not None and 0.0 <= step.reward <= 1.0
        assert all(HIDDEN_MARK not in m.content for m in step.messages)
    assert t.final_reward is not None and t.hidden_report is not None
    assert result.passed == (t.hidden_passed is True and result.stop_reason == "solved")
