"""Bench metrics against hand-computed values: pass@k by round, the resampling baseline, costs."""

from __future__ import annotations

from math import comb

import pytest

from codemend.benchmarks.metrics import round_costs, summarise
from codemend.benchmarks.report import summary_lines
from codemend.benchmarks.spec import BenchSpec
from codemend.problems import Problem
from codemend.trajectories import Critique, StepRecord, TrajectoryRecord

P = {pid: Problem(id=pid, prompt="", entry_point="f") for pid in ("a", "b")}


def traj(
    pid: str, sample: int, steps: int, *, status: str = "unsolved", wall: float = 1.0
) -> TrajectoryRecord:
    records = [
        StepRecord(index=i, kind="repair" if i else "generate", messages=[], tokens_in=100, tokens_out=50)
        for i in range(steps)
    ]
    return TrajectoryRecord(
        trajectory_id=f"r:{pid}:{sample}",
        run_id="r",
        problem=P[pid],
        sample_index=sample,
        status=status,  # type: ignore[arg-type]
        stop_reason="infrastructure" if status == "infrastructure_error" else "max_rounds",
        steps=records,
        tokens_in=100 * steps + 7,  # +7: an LLM critic's share
        tokens_out=50 * steps,
        wall_s=wall,
    )


def test_pass_at_k_by_round_and_the_budget_matched_baseline() -> None:
    # problem a: 4 samples, round 0 passes 1 of 4, round 1 passes 3 of 4 (R = 1)
    # problem b: 4 samples, round 0 passes 0, round 1 passes 1
    a = [traj("a", i, 2) for i in range(4)]
    b = [traj("b", i, 2) for i in range(4)]
    verdicts = {
        "r:a:0": [True, True], "r:a:1": [False, True], "r:a:2": [False, True], "r:a:3": [False, False],
        "r:b:0": [False, True], "r:b:1": [False, False], "r:b:2": [False, False], "r:b:3": [False, False],
    }  # fmt: skip
    s = summarise([*a, *b], verdicts, rounds=1, samples=4)
    assert s.pass_at_k_by_round[0] == pytest.approx(
        {
            1: (1 / 4 + 0) / 2,
            2: (1 - comb(3, 2) / comb(4, 2)) / 2,
            3: (1 - comb(3, 3) / comb(4, 3)) / 2,
            4: 1 / 2,
        }
    )
    assert s.pass_at_k_by_round[1][1] == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert s.pass_at_k_by_round[1][2] == pytest.approx((1 + (1 - comb(3, 2) / comb(4, 2))) / 2)
    assert s.repair_pass1 == pytest.approx(0.5)
    # resampling with the same 2 model calls: pass@2 over the round-0 samples
    assert s.resample_budget == 2 and s.resample_pass == pytest.approx((1 - 3 / 6) / 2)
    assert s.resample_tokens == 2 * 150 and s.generator_tokens_by_round == {0: 150, 1: 300}
    assert s.passing_by_round == {0: 1, 1: 4} and s.solved == 4
    assert s.tokens_per_trajectory == 307 and s.tokens_per_solved == pytest.approx(8 * 307 / 4)
    assert s.wall_s_per_solved == pytest.approx(8 / 4)


def test_infrastructure_errors_and_unscored_are_apart_not_failures() -> None:
    ok = traj("a", 0, 1)
    broken = traj("a", 1, 1, status="infrastructure_error")
    unscored = traj("b", 0, 1)  # its scoring failed: no verdicts
    s = summarise([ok, broken, unscored], {"r:a:0": [True], "r:a:1": [False]}, rounds=0, samples=2)
    assert s.infrastructure_errors == 1 and s.unscored == 1 and s.trajectories == 3
    assert s.problems == 2 and s.scored_problems == 1
    # problem a has one scored sample: pass@2 cannot be estimated and is left out, not guessed
    assert s.pass_at_k_by_round == {0: {1: 1.0}}
    assert s.resample_pass == 1.0  # R = 0: resampling is pass@1 itself
    assert s.solved == 1


def test_early_stop_keeps_its_answer_for_later_rounds() -> None:
    early = traj("a", 0, 1)  # solved at round 0: later rounds score the same answer
    s = summarise([early], {"r:a:0": [True, True, True]}, rounds=2, samples=1)
    assert s.pass_at_k_by_round == {0: {1: 1.0}, 1: {1: 1.0}, 2: {1: 1.0}}
    assert s.generator_tokens_by_round == {0: 150, 1: 150, 2: 150}
    assert s.resample_tokens == 3 * 150 and s.resample_pass is None


def test_a_context_length_stop_is_scored_and_counted() -> None:
    """Unlike an infrastructure error it stays in the denominators: the model had no answer to give."""
    stopped = traj("a", 0, 2).model_copy(update={"stop_reason": "context_length"})
    other = traj("a", 1, 1)
    s = summarise([stopped, other], {"r:a:0": [False, False], "r:a:1": [True, True]}, rounds=1, samples=2)
    assert s.infrastructure_errors == 0 and s.context_length_stops == 1
    assert s.pass_at_k_by_round[1][1] == pytest.approx(0.5)
    lines = summary_lines(BenchSpec(benchmark="humaneval", rounds=1), s)
    assert any("1 scored trajectories stopped when a prompt no longer fit" in line for line in lines)


def test_flip_rates_count_what_each_repair_did_to_the_answers() -> None:
    # twelve problems, one sample each, R = 2: four fixed at round 1, two broken at round 2
    plans = [[False, True, True], [False, True, False], [True, True, True], [False, False, False]]
    plans = 2 * [*plans, [True, True, True], [False, False, True]]
    ids = [f"p{i:02}" for i in range(12)]
    problems = {pid: Problem(id=pid, prompt="", entry_point="f") for pid in ids}
    trajectories = [
        traj("a", 0, 3).model_copy(update={"problem": problems[pid], "trajectory_id": pid}) for pid in ids
    ]
    s = summarise(trajectories, dict(zip(ids, plans, strict=True)), rounds=2, samples=1)
    one, two = s.flips_by_round[1], s.flips_by_round[2]
    assert (one.fail_to_pass_count, one.pass_to_fail_count) == (4, 0)
    assert (two.fail_to_pass_count, two.pass_to_fail_count) == (2, 2)
    assert one.fail_to_pass.value == pytest.approx(2 / 6) and two.pass_to_fail.value == pytest.approx(1 / 6)
    assert one.pass_to_fail.low == 0.0 and one.pass_to_fail.high == pytest.approx(1 - 0.025 ** (1 / 12))
    assert all(e.known for r in s.pass_at_k_ci_by_round.values() for e in r.values())


def test_the_cost_of_a_rounds_answer_counts_the_critiques_that_led_to_it() -> None:
    t = traj("a", 0, 2)
    critique = Critique(constraints=[], feedback="", score=0.0, llm_tokens_in=30, llm_tokens_out=5)
    t = t.model_copy(update={"steps": [s.model_copy(update={"critique": critique}) for s in t.steps]})
    # round 0: its generation; round 1: + the critique of step 0 + step 1; round 2: stopped early
    assert round_costs(t, 2) == [150, 150 + 35 + 150, 335]
