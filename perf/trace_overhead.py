"""What ``--feedback trace`` costs a failing step, against the run it follows, in one process.

    python perf/trace_overhead.py [--mbpp PATH] [--problems N] [--repeat N]

The candidates are MBPP's reference programs (``../shared/data/mbpp/mbpp.jsonl`` by default) on
their first test. Per candidate it times, on one sandbox worker,

- the plain run of that test (``sandbox.run``): the baseline, what every step pays;
- the traced run of it (``sandbox.trace``): what a failing step adds with ``--feedback trace``;

and prints each median in milliseconds, the ratio of the medians, and the trace's size (blocks
kept, blocks left out, characters of the text the repair prompt would get).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from codemend.agents.tracing import CHARS_PER_TOKEN, TRACE_TOKEN_BUDGET, render_trace
from codemend.benchmarks.mbpp import load_mbpp
from codemend.problems import Problem
from codemend.records import TestResult
from codemend.sandbox import LocalSandbox

DEFAULT_MBPP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mbpp" / "mbpp.jsonl"
FAILED = TestResult(index=0, kind="assert", visibility="visible", status="failed", expected="?", actual="?")


def cases(path: Path, count: int) -> list[tuple[Problem, str]]:
    """(problem, MBPP's own program for it) pairs."""
    codes = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        codes[f"mbpp/{record['task_id']}"] = str(record["code"]).replace("\r\n", "\n")
    return [(p, codes[p.id]) for p in load_mbpp(path, "all")[:count]]


def main() -> None:
    """Time plain and traced runs of each candidate; print medians, their ratio and trace sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbpp", type=Path, default=DEFAULT_MBPP)
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plain: list[float] = []
    traced: list[float] = []
    blocks, omitted, chars, available = [], [], [], 0
    sandbox = LocalSandbox(workers=1)
    with sandbox:
        sandbox.start()
        for problem, code in cases(args.mbpp, args.problems):
            test = problem.visible_tests()[0]
            for _ in range(args.repeat):
                started = time.perf_counter()
                sandbox.run(problem, code, [test])
                plain.append(time.perf_counter() - started)
                started = time.perf_counter()
                trace = sandbox.trace(problem, code, test)
                traced.append(time.perf_counter() - started)
            available += trace.available
            blocks.append(len(trace.blocks))
            omitted.append(trace.omitted_blocks)
            label = getattr(test, "code", "")
            chars.append(len(render_trace(trace, code, label, FAILED, problem)))
    base, with_trace = statistics.median(plain), statistics.median(traced)
    print(f"{args.problems} MBPP programs x {args.repeat}, one worker, {sandbox.isolation}")
    print(f"plain run of the test:  median {base * 1000:7.1f} ms")
    ratio = with_trace / base
    print(f"traced run of the test: median {with_trace * 1000:7.1f} ms  ({ratio:.2f}x the plain run)")
    print(
        f"traces available: {available}/{args.problems}; blocks kept: median {statistics.median(blocks):g}, "
        f"max {max(blocks)}; left out: max {max(omitted)}; text: median {statistics.median(chars):g} "
        f"chars, max {max(chars)} (budget {TRACE_TOKEN_BUDGET * CHARS_PER_TOKEN})"
    )


if __name__ == "__main__":
    main()
