"""``--objective speed`` on a C++ problem end to end (scripted endpoint, real sandbox, g++):
``codemend.solve`` from the problem's C++ reference solution to a faster program, measured on
the built programs with the compile command recorded; ``codemend bench --objective speed`` on the
same problem (the hidden judge's measurement); and ``--cost instructions``, which is counted for
Python only, refused before any model call."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from language_bench_helpers import ROOT, program, reply
from language_helpers import need_toolchain
from scripted_server import ScriptedServer, ok

from codemend import UserError, solve
from codemend.llm import LLMSettings
from codemend.optimise import Speed
from codemend.problems import PerfTest, Problem, load_problem
from codemend.sandbox import LocalSandbox
from codemend.trajectories import TrajectoryStore

pytest_plugins = ["llm_fixtures"]
pytestmark = pytest.mark.slow

QUADRATIC = """#include <iostream>
#include <vector>

int main() {
    int n;
    std::cin >> n;
    std::vector<long long> a(n);
    for (auto& x : a) std::cin >> x;
    long long best = a[0];
    for (int i = 0; i < n; ++i) {
        long long sum = 0;
        for (int j = i; j < n; ++j) {
            sum += a[j];
            if (sum > best) best = sum;
        }
    }
    std::cout << best << '\\n';
}
"""
"""A correct, slow (quadratic) reference solution of the fixture problem."""


def cpp_speed_problem() -> Problem:
    rng = random.Random(11)
    n = 30_000
    stdin = f"{n}\n" + " ".join(str(rng.randint(-(10**9), 10**9)) for _ in range(n)) + "\n"
    problem = load_problem(ROOT / "examples" / "languages" / "cpp" / "problem.json")
    return problem.model_copy(
        update={"perf_tests": [PerfTest(stdin=stdin)], "reference_solution": QUADRATIC, "time_limit_s": 20}
    )


def test_solve_from_the_cpp_reference_to_a_faster_program(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    need_toolchain("cpp")
    problem = cpp_speed_problem()
    scripted.queue(ok(reply("cpp")))
    result = solve(problem, llm=llm_settings, sandbox=sandbox, objective=Speed(repetitions=4), rounds=1)
    first = scripted.requests[0].body["messages"][-1]["content"]
    assert first.startswith("The C++ solution below to the task is correct. Make it faster.")
    assert "```cpp" in first and QUADRATIC in first
    assert "1 hidden input(s)" in first and "30000\n" not in first  # described, never shown
    t = result.trajectory
    assert result.passed and result.code == program("cpp") and t.objective == "speed"
    for m in (t.steps[0].measurement, t.final_measurement):
        assert m is not None and m.verdict == "faster" and m.language == "cpp" and m.method == "cpu"
        assert m.compile_command is not None and m.compile_command.startswith("/usr/bin/g++ -std=c++17 -O2")
        assert m.speedup is not None and m.speedup > 2
    assert t.final_measurement is not None and t.final_measurement.hidden


def test_bench_speed_on_a_cpp_problem_records_the_build(tmp_path: Path) -> None:
    need_toolchain("cpp")
    data = tmp_path / "cpp-speed.json"
    data.write_text(cpp_speed_problem().model_dump_json())
    with ScriptedServer() as endpoint:
        endpoint.queue(ok(reply("cpp")))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
        env |= {"CODEMEND_BASE_URL": endpoint.url, "CODEMEND_MODEL": "scripted", "PYTHONPATH": str(ROOT)}
        run_dir = tmp_path / "run"
        args = ["jsonl", "--data", str(data), "--objective", "speed", "--repetitions", "4", "--rounds", "1"]
        command = [sys.executable, "-m", "codemend", "bench", *args, "--run-dir", str(run_dir)]
        out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        endpoint.check()
    assert out.returncode == 0, out.stderr
    assert "solved 1/1 scored trajectories" in out.stdout
    with TrajectoryStore(run_dir / "trajectories.db", read_only=True) as store:
        (trajectory,) = store.trajectories()
    final = trajectory.final_measurement
    assert final is not None and final.hidden and final.verdict == "faster", final.model_dump()
    assert final.language == "cpp" and final.compile_command is not None and "g++" in final.compile_command
    hidden = [json.loads(line) for line in (run_dir / "hidden.jsonl").read_text().splitlines()]
    assert hidden and "g++" in json.dumps(hidden)


def test_instructions_for_a_cpp_problem_are_refused_before_any_model_call(
    scripted: ScriptedServer, llm_settings: LLMSettings, sandbox: LocalSandbox
) -> None:
    with pytest.raises(
        UserError, match="instructions are counted for Python candidates only; measure C\\+\\+"
    ):
        solve(cpp_speed_problem(), llm=llm_settings, sandbox=sandbox, objective=Speed(cost="instructions"))
    assert scripted.requests == []
