"""Benchmark loaders and metrics."""

from codemend.benchmarks.humaneval import load_humaneval
from codemend.benchmarks.passk import mean_pass_at_k, pass_at_k

__all__ = ["load_humaneval", "mean_pass_at_k", "pass_at_k"]
