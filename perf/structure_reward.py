"""The structure reward on the attack candidates of ``tests/test_agents_credit.py``, and what its
credit check costs against one sandboxed run of the same candidate, in one run.

    python perf/structure_reward.py [--repeat N]

For each candidate (the reference; a right answer in another style; ``return 0``; and each attack
with the answer it pads): visible tests passed, CodeBLEU's syntax and data-flow match (the export
columns, recall: an attack raises them), the credited statements, the closeness and the reward
``score`` (an attack scores what its answer scores without it), then the median time of the
credit check and its ratio to one sandboxed run of the visible tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_agents_credit import ATTACKS, CONSTANT, OTHER_STYLE, REFERENCE, positives_problem

from codemend.agents import scored_structure, structure_score
from codemend.agents.credit import credit
from codemend.agents.statements import Credited
from codemend.sandbox import LocalSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per candidate (median)")
    args = parser.parse_args()
    problem = positives_problem()
    candidates = {"the reference": REFERENCE, "right, another style": OTHER_STYLE, "return 0": CONSTANT}
    candidates |= {attack: code for attack, (code, _) in ATTACKS.items()}
    tests = problem.visible_tests()
    print(f"{'candidate':58s} passed syntax dataflow credited closeness  score   check    run  ratio")
    with LocalSandbox(workers=2) as sandbox:
        for name, code in candidates.items():
            report = sandbox.run(problem, code, tests)
            checks, runs = [], []
            found: Credited | str = ""
            for _ in range(args.repeat):
                start = time.perf_counter()
                sandbox.run(problem, code, tests)
                runs.append(time.perf_counter() - start)
                start = time.perf_counter()
                found = asyncio.run(credit(sandbox, problem, code, report))
                checks.append(time.perf_counter() - start)
            s = scored_structure(structure_score(problem, code), problem, code, report, found)
            check, run = statistics.median(checks) * 1000, statistics.median(runs) * 1000
            credited = f"{s.credited}/{s.statements}" if s.credited is not None else "-"
            unscored = f"  unscored: {s.unscored}" if s.unscored else ""
            print(
                f"{name[:58]:58s} {sum(r.passed for r in report.results)}/{len(tests)}   {_n(s.syntax_match)}"
                f"    {_n(s.dataflow_match)} {credited:>8s}     {_n(s.closeness)}  {_n(s.score)}"
                f" {check:6.1f} {run:6.1f} {check / run:5.1f}x{unscored}"
            )


def _n(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
