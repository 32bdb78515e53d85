"""What the critic's signals cost per candidate, against the critic without them, in one run.

    python perf/critic_signals.py [--mbpp PATH] [--problems N] [--repeat N]

The candidates are MBPP's reference programs (``../shared/data/mbpp/mbpp.jsonl`` by default),
each judged against the next problem's program as its reference solution (so the structure
score has real, different trees to compare) on a passing test report. Per candidate it times

- the deterministic critic alone (``make_critic("tests", structure=False)``): the baseline;
- with the structure score (the default whenever a problem has a reference solution);
- with ``--constraints security`` (bandit in-process, as the critic runs it);
- bandit as a subprocess (``python -m bandit -f json FILE``), the alternative not taken;
- one sandboxed run of the candidate on its visible test, for scale;
- the structure reward's credit check (``agents.credit``: the visible tests run again with
  statements taken out), on the candidate's real report, with the variants it ran and the
  statements it credited;

and prints each median in milliseconds and its ratio to the baseline (the sandbox line: the
share the signals add to a step's testing; the credit check: its ratio to one sandboxed run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from codemend.agents import Critic, make_critic
from codemend.agents.credit import credit
from codemend.agents.statements import Credited
from codemend.benchmarks.mbpp import load_mbpp
from codemend.problems import Problem
from codemend.records import TestReport, TestResult
from codemend.sandbox import LocalSandbox

DEFAULT_MBPP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mbpp" / "mbpp.jsonl"
PASSED = TestReport(results=[TestResult(index=0, kind="assert", visibility="visible", status="passed")])


def cases(path: Path, count: int) -> list[tuple[Problem, str]]:
    """(problem with the next program as its reference, candidate code) pairs."""
    problems = load_mbpp(path, "all")[: count + 1]
    codes = [_code(path, p) for p in problems]
    return [
        (p.model_copy(update={"reference_solution": codes[i + 1]}), codes[i])
        for i, p in enumerate(problems[:-1])
    ]


def _code(path: Path, problem: Problem) -> str:
    """MBPP's own program for ``problem`` (the loader keeps none as a reference)."""
    task = int(problem.id.split("/")[1])
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["task_id"] == task:
            return str(record["code"]).replace("\r\n", "\n")
    raise SystemExit(f"no code for {problem.id}")


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bandit_subprocess(code: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.py"
        path.write_text(code, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "bandit", "-q", "-f", "json", str(path)], capture_output=True)


def judge(critic: Critic, problem: Problem, code: str) -> None:
    asyncio.run(critic(problem, code, PASSED))


def measure(
    problem: Problem, code: str, critics: dict[str, Critic], sandbox: LocalSandbox, repeat: int
) -> dict[str, float]:
    """One candidate's median times (ms), by what was timed."""
    found = {n: median_ms(partial(judge, c, problem, code), repeat) for n, c in critics.items()}
    found["bandit as a subprocess"] = median_ms(partial(bandit_subprocess, code), 2)
    found["sandbox run"] = median_ms(partial(sandbox.run, problem, code, problem.visible_tests()), 2)
    return found


def credit_check(problem: Problem, code: str, sandbox: LocalSandbox) -> tuple[float, Credited | str]:
    """The credit check's time (ms) on ``code``'s own visible report, and what it found."""
    report = sandbox.run(problem, code, problem.visible_tests())
    start = time.perf_counter()
    found = asyncio.run(credit(sandbox, problem, code, report))
    return (time.perf_counter() - start) * 1000, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--mbpp", type=Path, default=DEFAULT_MBPP)
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.mbpp.is_file():
        raise SystemExit(f"no MBPP file at {args.mbpp}: give --mbpp PATH")
    pairs = cases(args.mbpp, args.problems)
    critics = {
        "critic alone (baseline)": make_critic("tests", structure=False),
        "+ structure score": make_critic("tests"),
        "+ security (bandit in-process)": make_critic("tests", structure=False, constraints=["security"]),
        "+ both": make_critic("tests", constraints=["security"]),
    }
    rows: dict[str, list[float]] = {}
    checks: list[tuple[float, Credited | str]] = []
    with LocalSandbox(workers=1) as sandbox:
        for problem, code in pairs:
            for name, value in measure(problem, code, critics, sandbox, args.repeat).items():
                rows.setdefault(name, []).append(value)
            checks.append(credit_check(problem, code, sandbox))
    base = statistics.median(rows["critic alone (baseline)"])
    print(f"{len(pairs)} MBPP candidates, median per candidate (ms) and ratio to the critic alone")
    for name, values in rows.items():
        value = statistics.median(values)
        print(f"  {name:34s} {value:9.2f} ms  {value / base:8.1f}x")
    sandbox_ms = statistics.median(rows["sandbox run"])
    added = statistics.median(rows["+ both"]) - base
    print(f"  signals' cost as a share of one sandboxed run: {added / sandbox_ms:.1%}")
    done = [(ms, c) for ms, c in checks if isinstance(c, Credited)]
    if done:
        ms = statistics.median(t for t, _ in done)
        probes = statistics.median(c.probes for _, c in done)
        credited = sum(len(c.needed) for _, c in done) / max(1, sum(c.statements for _, c in done))
        print(
            f"  structure credit check ({len(done)} candidates) {ms:9.2f} ms  {ms / sandbox_ms:8.1f}x one "
            f"sandboxed run; median {probes:g} variants run; {credited:.0%} of statements credited"
        )
    unscored = sorted({c for _, c in checks if isinstance(c, str)})
    for reason in unscored:
        print(f"  unscored: {sum(c == reason for _, c in checks)} x {reason}")


if __name__ == "__main__":
    main()
