"""Candidates per second per language: a trivial correct stdin/stdout program (compile included)
through the local sandbox, Python's as the baseline measured in the same process.

    python perf/language_throughput.py [--workers N] [--candidates N]

Each candidate is a distinct program (a comment numbers it), so every one is compiled afresh;
``--workers`` runs that many at once (the pool's width). For each language: candidates/s, the
ratio to Python's, the median compile time and the median run time of its one test, as the
sandbox reported them apart. ``perf/sandbox_throughput.py`` prints the same lines at its end.
A language whose toolchain is missing here is named with the package to install.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from codemend.errors import InfrastructureError
from codemend.languages import LANGUAGES, language
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox, TestReport

PROGRAMS = {
    "python": "import sys\nprint(2 * int(sys.stdin.read()))\n",
    "c": "#include <stdio.h>\n"
    'int main(void) { long x; scanf("%ld", &x); printf("%ld\\n", 2 * x); return 0; }\n',
    "cpp": "#include <iostream>\nint main() { long x; std::cin >> x; std::cout << 2 * x << '\\n'; }\n",
    "java": "import java.util.Scanner;\npublic class Main { public static void main(String[] a) {\n"
    "System.out.println(2 * new Scanner(System.in).nextLong()); } }\n",
    "javascript": "console.log(String(2 * Number(require('fs').readFileSync(0, 'utf8'))));\n",
    "rust": "use std::io::Read;\nfn main() { let mut s = String::new();\n"
    "std::io::stdin().read_to_string(&mut s).unwrap();\n"
    'println!("{}", 2 * s.trim().parse::<i64>().unwrap()); }\n',
}
COMMENT = {"python": "# candidate {}\n", "javascript": "// candidate {}\n"}


def _problem(name: str) -> Problem:
    tests = [{"kind": "io", "stdin": "21\n", "expected_stdout": "42\n"}]
    return Problem.model_validate({"id": f"trivial-{name}", "prompt": "", "language": name, "tests": tests})


def measure(
    sandbox: LocalSandbox, name: str, candidates: int, workers: int
) -> tuple[float, list[TestReport]]:
    """Wall seconds for ``candidates`` distinct trivial programs in ``name``, ``workers`` at once."""
    problem = _problem(name)
    comment = COMMENT.get(name, "/* candidate {} */\n")
    codes = [comment.format(i) + PROGRAMS[name] for i in range(candidates)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reports = list(pool.map(lambda code: sandbox.run(problem, code), codes))
    return time.perf_counter() - start, reports


def report(workers: int, candidates: int = 20) -> None:
    """Print one line per language: candidates/s (compile included) against Python's."""
    print(f"per language: a trivial correct stdin/stdout program, {candidates} candidates, {workers} at once")
    baseline: float | None = None
    with LocalSandbox(workers=workers, isolation="namespaces") as sandbox:
        sandbox.start()
        for name in LANGUAGES:
            shown = language(name).display
            try:
                measure(sandbox, name, workers, workers)  # warm-up: the toolchain's files in the page cache
                wall, reports = measure(sandbox, name, candidates, workers)
            except InfrastructureError as exc:
                print(f"  {shown:<10} not measured: {exc}")
                continue
            failed = sum(not r.passed for r in reports)
            rate = candidates / wall
            baseline = baseline or rate
            compiled = [r.compile.duration_s for r in reports if r.compile is not None]
            run = statistics.median(r.results[0].duration_s for r in reports)
            compile_text = (
                f"compile {statistics.median(compiled) * 1e3:7.1f} ms" if compiled else "compile       -   "
            )
            print(
                f"  {shown:<10} {rate:7.1f} candidates/s  ({rate / baseline:5.3f}x Python)  "
                f"{compile_text}  run {run * 1e3:6.1f} ms" + (f"  ({failed} did not pass!)" if failed else "")
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--candidates", type=int, default=20)
    args = parser.parse_args()
    report(args.workers, args.candidates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
