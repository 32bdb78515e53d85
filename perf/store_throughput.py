"""Trajectory store throughput, export time, and what storing adds to a solve, in one run.

    python perf/store_throughput.py [--steps 10000] [--tasks 64] [--solve-steps 6] [--rounds 6]

1. **Writes**: ``--tasks`` asyncio tasks share one ``AsyncTrajectoryStore`` and write
   ``--steps`` steps in all (trajectories of 4 steps). The steps carry real payloads: messages
   with history, a reply, code, a ``TestReport`` from the sandbox and a critique. Prints steps/s
   and, under that load, how long ``add_step`` takes to return (steps are written behind) and
   how long ``finish_trajectory`` takes (it returns once the trajectory and its steps are
   committed).
2. **Export**: every step to Parquet, as ``raw`` (one row per trajectory, all steps) and ``kto``
   (one row per step), reading from the store file.
3. **Overhead on bare sandbox loops** (a reference): ``--tasks`` concurrent loops of ``--solve-steps``
   steps each, where a step is a real sandbox run of a candidate: without storage, with every
   step stored as codemend stores it (written behind, ``step_delay_s`` = 50 ms), and with every
   step committed before ``add_step`` returns (``step_delay_s=0``), the arms rotating for
   ``--rounds`` rounds (median of the paired ratios). No model call, no graph: nothing but the
   sandbox and the store compete for the 2 cores, so this is the harshest case; on this machine
   its ratio moves by a few points between runs.
4. **Overhead on real solves** (target < 5 %): ``--tasks`` concurrent ``codemend.asolve`` calls on
   HumanEval problems (the repair graph, critic, sandbox and hidden tests) against the scripted
   endpoint of ``tests/bench_helpers.py``, run in a child process and answering at once: wrong
   code ``--solve-steps`` - 1 times, then the canonical solution. The stored arm does what
   ``codemend bench`` does (start, every step through ``on_step``, finish); the arms alternate
   for ``--rounds`` rounds. A model answering in no time is still a worst case.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench_overhead import _serve  # perf/ is on sys.path when this runs as a script

from codemend.benchmarks import load_humaneval
from codemend.benchmarks.spec import feedback_view
from codemend.llm import LLMClient, LLMSettings
from codemend.problems import AssertTest, Problem
from codemend.records import Constraint, Outcome
from codemend.sandbox import LocalSandbox, Sandbox, TestReport
from codemend.trajectories import (
    AsyncTrajectoryStore,
    Critique,
    ExportOptions,
    Message,
    RunRecord,
    StepRecord,
    TrajectoryStore,
    export_trajectories,
)
from codemend.trajectories.aio import DEFAULT_STEP_DELAY_S

TARGET_OVERHEAD = 0.05
STEPS_PER_TRAJECTORY = 4
PROBLEM = Problem.model_validate(
    {
        "id": "running-max",
        "prompt": "Write `running_max(xs)` returning the list of running maxima of xs.",
        "entry_point": "running_max",
        "time_limit_s": 2,
        "tests": [
            {"code": "assert running_max([1, 3, 2, 5]) == [1, 3, 3, 5]"},
            {"code": "assert running_max([]) == []"},
            {"code": "assert running_max([-1, -2]) == [-1, -1]"},
            {"code": "assert running_max([2] * 50) == [2] * 50", "visibility": "hidden"},
        ],
    }
)
CODES = (
    "def running_max(xs):\n    out = []\n    for x in xs:\n"
    "        out.append(max(out[-1], x) if out else x)\n    return out\n",
    "def running_max(xs):\n    best = 0\n    out = []\n    for x in xs:\n        best = max(best, x)\n"
    "        out.append(best)\n    return out\n",
)


def run_record(run_id: str) -> RunRecord:
    from datetime import UTC, datetime

    return RunRecord(run_id=run_id, created_at=datetime.now(UTC), codemend_version="0.1.0", model="bench")


def make_step(index: int, report: TestReport, code: str) -> StepRecord:
    """A step as the repair loop records it: growing history, a fenced reply, a critique."""
    tests = [t.code for t in PROBLEM.visible_tests() if isinstance(t, AssertTest)]
    task = Message(role="user", content=PROBLEM.prompt + "\n" + "\n".join(tests))
    history = [Message(role="system", content="You are an expert Python programmer."), task]
    for _ in range(index):
        history += [
            Message(role="assistant", content=f"```python\n{code}```"),
            Message(role="user", content="1/3 failed"),
        ]
    critique = Critique(
        constraints=[Constraint(name="tests", satisfied=report.passed, evidence=f"{report.n_passed}/3")],
        score=report.fraction_passed,
        feedback="\n".join(f"test {r.index}: {r.status} {r.assertion or ''}" for r in report.results),
    )
    return StepRecord(
        index=index,
        kind="generate" if index == 0 else "repair",
        parent=None if index == 0 else index - 1,
        messages=history,
        reply=f"Here is the fix.\n```python\n{code}```\n",
        code=code,
        report=report,
        critique=critique,
        reward=report.fraction_passed,
        rewards={"tests": report.fraction_passed},
        tokens_in=120 * (index + 1),
        tokens_out=60,
        latency_s=0.8,
    )


# -- 1. writes ------------------------------------------------------------------------------
async def write_load(
    store: AsyncTrajectoryStore, steps: list[StepRecord], n_steps: int, n_tasks: int
) -> tuple[list[float], list[float]]:
    """Every task writes its share of ``n_steps``; returns the latencies of each ``add_step``
    and of each ``finish_trajectory``."""
    adds: list[float] = []
    finishes: list[float] = []

    async def task(t: int, share: int) -> None:
        sample = 0
        while share > 0:
            tid = await store.start_trajectory("bench", PROBLEM, t * 100_000 + sample)
            for k in range(min(STEPS_PER_TRAJECTORY, share)):
                t0 = time.perf_counter()
                await store.add_step(tid, steps[k])
                adds.append(time.perf_counter() - t0)
            share -= STEPS_PER_TRAJECTORY
            sample += 1
            t0 = time.perf_counter()
            outcome = Outcome(status="unsolved", stop_reason="max_rounds", final_reward=0.5)
            await store.finish_trajectory(tid, outcome)
            finishes.append(time.perf_counter() - t0)

    shares = [n_steps // n_tasks + (i < n_steps % n_tasks) for i in range(n_tasks)]
    await asyncio.gather(*(task(i, s) for i, s in enumerate(shares)))
    return adds, finishes


def _ms(latencies: list[float]) -> str:
    ms = sorted(x * 1e3 for x in latencies)
    return f"median {statistics.median(ms):.2f} ms, p99 {ms[int(0.99 * len(ms))]:.2f} ms"


def bench_writes(db: Path, steps: list[StepRecord], n_steps: int, n_tasks: int) -> None:
    store = AsyncTrajectoryStore(TrajectoryStore(db))

    async def main() -> tuple[float, list[float], list[float]]:
        await store.start_run(run_record("bench"))
        t0 = time.perf_counter()
        adds, finishes = await write_load(store, steps, n_steps, n_tasks)
        wall = time.perf_counter() - t0  # every trajectory finished: every step committed
        await store.finish_run("bench")
        await store.close()
        return wall, adds, finishes

    wall, adds, finishes = asyncio.run(main())
    print(
        f"1. writes: {len(adds)} steps from {n_tasks} concurrent tasks, all committed, in {wall:.2f} s "
        f"= {len(adds) / wall:,.0f} steps/s; store {db.stat().st_size / 1e6:.1f} MB"
    )
    print(f"   under that load add_step returns in {_ms(adds)} (written behind);")
    print(f"   finish_trajectory, which returns once all its steps are committed, in {_ms(finishes)}")


# -- 2. export ------------------------------------------------------------------------------
def bench_export(db: Path, out_dir: Path) -> None:
    with TrajectoryStore(db, create=False) as store:
        n_steps = store.count_steps()
        for fmt in ("raw", "kto"):
            t0 = time.perf_counter()
            result = export_trajectories(
                store.trajectories(), ExportOptions(format=fmt, out=out_dir / f"{fmt}.parquet")
            )
            wall = time.perf_counter() - t0
            rows = sum(result.rows.values())
            print(f"2. export {fmt:<3} to Parquet: {n_steps} steps -> {rows} rows in {wall:.2f} s "
                  f"({n_steps / wall:,.0f} steps/s)")  # fmt: skip


# -- 3. overhead on a solve -----------------------------------------------------------------
async def solves(
    sandbox: Sandbox, store: AsyncTrajectoryStore | None, n_tasks: int, n_steps: int, first: int = 0
) -> tuple[float, float]:
    """Wall time of ``n_tasks`` concurrent solves, and the mean share of a solve's own wall time
    spent awaiting the store."""
    shares: list[float] = []

    async def solve(t: int) -> None:
        t0, waited = time.perf_counter(), 0.0
        w = time.perf_counter()
        tid = await store.start_trajectory("overhead", PROBLEM, first + t) if store else ""
        waited += time.perf_counter() - w
        for k in range(n_steps):
            code = CODES[(t + k) % 2]
            report = await sandbox.arun(PROBLEM, code, PROBLEM.visible_tests())
            step = make_step(k, report, code)  # the graph builds the record either way
            if store:
                w = time.perf_counter()
                await store.add_step(tid, step)
                waited += time.perf_counter() - w
        if store:
            w = time.perf_counter()
            await store.finish_trajectory(tid, Outcome(status="unsolved", stop_reason="max_rounds"))
            waited += time.perf_counter() - w
        shares.append(waited / (time.perf_counter() - t0))

    t0 = time.perf_counter()
    await asyncio.gather(*(solve(t) for t in range(n_tasks)))
    return time.perf_counter() - t0, statistics.mean(shares)


ARMS = {  # name -> step_delay_s of its store (None: no storage)
    "without storage": None,
    "written behind (default, 50 ms)": DEFAULT_STEP_DELAY_S,
    "committed per step (step_delay_s=0)": 0.0,
}


def bench_overhead(sandbox: Sandbox, tmp: Path, n_tasks: int, n_steps: int, rounds: int) -> None:
    """The arms rotate which goes first, so drift in the machine's load cancels out."""
    walls: dict[str, list[float]] = {arm: [] for arm in ARMS}
    shares: dict[str, list[float]] = {arm: [] for arm in ARMS}
    with asyncio.Runner() as runner:
        stores: dict[str, AsyncTrajectoryStore | None] = {}
        for k, (arm, delay) in enumerate(ARMS.items()):
            stores[arm] = None if delay is None else AsyncTrajectoryStore(
                TrajectoryStore(tmp / f"overhead-{k}.db"), step_delay_s=delay
            )  # fmt: skip
            if (store := stores[arm]) is not None:
                runner.run(store.start_run(run_record("overhead")))
        runner.run(solves(sandbox, None, n_tasks, 1))  # warm-up
        names = list(ARMS)
        for r in range(rounds):
            for arm in names[r % 3 :] + names[: r % 3]:
                wall, share = runner.run(solves(sandbox, stores[arm], n_tasks, n_steps, r * n_tasks))
                walls[arm].append(wall)
                shares[arm].append(share)
        for store in stores.values():
            if store is not None:
                runner.run(store.close())
    print(f"3. solves: {n_tasks} concurrent x {n_steps} steps, each step a real sandbox run (no model call)")
    report_overhead(walls, shares, n_tasks * n_steps, judged=False)


