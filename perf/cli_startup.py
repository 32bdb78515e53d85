"""Start-up time of each ``codemend`` command, next to ``python -c pass``, in one run.

    python perf/cli_startup.py [--repeat N]

Each line is the median wall time of N runs of ``python -m codemend ARGS`` (a fresh
interpreter each time) and its ratio to a bare interpreter's start measured in the same run;
then, for the commands that run tests, the time until the command is loaded and ready to start
its sandbox (interpreter start and every import). Targets: ``--help`` and ``--version`` under
0.3 s; ``check`` and ``evaluate`` ready under 0.6 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = [
    ["--version"],
    ["--help"],
    ["check", "--help"],
    ["evaluate", "--help"],
    ["solve", "--help"],
    ["bench", "--help"],
    ["export", "--help"],
    ["serve", "--help"],
]


def timed(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    base = timed([sys.executable, "-c", "pass"], args.repeat)
    print(f"{'python -c pass':32} {base:6.3f} s")
    for case in CASES:
        took = timed([sys.executable, "-m", "codemend", *case], args.repeat)
        print(f"{'codemend ' + ' '.join(case):32} {took:6.3f} s   x{took / base:5.1f}")
    for command in ("check", "evaluate"):
        ready = (
            "from codemend.cli.main import load_command; "
            f"load_command({command!r}); import codemend.sandbox.local, codemend.problems"
        )
        took = timed([sys.executable, "-c", ready], args.repeat)
        print(f"{'codemend ' + command + ' (ready to run)':32} {took:6.3f} s   x{took / base:5.1f}")


if __name__ == "__main__":
    main()
