"""``--feedback trace`` through the repair graph: the scripted endpoint, the real sandbox. The
trace of the first failing visible test reaches the repair prompt (the hidden tests never do),
is recorded per step, and a hostile candidate's trace never crashes a step nor changes a verdict."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from repair_helpers import HIDDEN_MARK, WRONG, fenced, sent_text
from scripted_server import ScriptedServer

from codemend import SolveResult, asolve
from codemend.agents import TRACE_TOKEN_BUDGET
from codemend.errors import UserError
from codemend.llm import LLMSettings
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["llm_fixtures", "repair_fixtures"]

LOOPING = "def square(x):\n    total = 0\n    for i in range(x):\n        total += i\n    return total\n"


def run(problem: Problem, settings: LLMSettings, sandbox: Any, **options: Any) -> SolveResult:
    return asyncio.run(asolve(problem, llm=settings, sandbox=sandbox, **options))


def test_the_trace_reaches_the_repair_prompt_and_the_hidden_tests_do_not(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(LOOPING), fenced(WRONG))
    result = run(square, llm_settings, sandbox, rounds=1, feedback="trace")
    first, second = result.steps
    assert first.critique is not None and first.critique.trace is not None
    trace = first.critique.trace
    assert trace.available and trace.test_index == 0
    assert [b.lines for b in trace.blocks][:2] == [[2, 3, 4], [3, 4]]
    assert trace.text.startswith("Execution trace of `assert square(3) == 9` in your code")
    assert "[1] square, lines 2-4: x=3, total=0, i=0\n          total = 0\n" in trace.text
    assert trace.text.endswith("Where it diverged: the test expected 9, got 3.")
    assert len(trace.text) <= TRACE_TOKEN_BUDGET * 4
    repair_prompt = scripted.requests[1].body["messages"][-1]["content"]
    assert trace.text in repair_prompt and first.critique.feedback in repair_prompt
    sent = sent_text(scripted.requests)
    assert HIDDEN_MARK not in sent and "square(4)" not in sent
    # the second step fails too: traced as well; its verdicts are the visible run's
    assert second.critique is not None and second.critique.trace is not None
    assert second.report is not None and [r.status for r in second.report.results] == ["failed"] * 2


def test_feedback_tests_asks_for_no_trace(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced(LOOPING))
    result = run(square, llm_settings, sandbox, rounds=0)
    assert result.steps[0].critique is not None and result.steps[0].critique.trace is None
    assert "Execution trace" not in result.steps[0].critique.feedback


def test_a_hostile_candidate_gets_a_step_with_its_verdicts(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    hostile = (
        "import sys, time\n"
        "class Nine:\n"
        "    def __repr__(self):\n"
        "        time.sleep(10**6)\n"
        "def square(x):\n"
        "    sys.settrace(None)\n"
        "    fake = Nine()\n"
        "    return x + 1\n"
    )
    scripted.queue(fenced(hostile))
    result = run(square, llm_settings, sandbox, rounds=0, feedback="trace")
    (step,) = result.steps
    assert step.error is None and step.report is not None
    assert [r.status for r in step.report.results] == ["failed"] * 2
    assert step.critique is not None and step.critique.trace is not None
    assert result.stop_reason == "max_rounds"


def test_nothing_to_trace_is_recorded_as_not_available(
    square: Problem, scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    scripted.queue(fenced("def square(x) return x\n"))
    result = run(square, llm_settings, sandbox, rounds=0, feedback="trace")
    trace = result.steps[0].critique.trace  # type: ignore[union-attr]
    assert trace is not None and not trace.available
    assert trace.reason == "the code does not parse (SyntaxError)"


def test_an_unknown_feedback_mode_is_a_user_error(square: Problem, llm_settings: LLMSettings) -> None:
    with pytest.raises(UserError, match="feedback must be one of tests, trace, got 'traces'"):
        run(square, llm_settings, None, feedback="traces")
