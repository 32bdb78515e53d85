"""How well ``--objective speed`` tells faster from not faster, and what a measurement costs.

    python perf/optimise_accuracy.py [--repetitions N] [--trials N] [--burn N] [--problems a,b]

On the committed example set (``examples/optimise/``: a slow but correct reference and a
hand-written fast solution per problem), in one run and one sandbox worker:

1. **Detection rate**: the fast solution measured against the reference; a real speedup is
   detected when the verdict is ``faster`` (one-sided Mann-Whitney U at alpha 0.05).
2. **False-positive rate**: the reference measured against itself, ``--trials`` times per
   problem; any ``faster`` verdict is a false positive (expected at most alpha = 5%).
3. **Cost per candidate**: the wall time of one measurement (warm-up plus ``--repetitions``
   paired fresh-process runs of candidate and baseline), in ms, and per sandboxed run.

``--burn N`` runs N busy loops meanwhile (the machines have 2 cores), as the tests do.
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
from collections.abc import Iterator
from pathlib import Path

from codemend.optimise import SpeedSettings, measure_speed, prepare_workload
from codemend.problems import load_problems
from codemend.sandbox import LocalSandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "optimise"


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--trials", type=int, default=3, help="Identical-program trials per problem.")
    parser.add_argument("--burn", type=int, default=0, help="Busy loops running meanwhile.")
    parser.add_argument("--problems", help="Comma-separated ids (default: all).")
    args = parser.parse_args()
    problems = load_problems(EXAMPLES / "problems.jsonl")
    if args.problems:
        wanted = set(args.problems.split(","))
        problems = [p for p in problems if p.id in wanted]
    fast: dict[str, str] = json.loads((EXAMPLES / "fast.json").read_text())
    settings = SpeedSettings(repetitions=args.repetitions)
    runs_each = 2 * (settings.warmup + settings.repetitions)
    detected, false_pos, same_trials, costs = 0, 0, 0, []
    print(f"{'problem':18} {'verdict':8} {'speedup':>8} {'p_faster':>9} {'ref ms':>8} {'fast ms':>8} "
          f"{'cost ms':>8}  identical: verdicts")  # fmt: skip
    with LocalSandbox(workers=1) as sandbox, burner(args.burn):
        for problem in problems:
            reference = problem.reference_solution or ""
            work = prepare_workload(sandbox, problem, reference)
            m = measure_speed(sandbox, work, reference, fast[problem.id], settings)
            detected += m.verdict == "faster"
            costs.append(m.wall_s)
            verdicts = []
            for _ in range(args.trials):
                same = measure_speed(sandbox, work, reference, reference, settings)
                verdicts.append(same.verdict)
                costs.append(same.wall_s)
            false_pos += verdicts.count("faster")
            same_trials += len(verdicts)
            print(
                f"{problem.id:18} {m.verdict:8} {m.speedup or 0:8.2f} {m.p_faster or 0:9.2g} "
                f"{1000 * (m.baseline_median_s or 0):8.1f} {1000 * (m.candidate_median_s or 0):8.1f} "
                f"{1000 * m.wall_s:8.0f}  {', '.join(verdicts)}"
            )
        contained = sandbox.contained
    print()
    print(
        f"measure: {m.method} (wait4 CPU time of each fresh candidate process tree), "
        f"contained={contained}, {settings.warmup} warm-up + {settings.repetitions} paired repetitions, "
        f"alpha {settings.alpha}, {args.burn} busy loop(s) running"
    )
    print(f"detection rate of real speedups: {detected}/{len(problems)} = {detected / len(problems):.1%}")
    rate = false_pos / same_trials if same_trials else 0.0
    print(f"false-positive rate on identical programs: {false_pos}/{same_trials} = {rate:.1%}")
    print(
        f"cost per candidate measurement: median {1000 * statistics.median(costs):.0f} ms "
        f"({runs_each} sandboxed runs, {1000 * statistics.median(costs) / runs_each:.0f} ms per run)"
    )


if __name__ == "__main__":
    main()
