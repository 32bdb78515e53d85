"""Bench metrics: pass@k by round, repair against resampling at equal model calls and at equal
tokens, flip rates, cost per solve; every estimate with its 95% interval (``intervals.py``).

A trajectory's score "at round r" is what a run stopped after round r would have scored: the
hidden-test verdict of the answer the graph would have picked from the steps up to round r
(``codemend.benchmarks.hidden.by_round``). Trajectories that ended on an infrastructure error,
or whose scoring failed, are counted apart, never as failures.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from codemend.benchmarks.equal_tokens import EqualTokens, Pool, equal_tokens
from codemend.benchmarks.intervals import Estimate, ProblemBootstrap, not_enough
from codemend.benchmarks.passk import mean_pass_at_k, pass_at_k
from codemend.benchmarks.speed import SpeedSummary, summarise_speed
from codemend.optimise import Correctness, Speed
from codemend.records import SpeedMeasurement, TrajectoryRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class Flips:
    """What the repair of round r did to the answers (CTRL, Xie et al. 2025): the share of scored
    trajectories whose answer went from passing the hidden tests to failing them, and back."""

    pass_to_fail: Estimate
    fail_to_pass: Estimate
    pass_to_fail_count: int
    fail_to_pass_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchSummary:
    rounds: int
    samples: int
    problems: int
    """Problems with at least one finished trajectory."""
    scored_problems: int
    """Problems with at least one scored trajectory (the pass@k denominators)."""
    trajectories: int
    infrastructure_errors: int
    """Trajectories stopped by a failing endpoint or sandbox: not scored, not failures."""
    unscored: int
    """Trajectories whose hidden-test scoring failed in the sandbox: not scored either."""
    pass_at_k_by_round: dict[int, dict[int, float]]
    passing_by_round: dict[int, int]
    """Scored trajectories whose answer after round r passes the hidden tests."""
    generator_tokens_by_round: dict[int, float]
    """Mean generator tokens (prompt + completion) a trajectory spent up to round r."""
    repair_pass1: float | None
    resample_budget: int
    """R + 1: the model calls a repair run of R rounds may make."""
    resample_pass: float | None
    """pass@(R+1) over independent round-0 samples; None with fewer than R+1 samples."""
    resample_tokens: float
    """What R+1 independent first attempts cost: (R+1) x the mean round-0 generator tokens."""
    tokens_per_trajectory: float = 0.0
    """Mean tokens of a whole trajectory, generator and LLM critic together."""
    solved: int = 0
    tokens_per_solved: float | None = None
    wall_s_per_solved: float | None = None
    feedback_tests: str = "visible"
    context_length_stops: int = 0
    """Scored trajectories that stopped because a prompt no longer fit the model's context."""
    infrastructure_causes: dict[str, int] = field(default_factory=dict)
    """Why the infrastructure errors happened: each distinct cause with its count, commonest first."""
    speed: SpeedSummary | None = None
    """``--objective speed``: %Opt, mean speedup, best@k, by round (``benchmarks/speed.py``)."""
    pass_at_k_ci_by_round: dict[int, dict[int, Estimate]] = field(default_factory=dict)
    """Every pass@k of ``pass_at_k_by_round`` with its 95% interval."""
    repair_ci: Estimate | None = None
    """Repair's pass@1 after R rounds, with its interval."""
    resample_ci: Estimate | None = None
    """pass@(R+1) of independent first attempts, with its interval."""
    repair_minus_resample: Estimate | None = None
    """The two above at equal model calls: repair - resampling, paired over problems."""
    equal_tokens: EqualTokens | None = None
    """Repair against resampling at equal tokens (``equal_tokens.py``); None without repair rounds."""
    flips_by_round: dict[int, Flips] = field(default_factory=dict)
    """Per repair round r >= 1: what it did to the answers of round r - 1."""
    breakdown: Breakdown | None = None
    """``--by KEY``: this summary per value of a metadata key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Breakdown:
    key: str
    groups: dict[str, BenchSummary]
    """Per value of ``key`` (in the report's order), the summary of that value's problems."""


_RETRY_PREFIX = re.compile(r"gave up after \d+ attempt\(s\) in [\d.]+s: ")
_CAUSE_CHARS = 200


def infrastructure_cause(t: TrajectoryRecord) -> str:
    """What ended ``t`` on an infrastructure error, without the counts that differ per run."""
    error = next((s.error for s in reversed(t.steps) if s.error), None) or "unknown (no step recorded it)"
    cause = " ".join(_RETRY_PREFIX.sub("", error).split())
    return cause if len(cause) <= _CAUSE_CHARS else cause[:_CAUSE_CHARS] + "..."


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _gen_tokens(t: TrajectoryRecord, r: int) -> int:
    return sum(s.tokens_in + s.tokens_out for s in t.steps[: r + 1])


def summarise(
    trajectories: Sequence[TrajectoryRecord],
    hidden_by_round: Mapping[str, Sequence[bool]],
    *,
    rounds: int,
    samples: int,
    feedback_tests: str = "visible",
    objective: Correctness | Speed | None = None,
    measured: Mapping[str, Sequence[SpeedMeasurement | None]] | None = None,
    seed: int = 0,
) -> BenchSummary:
    """``hidden_by_round[trajectory_id]``: the hidden verdict after each round 0..``rounds``;
    ``seed``: of the bootstrap and of the orders pass@tokens averages over."""
    finished = [t for t in trajectories if t.status != "infrastructure_error"]
    scored = [t for t in finished if len(hidden_by_round.get(t.trajectory_id, ())) == rounds + 1]
    by_problem: dict[str, list[TrajectoryRecord]] = defaultdict(list)
    for t in sorted(scored, key=lambda t: (t.problem.id, t.sample_index)):
        by_problem[t.problem.id].append(t)
    ks = list(range(1, samples + 1))

    def counts(r: int) -> list[tuple[int, int]]:
        return [(len(ts), sum(hidden_by_round[t.trajectory_id][r] for t in ts)) for ts in by_problem.values()]

    by_round = {r: mean_pass_at_k(counts(r), ks) for r in range(rounds + 1)}
    passing = {r: sum(hidden_by_round[t.trajectory_id][r] for t in scored) for r in range(rounds + 1)}
    budget = rounds + 1
    solved = passing[rounds]
    tokens = [t.tokens_in + t.tokens_out for t in scored]
    first = _mean([_gen_tokens(t, 0) for t in scored])
    return BenchSummary(
        rounds=rounds,
        samples=samples,
        problems=len({t.problem.id for t in trajectories}),
        scored_problems=len(by_problem),
        trajectories=len(trajectories),
        infrastructure_errors=len(trajectories) - len(finished),
        unscored=len(finished) - len(scored),
        pass_at_k_by_round=by_round,
        passing_by_round=passing,
        generator_tokens_by_round={r: _mean([_gen_tokens(t, r) for t in scored]) for r in range(rounds + 1)},
        repair_pass1=by_round[rounds].get(1),
        resample_budget=budget,
        resample_pass=mean_pass_at_k(counts(0), [budget]).get(budget),
        resample_tokens=budget * first,
        tokens_per_trajectory=_mean(tokens),
        context_length_stops=sum(t.stop_reason == "context_length" for t in scored),
        solved=solved,
        # what a solve costs: everything spent (failed attempts included) per solved trajectory
        tokens_per_solved=sum(tokens) / solved if solved else None,
        wall_s_per_solved=sum(t.wall_s for t in scored) / solved if solved else None,
        feedback_tests=feedback_tests,
        infrastructure_causes=dict(
            Counter(
                infrastructure_cause(t) for t in trajectories if t.status == "infrastructure_error"
            ).most_common()
        ),
        speed=summarise_speed(scored, hidden_by_round, measured or {}, rounds=rounds, samples=samples)
        if isinstance(objective, Speed)
        else None,
        **_uncertain(by_problem, hidden_by_round, rounds=rounds, samples=samples, seed=seed),
    )


def round_costs(t: TrajectoryRecord, rounds: int) -> list[int]:
    """Per round r, the tokens spent to have the answer of round r: the generator's prompt and
    completion of steps 0..r, and an LLM critic's tokens of steps 0..r-1 (the critiques behind
    step r). A trajectory that stopped early keeps its last answer, and cost, for later rounds."""
    out, spent, critic = [], 0, 0
    for r in range(rounds + 1):
        if r < len(t.steps):
            step = t.steps[r]
            spent += step.tokens_in + step.tokens_out + critic
            critic = step.critique.llm_tokens_in + step.critique.llm_tokens_out if step.critique else 0
        out.append(spent)
    return out


def _uncertain(
    by_problem: Mapping[str, Sequence[TrajectoryRecord]],
    hidden_by_round: Mapping[str, Sequence[bool]],
    *,
    rounds: int,
    samples: int,
    seed: int,
) -> dict[str, Any]:
    """The fields of ``BenchSummary`` with intervals: one bootstrap of the problems for them all."""
    verdicts = [[list(hidden_by_round[t.trajectory_id]) for t in ts] for ts in by_problem.values()]
    boot = ProblemBootstrap(len(verdicts), seed=seed)

    def passk(r: int, k: int) -> list[float]:
        return [pass_at_k(len(vs), sum(v[r] for v in vs), k) for vs in verdicts]

    enough = {k for k in range(1, samples + 1) if verdicts and all(len(vs) >= k for vs in verdicts)}
    budget = rounds + 1
    repair = boot.estimate(passk(rounds, 1)) if verdicts else not_enough(0, "no scored problem")
    if budget in enough:
        paired = [a - b for a, b in zip(passk(rounds, 1), passk(0, budget), strict=True)]
        resample, difference = boot.estimate(passk(0, budget)), boot.estimate(paired, proportion=False)
    else:
        resample = difference = not_enough(len(verdicts), f"needs --samples >= {budget}")
    pools = [
        Pool(pid, [round_costs(t, rounds) for t in ts], [list(hidden_by_round[t.trajectory_id]) for t in ts])
        for pid, ts in by_problem.items()
    ]
    return {
        "pass_at_k_ci_by_round": {
            r: {k: boot.estimate(passk(r, k)) for k in sorted(enough)} for r in range(rounds + 1)
        },
        "repair_ci": repair,
        "resample_ci": resample,
        "repair_minus_resample": difference,
        "equal_tokens": equal_tokens(pools, boot, seed=seed) if rounds else None,
        "flips_by_round": {r: _flips(verdicts, r, boot) for r in range(1, rounds + 1)},
    }


def _flips(verdicts: Sequence[Sequence[Sequence[bool]]], r: int, boot: ProblemBootstrap) -> Flips:
    def share(before: bool, after: bool) -> list[float]:
        return [_mean([float(v[r - 1] == before and v[r] == after) for v in vs]) for vs in verdicts]

    def count(before: bool, after: bool) -> int:
        return sum(v[r - 1] == before and v[r] == after for vs in verdicts for v in vs)

    return Flips(
        pass_to_fail=boot.estimate(share(True, False)),
        fail_to_pass=boot.estimate(share(False, True)),
        pass_to_fail_count=count(True, False),
        fail_to_pass_count=count(False, True),
    )
