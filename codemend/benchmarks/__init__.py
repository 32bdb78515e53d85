"""Benchmark loaders, the batch runner (``codemend bench``) and its metrics.

Names are imported on first use: a loader (``codemend evaluate`` reading HumanEval) must not
pull in the repair graph, LangGraph and openai that the runner needs.
"""

from typing import TYPE_CHECKING

from codemend._lazy import lazy_names

if TYPE_CHECKING:
    from codemend.benchmarks.bench import BenchOutcome, abench
    from codemend.benchmarks.hidden import HiddenJudge, HiddenLog, HiddenVerdicts
    from codemend.benchmarks.humaneval import load_humaneval
    from codemend.benchmarks.languages import InLanguage, in_language
    from codemend.benchmarks.lock import run_dir_lock
    from codemend.benchmarks.metrics import BenchSummary, infrastructure_cause, summarise
    from codemend.benchmarks.multipl_e import load_multipl_e
    from codemend.benchmarks.passk import mean_pass_at_k, pass_at_k
    from codemend.benchmarks.registry import BENCHMARKS, load_benchmark
    from codemend.benchmarks.remote import Solved, TrajectoryBackend, TrajectoryJob, judge_record, run_job
    from codemend.benchmarks.runner import BenchDeps, BenchResult, Progress, RunOptions, read_spec, run_bench
    from codemend.benchmarks.samples import evaluate_samples, read_samples
    from codemend.benchmarks.spec import (
        BenchSpec,
        FeedbackTests,
        default_temperature,
        evaluation_tests,
        feedback_view,
        released,
        select,
    )

_HOMES = {
    "codemend.benchmarks.bench": ("BenchOutcome", "abench"),
    "codemend.benchmarks.hidden": ("HiddenJudge", "HiddenLog", "HiddenVerdicts"),
    "codemend.benchmarks.humaneval": ("load_humaneval",),
    "codemend.benchmarks.languages": ("InLanguage", "in_language"),
    "codemend.benchmarks.lock": ("run_dir_lock",),
    "codemend.benchmarks.metrics": ("BenchSummary", "infrastructure_cause", "summarise"),
    "codemend.benchmarks.multipl_e": ("load_multipl_e",),
    "codemend.benchmarks.passk": ("mean_pass_at_k", "pass_at_k"),
    "codemend.benchmarks.registry": ("BENCHMARKS", "load_benchmark"),
    "codemend.benchmarks.remote": ("Solved", "TrajectoryBackend", "TrajectoryJob", "judge_record", "run_job"),
    "codemend.benchmarks.runner": (
        "BenchDeps",
        "BenchResult",
        "Progress",
        "RunOptions",
        "read_spec",
        "run_bench",
    ),
    "codemend.benchmarks.samples": ("evaluate_samples", "read_samples"),
    "codemend.benchmarks.spec": (
        "BenchSpec",
        "FeedbackTests",
        "default_temperature",
        "evaluation_tests",
        "feedback_view",
        "released",
        "select",
    ),
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
    "HiddenJudge",
    "HiddenLog",
    "HiddenVerdicts",
    "InLanguage",
    "Progress",
    "RunOptions",
    "Solved",
    "TrajectoryBackend",
    "TrajectoryJob",
    "abench",
    "default_temperature",
    "evaluate_samples",
    "evaluation_tests",
    "feedback_view",
    "in_language",
    "infrastructure_cause",
    "judge_record",
    "load_benchmark",
    "load_humaneval",
    "load_multipl_e",
    "mean_pass_at_k",
    "pass_at_k",
    "read_samples",
    "read_spec",
    "released",
    "run_bench",
    "run_dir_lock",
    "run_job",
    "select",
    "summarise",
]
