"""Bench metrics of ``--objective speed`` runs (PIE, Shypula et al. 2024): %Opt, mean speedup,
best@k, by round.

A trajectory's answer after round r is the step the graph would have returned then
(``answer_index``); the hidden judge measures it against the baseline on the problem's hidden
workload (inputs the model never saw: hidden and freshly generated ones), and it counts as
*optimised* when it passes the hidden tests and that cost is lower than the baseline's by at
least 1.1x (significantly, for CPU time; exactly, for instructions). Mean speedup follows PIE:
an answer that is incorrect, or not significantly faster or slower, counts as 1.0. best@k takes,
per problem, the best credited speedup among its first k samples.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from codemend.optimise import credited, optimised
from codemend.records import SpeedMeasurement, TrajectoryRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedSummary:
    trajectories: int
    """Scored trajectories (the denominators)."""
    opt_rate_by_round: dict[int, float]
    """%Opt after round r: correct and significantly >= 1.1x faster, as a fraction."""
    mean_speedup_by_round: dict[int, float]
    correct_by_round: dict[int, int]
    best_speedup_at_k: dict[int, float] = field(default_factory=dict)
    opt_at_k: dict[int, float] = field(default_factory=dict)
    measurements: int = 0
    """Measurements that decided the scores (the judge's, on the hidden workload)."""
    loop_measurements: int = 0
    """Measurements taken in the repair loop, for feedback (on the visible workload)."""
    methods: dict[str, int] = field(default_factory=dict)
    """Which measure was used (``cpu``: wait4 CPU time of the candidate's process tree;
    ``instructions``: counted under valgrind)."""
    on_visible: int = 0
    """Scoring measurements that ran on visible inputs: the problem had no hidden performance
    inputs and no generator, so the model had seen what it was timed on."""
    uncontained: int = 0
    """Measurements whose candidates were not in namespaces of their own (helpers may escape)."""
    measure_wall_s: float = 0.0

    @property
    def opt_rate(self) -> float:
        """%Opt at the last round (0 when nothing was scored)."""
        return self.opt_rate_by_round[max(self.opt_rate_by_round)] if self.opt_rate_by_round else 0.0

    @property
    def mean_speedup(self) -> float:
        """The mean credited speedup at the last round (1.0 when nothing was scored)."""
        by_round = self.mean_speedup_by_round
        return by_round[max(by_round)] if by_round else 1.0


def _answer(
    measured: Mapping[str, Sequence[SpeedMeasurement | None]], t: TrajectoryRecord, r: int
) -> SpeedMeasurement | None:
    found = measured.get(t.trajectory_id, ())
    return found[r] if r < len(found) else None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarise_speed(
    trajectories: Sequence[TrajectoryRecord],
    hidden_by_round: Mapping[str, Sequence[bool]],
    measured: Mapping[str, Sequence[SpeedMeasurement | None]],
    *,
    rounds: int,
    samples: int,
) -> SpeedSummary:
    """``hidden_by_round[trajectory_id]``: the hidden verdict of the answer after each round;
    ``measured[trajectory_id]``: the judge's hidden-workload measurement of that answer."""
    scored = [t for t in trajectories if len(hidden_by_round.get(t.trajectory_id, ())) == rounds + 1]
    opt: dict[int, float] = {}
    mean: dict[int, float] = {}
    correct: dict[int, int] = {}
    for r in range(rounds + 1):
        pairs = [(_answer(measured, t, r), hidden_by_round[t.trajectory_id][r]) for t in scored]
        opt[r] = _mean([float(optimised(m, ok)) for m, ok in pairs])
        mean[r] = _mean([credited(m, ok) for m, ok in pairs])
        correct[r] = sum(ok for _, ok in pairs)
    by_problem: dict[str, list[TrajectoryRecord]] = defaultdict(list)
    for t in sorted(scored, key=lambda t: t.sample_index):
        by_problem[t.problem.id].append(t)

    def final(t: TrajectoryRecord) -> tuple[SpeedMeasurement | None, bool]:
        return _answer(measured, t, rounds), hidden_by_round[t.trajectory_id][rounds]

    best = {
        k: _mean([max(credited(*final(t)) for t in ts[:k]) for ts in by_problem.values()])
        for k in range(1, samples + 1)
    }
    opt_k = {
        k: _mean([float(any(optimised(*final(t)) for t in ts[:k])) for ts in by_problem.values()])
        for k in range(1, samples + 1)
    }
    loop = [s.measurement for t in trajectories for s in t.steps if s.measurement is not None]
    # one measurement per answer: the rounds that kept an answer share its (judge-cached) measurement
    distinct = {m.model_dump_json(): m for t in scored for m in measured.get(t.trajectory_id, ()) if m}
    taken = list(distinct.values())
    return SpeedSummary(
        trajectories=len(scored),
        opt_rate_by_round=opt,
        mean_speedup_by_round=mean,
        correct_by_round=correct,
        best_speedup_at_k=best,
        opt_at_k=opt_k,
        measurements=len(taken),
        loop_measurements=len(loop),
        methods=dict(Counter(m.method for m in taken)),
        on_visible=sum(not m.hidden for m in taken),
        uncontained=sum(not m.contained for m in [*taken, *loop]),
        measure_wall_s=round(sum(m.wall_s for m in [*taken, *loop]), 3),
    )


def speed_lines(s: SpeedSummary) -> list[str]:
    """The speed summary as the bench prints it: %Opt, mean speedup, the measurements made, and a
    warning for measurements on visible inputs or without per-candidate namespaces."""
    methods = ", ".join(f"{name} x{count}" for name, count in s.methods.items()) or "none"
    lines = [
        f"speed: %Opt {100 * s.opt_rate:.1f}% (correct and significantly >= 1.1x faster), mean speedup "
        f"{s.mean_speedup:.2f}x (PIE: incorrect or not significant = 1.0), "
        f"{s.trajectories} scored trajectories",
        f"speed measurements: {s.measurements} scoring the answers on hidden inputs ({methods}; cpu: CPU "
        "time of fresh sandboxed runs paired with the baseline's, one-sided Mann-Whitney U; instructions: "
        f"counted under valgrind), {s.loop_measurements} for feedback in the loop, "
        f"{s.measure_wall_s:.1f} s in all",
    ]
    if s.on_visible:
        lines.append(
            f"WARNING: {s.on_visible} scoring measurement(s) ran on visible inputs (problems with no hidden "
            "performance inputs and no generator): the model had seen what it was timed on"
        )
    if s.uncontained:
        lines.append(
            f"WARNING: {s.uncontained} measurement(s) ran without per-candidate namespaces: CPU time of "
            "processes a candidate detached is not counted there"
        )
    return lines


def speed_table(s: SpeedSummary) -> list[str]:
    """The report's speed tables as Markdown lines: %Opt and mean speedup by round, then best
    speedup@k and %Opt@k for each k up to the samples per problem."""
    rows = ["| round | %Opt | mean speedup | correct |", "|---|---|---|---|"]
    for r in sorted(s.opt_rate_by_round):
        rows.append(
            f"| {r} | {100 * s.opt_rate_by_round[r]:.1f}% | {s.mean_speedup_by_round[r]:.2f}x | "
            f"{s.correct_by_round[r]}/{s.trajectories} |"
        )
    if s.best_speedup_at_k:
        rows += ["", "| k | best speedup@k | %Opt@k |", "|---|---|---|"]
        for k, value in s.best_speedup_at_k.items():
            rows.append(f"| {k} | {value:.2f}x | {100 * s.opt_at_k[k]:.1f}% |")
    return rows
