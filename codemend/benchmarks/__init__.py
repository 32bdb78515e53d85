"""Benchmark loaders, the batch runner (``codemend bench``) and its metrics.

Names are imported on first use: a loader (``codemend evaluate`` reading HumanEval) must not
pull in the repair graph, LangGraph and openai that the runner needs.
"""

from typing import TYPE_CHECKING

from codemend._lazy import lazy_names

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
__getattr__, __dir__ = lazy_names(__name__, globals(), _HOMES)


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
