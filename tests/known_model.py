"""A model whose per-problem success probabilities and token counts are known, so that the bench's
estimates can be checked against the truth.

Each problem is of a ``Kind``: its first attempt is right with probability ``first``, each repair
with probability ``repair``, and every reply reports the same prompt and completion tokens for a
kind and attempt. Whether an attempt is right is a pure function of (task, request seed, attempt
number), so the scripted endpoint (``KnownModel.policy`` and ``usage`` for ``HumanEvalServer``)
and the in-process simulation (``KnownModel.simulate``) draw the same outcomes: a test checks a
real bench run against the simulation once, then the statistics over many simulated runs.

The problems' kinds are drawn from ``POPULATION`` (uniformly, with replacement), so the truth the
bootstrap over problems estimates is the mean over the population: the closed forms below.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cache

from bench_helpers import Answer

from codemend.benchmarks.equal_tokens import EqualTokens, Pool, equal_tokens
from codemend.benchmarks.intervals import ProblemBootstrap
from codemend.benchmarks.metrics import BenchSummary, round_costs, summarise
from codemend.benchmarks.spec import BenchSpec, sample_seed
from codemend.problems import Problem
from codemend.trajectories import StepRecord, TrajectoryRecord


@dataclass(frozen=True, slots=True)
class Kind:
    first: float
    """P(the first attempt is right)."""
    repair: float
    """P(a repair is right), each one independently."""
    generate_usage: tuple[int, int]
    """(prompt, completion) tokens of a first attempt."""
    repair_usage: tuple[int, int]
    """(prompt, completion) tokens of a repair: its prompt carries the failed attempt and feedback."""

    @property
    def generate_cost(self) -> int:
        return sum(self.generate_usage)

    @property
    def repair_cost(self) -> int:
        return sum(self.repair_usage)


POPULATION = (
    Kind(0.0, 0.0, (80, 40), (200, 40)),  # never solved
    Kind(0.1, 0.35, (100, 60), (260, 60)),  # repair helps
    Kind(0.3, 0.2, (120, 50), (300, 50)),
    Kind(0.5, 0.5, (90, 30), (220, 30)),
    Kind(0.8, 0.1, (60, 40), (150, 40)),
    Kind(1.0, 1.0, (70, 20), (160, 20)),  # always solved at once
)


def uniform(*key: object) -> float:
    """A uniform draw in [0, 1) that is a pure function of ``key``."""
    digest = hashlib.sha256(":".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(task_ids: list[str], seed: int) -> dict[str, Kind]:
    rng = random.Random(seed)
    return {task: rng.choice(POPULATION) for task in task_ids}


@dataclass(frozen=True)
class KnownModel:
    kinds: dict[str, Kind]
    """The kind of each task (a HumanEval task id for the endpoint)."""

    def right(self, task: str, attempt: int, seed: int | None) -> bool:
        kind = self.kinds[task]
        return uniform(task, seed, attempt) < (kind.first if attempt == 0 else kind.repair)

    def policy(self, task: str, attempt: int, seed: int | None) -> Answer:
        return "right" if self.right(task, attempt, seed) else "wrong"

    def usage(self, task: str, attempt: int) -> tuple[int, int]:
        kind = self.kinds[task]
        return kind.generate_usage if attempt == 0 else kind.repair_usage

    def simulate(self, problem: Problem, sample: int, spec: BenchSpec) -> tuple[TrajectoryRecord, list[bool]]:
        """What the repair loop does with this model: attempts until one is right (it passes the
        visible tests, and the hidden ones) or ``spec.rounds`` repairs are spent."""
        seed = sample_seed(spec, problem.id, sample)
        steps, solved = [], False
        for attempt in range(spec.rounds + 1):
            tokens_in, tokens_out = self.usage(problem.id, attempt)
            kind = "generate" if attempt == 0 else "repair"
            steps.append(
                StepRecord(index=attempt, kind=kind, messages=[], tokens_in=tokens_in, tokens_out=tokens_out)
            )
            solved = self.right(problem.id, attempt, seed)
            if solved:
                break
        by_round = [solved and r >= len(steps) - 1 for r in range(spec.rounds + 1)]
        record = TrajectoryRecord(
            trajectory_id=f"{spec.benchmark}:{problem.id}:{sample}",
            run_id="simulated",
            problem=problem,
            sample_index=sample,
            status="solved" if solved else "unsolved",
            stop_reason="solved" if solved else "max_rounds",
            steps=steps,
            tokens_in=sum(s.tokens_in for s in steps),
            tokens_out=sum(s.tokens_out for s in steps),
        )
        return record, by_round


# The truth: means over POPULATION of what each kind's problem scores.


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def true_pass_at_k(rounds: int, k: int) -> float:
    """pass@k of the answers after ``rounds`` repairs: 1 - P(a trajectory fails all its attempts)^k."""
    return _mean([1 - ((1 - c.first) * (1 - c.repair) ** rounds) ** k for c in POPULATION])


def true_fail_to_pass(r: int) -> float:
    return _mean([(1 - c.first) * (1 - c.repair) ** (r - 1) * c.repair for c in POPULATION])


def true_resampling(budget: int) -> float:
    return _mean([kind_resampling(c, budget) for c in POPULATION])


def true_repair(budget: int, rounds: int) -> float:
    return _mean([kind_repair(c, budget, rounds) for c in POPULATION])


def kind_resampling(kind: Kind, budget: int) -> float:
    """Independent first attempts while the next fits: ``budget // cost`` of them."""
    return 1 - (1 - kind.first) ** (budget // kind.generate_cost)


def kind_repair(kind: Kind, budget: int, rounds: int) -> float:
    """Whole trajectories one after another, the one the budget cuts short scoring its answer so
    far (a failing one here: an attempt that is right ends its trajectory)."""

    @cache
    def fresh(left: int) -> float:
        if left < kind.generate_cost:
            return 0.0
        return kind.first + (1 - kind.first) * repairs(left - kind.generate_cost, rounds)

    @cache
    def repairs(left: int, remaining: int) -> float:
        if remaining == 0:
            return fresh(left)
        if left < kind.repair_cost:
            return 0.0
        return kind.repair + (1 - kind.repair) * repairs(left - kind.repair_cost, remaining - 1)

    return fresh(budget)


# Many runs of the known model, simulated in-process (each: problems drawn from the population,
# samples drawn by the model), summarised by the bench's own code.

RUNS = 300
PROBLEMS = 30
SAMPLES = 6
ROUNDS = 2
BUDGETS = (180, 300, 450, 540)
"""Token budgets for pass@tokens: at most SAMPLES first attempts of the cheapest kind (6 x 90),
so that no problem's samples run out."""


@dataclass(frozen=True, slots=True)
class SimulatedRun:
    summary: BenchSummary
    tokens: EqualTokens


def simulated_run(seed: int) -> SimulatedRun:
    spec = BenchSpec(benchmark="known", rounds=ROUNDS, samples=SAMPLES, seed=seed)
    problems = [Problem(id=f"known/{i}", prompt="", entry_point="f") for i in range(PROBLEMS)]
    model = KnownModel(assign([p.id for p in problems], seed))
    done = [model.simulate(p, i, spec) for p in problems for i in range(SAMPLES)]
    hidden = {t.trajectory_id: by_round for t, by_round in done}
    summary = summarise([t for t, _ in done], hidden, rounds=ROUNDS, samples=SAMPLES, seed=seed)
    pools = [
        Pool(p.id, [round_costs(t, ROUNDS) for t, _ in done if t.problem.id == p.id],
             [h for t, h in done if t.problem.id == p.id])
        for p in sorted(problems, key=lambda p: p.id)
    ]  # fmt: skip
    tokens = equal_tokens(pools, ProblemBootstrap(PROBLEMS, seed=seed), seed=seed, budgets=BUDGETS)
    assert tokens is not None
    return SimulatedRun(summary=summary, tokens=tokens)


@cache
def simulated_runs() -> tuple[SimulatedRun, ...]:
    """``RUNS`` runs, computed once per test session (about half a minute)."""
    return tuple(simulated_run(seed) for seed in range(RUNS))
