"""``codemend.optimise.workload`` on the real sandbox: which inputs the model may see, fresh
generated inputs per measurement, and a problem whose generator or reference misbehaves being that
problem's clear error."""

from __future__ import annotations

from typing import Any

import pytest
from optimise_helpers import example, fast_solution

from codemend.errors import ProblemError
from codemend.optimise import Speed, baseline_note, measure_speed, measured_reward, prepare_workload
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

NAIVE_FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
FAST_FIB = "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
QUICK = Speed(repetitions=6)
GENERATE_21_TO_23 = "import random\n\ndef generate(seed):\n    return [random.Random(seed).randint(21, 23)]\n"


def fib_problem(**update: Any) -> Problem:
    """fib with a visible performance input (shown to the model) and generated hidden ones that
    never equal it."""
    data: dict[str, Any] = {
        "id": "fib",
        "prompt": "Write fib(n).",
        "entry_point": "fib",
        "tests": [{"code": "assert fib(10) == 55"}],
        "reference_solution": NAIVE_FIB,
        "perf_tests": [{"call": "fib(24)", "visibility": "visible"}],
        "perf_generator": GENERATE_21_TO_23,
    }
    return Problem.model_validate({**data, **update})


def test_perf_inputs_are_hidden_unless_a_file_says_otherwise() -> None:
    problem = example("fib")
    assert [t.visibility for t in problem.perf_tests] == ["hidden"]
    note = baseline_note(problem, reference=True)
    assert "fib(28)" not in note and "1 hidden input(s)" in note and "generated afresh" in note


def test_the_loop_sees_visible_inputs_and_the_reward_only_hidden_ones(sandbox: LocalSandbox) -> None:
    problem = fib_problem()
    loop = prepare_workload(sandbox, problem, NAIVE_FIB, hidden=False, seed=3)
    hidden = prepare_workload(sandbox, problem, NAIVE_FIB, hidden=True, seed=3)
    assert loop.inputs == ["fib(24)", "a freshly generated input"] and not loop.hidden
    assert hidden.inputs == ["a freshly generated input"] and hidden.hidden
    assert all("fib(24)" not in t.code for t in hidden.tests if t.kind == "assert")
    assert "`fib(24)`" in baseline_note(problem, reference=True)


def test_each_measurement_draws_its_own_input_from_a_recorded_seed(sandbox: LocalSandbox) -> None:
    problem = fib_problem()
    seeds = {prepare_workload(sandbox, problem, NAIVE_FIB, hidden=True).seed for _ in range(4)}
    assert len(seeds) > 1 and None not in seeds
    work = prepare_workload(sandbox, problem, NAIVE_FIB, hidden=True, seed=7)
    m = measure_speed(sandbox, work, NAIVE_FIB, FAST_FIB, QUICK)
    assert m.seed == 7 and m.hidden and m.verdict == "faster"


def test_memorising_the_shown_input_scores_no_more_than_the_reference(sandbox: LocalSandbox) -> None:
    """The attack of issue 23: an answer table for the input the model was shown, naive elsewhere."""
    problem = fib_problem()
    memo = "def fib(n):\n    if n == 24:\n        return 46368\n" + NAIVE_FIB.split("\n", 1)[1]
    loop = prepare_workload(sandbox, problem, NAIVE_FIB, hidden=False, seed=11)
    assert measure_speed(sandbox, loop, NAIVE_FIB, memo, QUICK).verdict == "faster"  # it did fool the loop
    for seed in (11, 12, 13):
        work = prepare_workload(sandbox, problem, NAIVE_FIB, hidden=True, seed=seed)
        m = measure_speed(sandbox, work, NAIVE_FIB, memo, QUICK)
        assert m.verdict in ("same", "slower") and measured_reward(m, True) <= 0.5, (seed, m.speedup)
    real = measure_speed(
        sandbox, prepare_workload(sandbox, problem, NAIVE_FIB, hidden=True), NAIVE_FIB, FAST_FIB, QUICK
    )
    assert real.verdict == "faster" and measured_reward(real, True) > 0.5


def test_an_identical_program_is_no_speedup(sandbox: LocalSandbox) -> None:
    work = prepare_workload(sandbox, fib_problem(), NAIVE_FIB, hidden=True)
    m = measure_speed(sandbox, work, NAIVE_FIB, NAIVE_FIB, QUICK)
    assert m.verdict == "same" and measured_reward(m, True) == 0.5


def test_a_file_without_hidden_inputs_or_generator_falls_back_to_the_visible_ones(
    sandbox: LocalSandbox,
) -> None:
    problem = fib_problem(perf_generator=None)
    work = prepare_workload(sandbox, problem, NAIVE_FIB, hidden=True)
    assert not work.hidden and work.inputs == ["fib(24)"]  # and the measurement says so


BAD_GENERATORS = {
    "raises": (
        "def generate(seed):\n    raise RuntimeError('no input today')\n",
        "RuntimeError: no input today",
    ),
    "hangs": ("def generate(seed):\n    while True:\n        pass\n", "timeout"),
    "returns a non-sequence": ("def generate(seed):\n    return 5\n", "not a list or tuple"),
    "returns live objects": ("def generate(seed):\n    return [object()]\n", "not plain data"),
    "makes inputs the reference fails on": ("def generate(seed):\n    return [-1]\n", "ValueError"),
}


@pytest.mark.parametrize("how", list(BAD_GENERATORS))
def test_a_bad_generator_is_that_problems_error(sandbox: LocalSandbox, how: str) -> None:
    source, said = BAD_GENERATORS[how]
    reference = (
        "def fib(n):\n    if n < 0:\n        raise ValueError('negative')\n" + NAIVE_FIB.split("\n", 1)[1]
    )
    problem = fib_problem(perf_generator=source, time_limit_s=1, reference_solution=reference)
    with pytest.raises(ProblemError) as caught:
        prepare_workload(sandbox, problem, reference, hidden=True, seed=4)
    message = str(caught.value)
    assert message.startswith("problem fib: the input generator or the baseline failed on seed 4"), message
    assert said in message


def test_a_generator_must_define_generate_and_needs_an_entry_point() -> None:
    with pytest.raises(ValueError, match="must define a function `generate"):
        fib_problem(perf_generator="def make(seed):\n    return [1]\n")
    with pytest.raises(ValueError, match="needs an entry_point"):
        Problem.model_validate(
            {"id": "p", "prompt": "", "tests": [], "perf_generator": "def generate(seed):\n    return []\n"}
        )


def test_the_example_generators_run_and_the_fast_solutions_stay_correct(sandbox: LocalSandbox) -> None:
    for problem_id in ("dedupe", "pair_count", "most_common_word", "has_duplicate"):
        problem = example(problem_id)
        reference = problem.reference_solution or ""
        work = prepare_workload(sandbox, problem, reference, hidden=True, seed=99)
        assert sandbox.run(work.problem, fast_solution(problem_id), work.tests).passed, problem_id