def report_overhead(
    walls: dict[str, list[float]],
    shares: dict[str, list[float]],
    total: int,
    *,
    shares_known: bool = True,
    judged: bool = True,
) -> None:
    base_arm, *stored_arms = walls
    base = walls[base_arm]
    b = statistics.median(base)
    print(f"   {len(base)} rounds of {total} steps per arm, arms rotating which goes first")
    print(f"   {base_arm:<37} {b:.3f} s ({total / b:,.0f} steps/s)")
    for arm in stored_arms:
        ratio = statistics.median(s / x for s, x in zip(walls[arm], base, strict=True))
        verdict = "OK" if ratio - 1 < TARGET_OVERHEAD else "ABOVE TARGET"
        verdict = f"(target < {100 * TARGET_OVERHEAD:.0f} %) {verdict}" if judged else "(no-model reference)"
        print(
            f"   {arm:<37} {statistics.median(walls[arm]):.3f} s, ratio {ratio:.3f} -> storage adds "
            f"{100 * (ratio - 1):+.1f} % {verdict};"
        )
        if shares_known:
            print(f"   {'':<37} share of each solve's wall time awaiting the store "
                  f"{100 * statistics.mean(shares[arm]):.2f} %")  # fmt: skip
    for arm, xs in walls.items():
        print(f"   rounds, {arm:<37} {', '.join(f'{x:.3f}' for x in xs)}")
    spread = 100 * (max(base) - min(base)) / b
    print(f"   spread of the baseline rounds {spread:.0f} % (other load on this machine)")


