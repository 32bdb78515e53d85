"""``codemend.optimise.objective``: the objective is one value, with its settings and behaviour,
read the same way from the API, the command line, stored run settings and RL rows."""

from __future__ import annotations

import subprocess
import sys

import pytest
from optimise_helpers import ROOT

from codemend.benchmarks import BenchSpec
from codemend.errors import UserError
from codemend.optimise import Correctness, Speed, as_objective, objective_named, speed_objective
from codemend.records import Critique, SpeedMeasurement, StepRecord, TestReport, TestResult
from codemend.rewards import objective_of


def _step(index: int, passed: bool, speedup: float | None = None, verdict: str = "faster") -> StepRecord:
    result = TestResult(index=0, kind="assert", visibility="visible", status="passed" if passed else "failed")
    m = None
    if speedup is not None:
        m = SpeedMeasurement(contained=True, verdict=verdict, speedup=speedup)  # type: ignore[arg-type]
    return StepRecord(
        index=index,
        kind="generate" if index == 0 else "repair",
        messages=[],
        code=f"# {index}",
        report=TestReport(results=[result]),
        critique=Critique(feedback="", constraints=[], score=1.0),
        measurement=m,
        reward=1.0 if passed else 0.0,
    )


def test_names_settings_and_values_make_the_same_objective() -> None:
    assert as_objective("speed") == Speed() and as_objective("correctness") == Correctness()
    given = Speed(cost="instructions", repetitions=3)
    assert as_objective(given) is given
    assert as_objective(given.model_dump()) == given
    assert Speed.model_validate_json(given.model_dump_json()) == given  # JSON, Ray, run settings
    assert speed_objective(cost="instructions", alpha=0.01).alpha == 0.01


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("fast", "objective must be 'correctness', 'speed' or an objective value"),
        ({"name": "speed", "cost": "cycles"}, "invalid objective (speed.cost"),
        ({"name": "speed", "repetitions": 1}, "invalid objective (speed.repetitions"),
        ({"name": "speed", "alpha": 0}, "invalid objective (speed.alpha"),
    ],
)
def test_a_bad_objective_says_what_is_wrong(value: object, said: str) -> None:
    with pytest.raises(UserError) as caught:
        as_objective(value)
    assert said in str(caught.value)


def test_the_objective_decides_the_answer_the_reward_and_the_stop() -> None:
    steps = [_step(0, True, 1.2), _step(1, True, 3.0), _step(2, False), _step(3, True, 0.5, "slower")]
    assert Correctness().answer_index(steps) == 3  # the latest passing one
    assert Speed().answer_index(steps) == 1  # the largest credited speedup
    assert Speed().solved(steps[1]) and not Correctness().solved(steps[2])
    assert Correctness().step_reward(steps[1], 0.25) == 0.25  # the tests' reward, untouched
    assert Speed().step_reward(steps[2], 1.0) == 0.0 and Speed().step_reward(steps[1], 0.0) > 0.5
    assert Speed().final_reward(steps[1], 1.0, hidden_ok=False) == 0.0  # gated on the hidden tests
    assert objective_named("speed").measures and not objective_named("correctness").measures


def test_runs_stored_before_the_objective_was_a_value_still_read() -> None:
    old = {"benchmark": "jsonl", "objective": "speed", "speed_repetitions": 7}
    assert BenchSpec.model_validate(old).objective == Speed(repetitions=7)
    plain = {"benchmark": "jsonl", "objective": "correctness", "speed_repetitions": 10}
    assert BenchSpec.model_validate(plain).objective == Correctness()
    spec = BenchSpec(benchmark="jsonl", objective=Speed(cost="instructions"))
    assert BenchSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_rl_rows_name_the_objective_and_its_cost() -> None:
    assert objective_of(None) == Correctness()
    assert objective_of({"objective": "speed", "cost": "instructions"}) == Speed(cost="instructions")
    assert objective_of({"objective": "speed"}) == Speed()
    with pytest.raises(UserError, match="extra_info must be a mapping"):
        objective_of([1])
    with pytest.raises(UserError, match="invalid objective"):
        objective_of({"objective": "speed", "cost": "cycles"})


@pytest.mark.parametrize("command", ["solve", "bench"])
def test_solve_and_bench_name_each_knob_alike(command: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "codemend", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stderr
    for flag in ("--objective", "--cost", "--repetitions", "--alpha", "--min-speedup"):
        assert flag in out.stdout, (command, flag)
    assert "--speed-repetitions" not in out.stdout
