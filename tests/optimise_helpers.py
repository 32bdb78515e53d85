"""Helpers for the optimisation tests: the committed example set and a CPU burner."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from codemend.problems import Problem, load_problems

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "optimise"


def example(problem_id: str) -> Problem:
    return next(p for p in load_problems(EXAMPLES / "problems.jsonl") if p.id == problem_id)


def fast_solution(problem_id: str) -> str:
    solutions: dict[str, str] = json.loads((EXAMPLES / "fast.json").read_text())
    return solutions[problem_id]


@contextlib.contextmanager
def cpu_burner(processes: int = 2) -> Iterator[list[int]]:
    """Busy loops on every core, the background load the measurement must stand up to."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(processes)
    ]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