# -- 4. overhead on real solves -------------------------------------------------------------
async def real_solves(
    llm: LLMClient, sandbox: Sandbox, problems: list[Problem], store: AsyncTrajectoryStore | None, first: int
) -> float:
    from codemend.solver import asolve

    async def one(i: int, problem: Problem) -> None:
        if store is None:
            await asolve(problem, llm=llm, sandbox=sandbox, rounds=10)
            return
        tid = await store.start_trajectory("real", problem, first + i)

        async def on_step(step: StepRecord) -> None:
            await store.add_step(tid, step)

        t = (await asolve(problem, llm=llm, sandbox=sandbox, rounds=10, on_step=on_step)).trajectory
        outcome = Outcome(
            status=t.status,
            stop_reason=t.stop_reason,
            final_code=t.final_code,
            final_reward=t.final_reward,
            hidden_passed=t.hidden_passed,
            hidden_report=t.hidden_report,
        )
        await store.finish_trajectory(tid, outcome)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, p) for i, p in enumerate(problems)))
    return time.perf_counter() - t0


def bench_real(sandbox: Sandbox, tmp: Path, n_tasks: int, n_steps: int, rounds: int) -> None:
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(theirs, n_steps - 1), daemon=True)
    child.start()
    url = ours.recv()
    problems = [feedback_view(p, "all") for p in load_humaneval()[:n_tasks]]  # every one gets repairs
    walls: dict[str, list[float]] = {"without storage": [], "stored as codemend bench stores it": []}
    try:
        with asyncio.Runner() as runner:
            store = AsyncTrajectoryStore(TrajectoryStore(tmp / "real.db"))
            runner.run(store.start_run(run_record("real")))
            llm = LLMClient(LLMSettings(base_url=url, model="scripted", max_concurrency=n_tasks))
            runner.run(real_solves(llm, sandbox, problems[:4], None, 0))  # warm-up
            names = list(walls)
            for r in range(rounds):
                for arm in names if r % 2 == 0 else names[::-1]:
                    used = store if arm != "without storage" else None
                    walls[arm].append(runner.run(real_solves(llm, sandbox, problems, used, r * n_tasks)))
            runner.run(llm.aclose())
            steps = store.sync.count_steps()
            runner.run(store.close())
    finally:
        ours.send("stop")
        errors = ours.recv()
        child.join(timeout=10)
    print(
        f"4. real solves: {n_tasks} concurrent codemend.asolve on HumanEval, scripted model answering "
        f"at once ({n_steps - 1} wrong replies, then right), {steps // rounds} steps stored per round"
    )
    report_overhead(walls, {arm: [0.0] for arm in walls}, steps // rounds, shares_known=False)
    if errors:
        print(f"   scripted server errors: {errors[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--solve-steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="codemend-store-bench-") as tmp,
        LocalSandbox(workers=args.workers) as sandbox,
    ):
        reports = [sandbox.run(PROBLEM, code, PROBLEM.visible_tests()) for code in CODES]
        steps = [make_step(k, reports[k % 2], CODES[k % 2]) for k in range(STEPS_PER_TRAJECTORY)]
        print(
            f"cpus {os.cpu_count()}, sandbox workers {args.workers}, "
            f"step payload ~{len(steps[-1].model_dump_json()):,} bytes"
        )
        bench_writes(Path(tmp) / "writes.db", steps, args.steps, args.tasks)
        bench_export(Path(tmp) / "writes.db", Path(tmp) / "export")
        bench_overhead(sandbox, Path(tmp), args.tasks, args.solve_steps, args.rounds)
        bench_real(sandbox, Path(tmp), args.tasks, args.solve_steps, args.rounds)


if __name__ == "__main__":
    main()
