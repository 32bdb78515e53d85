"""Benchmark loaders, the batch runner (``codemend bench``) and its metrics.

Names are imported on first use: a loader (``codemend evaluate`` reading HumanEval) must not
pull in the repair graph, LangGraph and openai that the runner needs.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codemend.benchmarks.bench import BenchOutcome, abench
    from codemend.benchmarks.humaneval import load_humaneval
    from codemend.benchmarks.metrics import BenchSummary, summarise
    from codemend.benchmarks.passk import mean_pass_at_k, pass_at_k
    from codemend.benchmarks.registry import BENCHMARKS, load_benchmark
    from codemend.benchmarks.runner import BenchDeps, BenchResult, Progress, RunOptions, run_bench
    from codemend.benchmarks.spec import BenchSpec, FeedbackTests

_HOMES = {
    "codemend.benchmarks.bench": ("BenchOutcome", "abench"),
    "codemend.benchmarks.humaneval": ("load_humaneval",),
    "codemend.benchmarks.metrics": ("BenchSummary", "summarise"),
    "codemend.benchmarks.passk": ("mean_pass_at_k", "pass_at_k"),
    "codemend.benchmarks.registry": ("BENCHMARKS", "load_benchmark"),
    "codemend.benchmarks.runner": ("BenchDeps", "BenchResult", "Progress", "RunOptions", "run_bench"),
    "codemend.benchmarks.spec": ("BenchSpec", "FeedbackTests"),
}
_LAZY = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'codemend.benchmarks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "BENCHMARKS",
    "BenchDeps",
    "BenchOutcome",
    "BenchResult",
    "BenchSpec",
    "BenchSummary",
    "FeedbackTests",
    "Progress",
    "RunOptions",
    "abench",
    "load_benchmark",
    "load_humaneval",
    "mean_pass_at_k",
    "pass_at_k",
    "run_bench",
    "summarise",
]
