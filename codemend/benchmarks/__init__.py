"""Benchmark loaders, the batch runner (``codemend bench``) and its metrics."""

from codemend.benchmarks.bench import BenchOutcome, abench
from codemend.benchmarks.humaneval import load_humaneval
from codemend.benchmarks.metrics import BenchSummary, summarise
from codemend.benchmarks.passk import mean_pass_at_k, pass_at_k
from codemend.benchmarks.registry import BENCHMARKS, load_benchmark
from codemend.benchmarks.runner import BenchDeps, BenchResult, Progress, RunOptions, run_bench
from codemend.benchmarks.spec import BenchSpec, FeedbackTests

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
