"""``codemend bench --objective speed``: the runner measures, the hidden judge picks the answer
as the graph does, and ``summary.json`` / ``report.md`` carry %Opt, mean speedup and best@k by
round (``codemend.benchmarks.speed``)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from optimise_helpers import example, fast_solution
from repair_helpers import fenced
from scripted_server import Received, ScriptedServer, Step

from codemend.benchmarks import BenchDeps, BenchOutcome, BenchSpec, RunOptions, abench
from codemend.llm import LLMClient, LLMSettings
from codemend.optimise import Speed
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox
from codemend.trajectories import TrajectoryStore

WRONG_FIB = "def fib(n):\n    return n\n"


@dataclass
class ByProblem(ScriptedServer):
    """dedupe: the fast solution at once; fib: wrong first, then the fast solution."""

    def _next(self, received: Received) -> Step:
        with self._lock:
            self.requests.append(received)
        content = "\n".join(m["content"] for m in received.body.get("messages", []))
        if "dedupe" in content:
            return fenced(fast_solution("dedupe"))
        return fenced(fast_solution("fib") if "not correct yet" in content else WRONG_FIB)


def run(problems: list[Problem], run_dir: Path, spec: BenchSpec, *, resume: bool = False) -> BenchOutcome:
    server = ByProblem().start()
    settings = LLMSettings(base_url=server.url, model="scripted", max_attempts=1, timeout_s=10)

    async def go() -> BenchOutcome:
        async with LLMClient(settings) as llm:
            deps = BenchDeps(llm=llm, sandbox=sandbox)
            options = RunOptions(concurrency=2, resume=resume)
            return await abench(spec, problems, deps, run_dir=run_dir, options=options)

    try:
        with LocalSandbox(workers=2) as sandbox:
            return asyncio.run(go())
    finally:
        server.stop()


def test_a_speed_bench_reports_opt_and_mean_speedup_by_round(tmp_path: Path) -> None:
    problems = [example("dedupe"), example("fib")]
    spec = BenchSpec(benchmark="jsonl", rounds=1, objective=Speed(repetitions=5))
    out = run(problems, tmp_path, spec)
    s = out.summary.speed
    assert s is not None and s.trajectories == 2
    assert s.correct_by_round == {0: 1, 1: 2}
    assert s.opt_rate_by_round == {0: 0.5, 1: 1.0}
    assert 1.0 < s.mean_speedup_by_round[0] < s.mean_speedup_by_round[1]
    assert s.best_speedup_at_k[1] == s.mean_speedup_by_round[1] and s.opt_at_k == {1: 1.0}
    assert s.methods == {"cpu": 2} and s.uncontained == 0
    assert any(line.startswith("speed: %Opt 100.0%") for line in out.lines)
    metrics = json.loads((tmp_path / "summary.json").read_text())["metrics"]
    assert metrics["speed"]["opt_rate_by_round"] == {"0": 0.5, "1": 1.0}
    assert "| 1 | 100.0% |" in (tmp_path / "report.md").read_text()
    with TrajectoryStore(tmp_path / "trajectories.db") as store:  # every measurement is kept
        stored = [s.measurement for t in store.trajectories() for s in t.steps if s.measurement]
    assert len(stored) == 2 and all(len(m.candidate_s) == 5 and m.p_faster is not None for m in stored)


def test_a_correctness_bench_has_no_speed_metrics(tmp_path: Path) -> None:
    out = run([example("dedupe")], tmp_path, BenchSpec(benchmark="jsonl", rounds=0))
    assert out.summary.speed is None and out.summary.solved == 1
    assert json.loads((tmp_path / "summary.json").read_text())["metrics"]["speed"] is None


def test_a_problem_whose_reference_fails_its_workload_is_that_problems_error(tmp_path: Path) -> None:
    """Issue 26: one such problem ended a whole speed bench with a traceback and no summary, and
    ``--resume`` crashed the same way."""
    broken = example("fib").model_copy(
        update={
            "reference_solution": "def fib(n):\n    if n > 20:\n"
            "        raise OverflowError('too big for me')\n"
            "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        }
    )
    problems = [example("dedupe"), broken]
    spec = BenchSpec(benchmark="jsonl", rounds=0, objective=Speed(repetitions=4))
    out = run(problems, tmp_path, spec)
    assert out.summary.trajectories == 2 and out.summary.infrastructure_errors == 1
    (cause,) = out.summary.infrastructure_causes
    assert cause.startswith("ProblemError: problem fib:") and "OverflowError: too big for me" in cause
    assert out.summary.speed is not None and out.summary.speed.trajectories == 1  # dedupe was scored
    again = run(problems, tmp_path, spec.model_copy(), resume=True)  # a resume does not crash either
    assert again.summary.infrastructure_errors == 1 and again.result.resumed == 2
