"""How well ``--objective speed`` tells faster from not faster, by both cost methods, in one run.

    python perf/optimise_accuracy.py [--aa N] [--burn N] [--repetitions N] [--problems a,b]
                                     [--methods cpu,instructions]

On the committed example set (``examples/optimise/``: a slow but correct reference, a hand-written
fast solution and an input generator per problem), in one process and one sandbox worker, for
each cost method (``cpu``: CPU time of paired fresh runs and a one-sided Mann-Whitney U test;
``instructions``: counted under valgrind, one run each):

1. **Detection rate**: the fast solution against the reference on the hidden workload (hidden
   inputs and a freshly generated one); detected when the verdict is ``faster``.
2. **False "faster" verdicts (A/A)**: the reference against itself, ``--aa`` times (cycling over
   the problems), while ``--burn`` busy loops load the machine (default 1: the other core).
3. **Seconds per measurement**: drawing the input, the reference's expected outputs and the
   measurement itself, median over every measurement; the last line gives the ratio of the
   instruction method's cost to CPU time's (the baseline of this run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codemend.optimise import Speed, measure_speed, prepare_workload
from codemend.problems import Problem, load_problems
from codemend.records import SpeedMeasurement
from codemend.sandbox import LocalSandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "optimise"
# A/A pairs on the problems whose references are cheapest to count (fib's naive reference costs
# seconds under valgrind); --aa-problems overrides.
AA_DEFAULT = "dedupe,pair_count,has_duplicate,most_common_word,sort_numbers,max_subarray,grid_paths"


@contextlib.contextmanager
def burner(processes: int) -> Iterator[None]:
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(processes)
    ]
    try:
        yield
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@dataclass
class Tally:
    detected: int = 0
    problems: int = 0
    false_faster: int = 0
    pairs: int = 0
    seconds: list[float] = field(default_factory=list)


def _measure(
    sandbox: LocalSandbox, problem: Problem, candidate: str, objective: Speed, tally: Tally
) -> SpeedMeasurement:
    started = time.monotonic()
    reference = problem.reference_solution or ""
    work = prepare_workload(sandbox, problem, reference, hidden=True)
    m = measure_speed(sandbox, work, reference, candidate, objective)
    tally.seconds.append(time.monotonic() - started)
    return m


def _cost(m: SpeedMeasurement) -> str:
    if m.method == "instructions":
        return f"{m.baseline_instructions or 0:>14,} {m.candidate_instructions or 0:>14,}"
    return f"{1000 * (m.baseline_median_s or 0):>11.1f} ms {1000 * (m.candidate_median_s or 0):>11.1f} ms"


def run_method(
    sandbox: LocalSandbox,
    problems: list[Problem],
    aa_problems: list[Problem],
    fast: dict[str, str],
    objective: Speed,
    pairs: int,
) -> Tally:
    tally = Tally()
    print(f"\n== {objective.describe()}")
    print(f"{'problem':18} {'verdict':8} {'speedup':>8} {'reference':>14} {'fast':>14}")
    for problem in problems:
        m = _measure(sandbox, problem, fast[problem.id], objective, tally)
        tally.detected += m.verdict == "faster"
        tally.problems += 1
        print(f"{problem.id:18} {m.verdict:8} {m.speedup or 0:8.2f} {_cost(m)}")
    verdicts: list[str] = []
    for i in range(pairs):
        problem = aa_problems[i % len(aa_problems)]
        m = _measure(sandbox, problem, problem.reference_solution or "", objective, tally)
        verdicts.append(m.verdict)
    tally.false_faster = verdicts.count("faster")
    tally.pairs = len(verdicts)
    print(f"A/A verdicts: {dict((v, verdicts.count(v)) for v in sorted(set(verdicts)))}")
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--aa", type=int, default=50, help="Identical pairs per method (A/A).")
    parser.add_argument("--burn", type=int, default=1, help="Busy loops running meanwhile.")
    parser.add_argument("--repetitions", type=int, default=10, help="cpu: timed runs each.")
    parser.add_argument("--problems", help="Comma-separated ids for detection (default: all).")
    parser.add_argument("--aa-problems", default=AA_DEFAULT, help="Comma-separated ids for the A/A pairs.")
    parser.add_argument("--methods", default="cpu,instructions")
    args = parser.parse_args()
    problems = load_problems(EXAMPLES / "problems.jsonl")
    by_id = {p.id: p for p in problems}
    if args.problems:
        problems = [by_id[i] for i in args.problems.split(",")]
    aa_problems = [by_id[i] for i in args.aa_problems.split(",")]
    fast: dict[str, str] = json.loads((EXAMPLES / "fast.json").read_text())
    tallies: dict[str, Tally] = {}
    with LocalSandbox(workers=1) as sandbox, burner(args.burn):
        for method in args.methods.split(","):
            objective = Speed(cost=method, repetitions=args.repetitions)  # type: ignore[arg-type]
            why = sandbox.cost_unavailable(objective.cost)
            if why is not None:
                print(f"\n== {method}: not measurable here: {why}")
                continue
            tallies[method] = run_method(sandbox, problems, aa_problems, fast, objective, args.aa)
    print(f"\n{args.burn} busy loop(s) running; one sandbox worker; inputs drawn afresh per measurement")
    print(f"{'method':13} {'detected':>10} {'false faster (A/A)':>20} {'s per measurement':>18}")
    for method, t in tallies.items():
        rate = t.false_faster / t.pairs if t.pairs else 0.0
        print(
            f"{method:13} {t.detected:>4}/{t.problems:<5} {t.false_faster:>5}/{t.pairs:<4} = {rate:6.1%} "
            f"{statistics.median(t.seconds):>12.2f} s"
        )
    if "cpu" in tallies and "instructions" in tallies:
        ratio = statistics.median(tallies["instructions"].seconds) / statistics.median(tallies["cpu"].seconds)
        print(f"cost of a measurement, instructions / cpu: {ratio:.2f}x")


if __name__ == "__main__":
    main()
