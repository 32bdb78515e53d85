"""``abench()``: run (or resume) a bench, score it, and write its run dir."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codemend.benchmarks.breakdown import break_down, check_key
from codemend.benchmarks.lock import run_dir_lock
from codemend.benchmarks.metrics import BenchSummary, summarise
from codemend.benchmarks.plot import plot_pass_at_tokens, plot_passk, preload
from codemend.benchmarks.report import sample_rows, summary_lines, write_outputs
from codemend.benchmarks.runner import BenchDeps, BenchResult, RunOptions, run_bench
from codemend.benchmarks.spec import BenchSpec
from codemend.problems import Problem
from codemend.records import TrajectoryRecord
from codemend.runs import PLOT_FILE, TOKENS_PLOT_FILE


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOutcome:
    result: BenchResult
    summary: BenchSummary
    lines: list[str]
    """The summary a person reads first (``summary_lines``)."""
    run_dir: Path


def summarise_result(
    spec: BenchSpec, result: BenchResult, problems: Sequence[Problem] = (), *, by: str | None = None
) -> BenchSummary:
    """The run's summary; with ``by``, also per value of that metadata key of ``problems``."""
    by_round = {tid: v.by_round for tid, v in result.hidden.items() if not v.error}
    measured = {tid: v.measurements for tid, v in result.hidden.items() if not v.error}

    def of(trajectories: Sequence[TrajectoryRecord], seed: int) -> BenchSummary:
        return summarise(
            trajectories,
            by_round,
            measured=measured,
            rounds=spec.rounds,
            samples=spec.samples,
            feedback_tests=spec.feedback_tests,
            objective=spec.objective,
            seed=seed,
        )

    summary = of(result.trajectories, spec.seed)
    if by is None:
        return summary
    breakdown = break_down(problems, by, result.trajectories, of, seed=spec.seed)
    return dataclasses.replace(summary, breakdown=breakdown)


async def abench(
    spec: BenchSpec,
    problems: Sequence[Problem],
    deps: BenchDeps,
    *,
    run_dir: str | Path,
    options: RunOptions | None = None,
    by: str | None = None,
) -> BenchOutcome:
    """Every (problem, sample) through the repair graph (``run_bench``), then ``samples.jsonl``,
    ``summary.json``, ``report.md`` and the plots in ``run_dir``, which no other process may use
    meanwhile (``RunDirInUse``). ``by``: break every table down by that metadata key (a key no
    problem carries is a ``UserError``, before any work)."""
    if by is not None:
        check_key(problems, by)
    folder = Path(run_dir)
    with run_dir_lock(folder):
        preload()
        result = await run_bench(spec, problems, deps, run_dir=folder, options=options)
        return _write(spec, problems, deps, folder, result, by)


def _write(
    spec: BenchSpec,
    problems: Sequence[Problem],
    deps: BenchDeps,
    folder: Path,
    result: BenchResult,
    by: str | None,
) -> BenchOutcome:
    summary = summarise_result(spec, result, problems, by=by)
    rows = sample_rows(result.trajectories, result.hidden, [p.id for p in problems])
    write_outputs(
        folder,
        spec,
        summary,
        rows,
        run_id=result.run_id,
        model=deps.llm.model,
        endpoint=deps.llm.base_url,
        wall_s=round(result.wall_s, 3),
        resumed_trajectories=result.resumed,
        problems_without_hidden_tests=sum(not p.hidden_tests() for p in problems),
    )
    plot_passk(summary, folder / PLOT_FILE, title=f"{spec.benchmark}: pass@k by repair round")
    title = f"{spec.benchmark}: repair against resampling at equal tokens"
    plot_pass_at_tokens(summary, folder / TOKENS_PLOT_FILE, title=title)
    return BenchOutcome(result=result, summary=summary, lines=summary_lines(spec, summary), run_dir=folder)
