"""The EvalPerf loader: the slowest reference is the baseline, the performance input the
workload, and a candidate is checked against the baseline on it in the harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemend.benchmarks.registry import load_benchmark
from codemend.errors import ProblemFileError
from codemend.optimise import measure_speed, prepare_workload
from codemend.sandbox import LocalSandbox

SLOW = """def count_pairs(xs):
    n = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            n += xs[i] == xs[j]
    return n
"""
FAST = """from collections import Counter


def count_pairs(xs):
    return sum(c * (c - 1) // 2 for c in Counter(xs).values())
"""
RECORD = {
    "task_id": "Toy/0",
    "entry_point": "count_pairs",
    "prompt": 'def count_pairs(xs):\n    """How many pairs i < j have xs[i] == xs[j]."""\n',
    "reference": [FAST, SLOW],
    "scores": [95.0, 5.0],
    "pe_input": json.dumps([[[i % 97 for i in range(1500)]]]),
}


def write(tmp_path: Path, record: dict[str, object]) -> Path:
    path = tmp_path / "evalperf.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


def test_the_slowest_reference_is_the_baseline_and_pe_input_the_workload(
    tmp_path: Path, sandbox: LocalSandbox
) -> None:
    (problem,) = load_benchmark("evalperf", write(tmp_path, RECORD))
    assert problem.reference_solution == SLOW and problem.id == "Toy/0"
    assert [t.call for t in problem.perf_tests] == ["count_pairs(*_cm_pe_input)"]
    assert not problem.visible_tests() and [t.visibility for t in problem.perf_tests] == ["hidden"]
    assert "_cm_pe_input" in problem.hidden_tests()[0].code  # type: ignore[union-attr]
    assert sandbox.run(problem, FAST).passed
    assert not sandbox.run(problem, "def count_pairs(xs):\n    return 0\n").passed
    work = prepare_workload(sandbox, problem, SLOW, hidden=True)
    assert measure_speed(sandbox, work, SLOW, FAST).verdict == "faster"


def test_a_body_completes_the_prompt_and_bad_inputs_name_the_field(tmp_path: Path) -> None:
    body = {**RECORD, "reference": ["    return 0\n"], "scores": None}
    (problem,) = load_benchmark("evalperf", write(tmp_path, body))
    assert problem.reference_solution == str(RECORD["prompt"]) + "    return 0\n"
    with pytest.raises(ProblemFileError, match="pe_input"):
        load_benchmark("evalperf", write(tmp_path, {**RECORD, "pe_input": "[]"}))
