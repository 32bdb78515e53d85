"""``codemend bench`` in other languages than Python, as a user runs it (a subprocess against a
scripted endpoint, the real sandbox and toolchains, a real SQLite store): the MultiPL-E-style
fixture broken down by language and exported for RL, ``--language`` on an APPS file (call-based
problems left out, the language kept with the run), and the bad input around it: a left-out
problem named in ``--ids``, tests written in the target language, a toolchain missing (a
recorded infrastructure error, not a wrong answer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from language_bench_helpers import MULTIPL_E, ROOT, LanguageServer, program, reply
from language_helpers import NATIVE, need_toolchain
from scripted_server import ok

from codemend.cli.main import main
from codemend.languages import LANGUAGES
from codemend.rewards import score_details
from codemend.settings import get_settings
from codemend.trajectories import TrajectoryStore
from codemend.trajectories.ground_truth import from_ground_truth


@pytest.fixture
def server() -> Iterator[LanguageServer]:
    endpoint = LanguageServer().start()
    yield endpoint
    endpoint.stop()
    endpoint.check()


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    return env | {
        "CODEMEND_BASE_URL": url,
        "CODEMEND_MODEL": "scripted",
        "CODEMEND_MAX_ATTEMPTS": "2",
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "250",
    }


def codemend(url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "codemend", *map(str, args)]
    return subprocess.run(
        command, env=environment(url), cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def every_toolchain() -> None:
    for name in NATIVE:
        need_toolchain(name)


@pytest.mark.slow
def test_multipl_e_fixture_through_bench_by_language_and_the_rl_export(
    server: LanguageServer, tmp_path: Path
) -> None:
    """Each language's buggy program fails a visible test, the repair passes the hidden ones; the
    report breaks the run down per language; the rl rows carry each problem's language in their
    ground truth, and the reward scores a reply in that language (and 0 for one in another)."""
    every_toolchain()
    run_dir = tmp_path / "run"
    args = ("--rounds", "1", "--concurrency", "2", "--by", "language", "--run-dir", run_dir)
    out = codemend(server.url, "bench", "multipl-e", "--data", MULTIPL_E, *args)
    assert out.returncode == 0, out.stderr
    assert "(6 problems x 1 sample(s), feedback from the visible tests only)" in out.stdout
    assert "solved 6/6 scored trajectories" in out.stdout
    report = (run_dir / "report.md").read_text()
    assert "## By language" in report
    for name in LANGUAGES:
        assert f"| {name} |" in report, name
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6 and all(s["passed"] and s["repairs"] == 1 for s in samples)
    with TrajectoryStore(run_dir / "trajectories.db", read_only=True) as store:
        stored = {t.problem.id: t for t in store.trajectories()}
    rust = stored["multipl-e/max_subarray_rs"]
    assert rust.problem.language == "rust" and rust.final_code == program("rust")
    first = rust.steps[0].report
    assert first is not None and first.compile is not None and first.compile.ok
    assert "rustc" in first.compile.command

    rows_file = tmp_path / "rl.jsonl"
    out = codemend(server.url, "export", run_dir, "--format", "rl", "--out", rows_file)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in rows_file.read_text().splitlines()]
    problems = {p.id: p for p in (from_ground_truth(r["reward_model"]["ground_truth"]) for r in rows)}
    assert {p.language for p in problems.values()} == set(LANGUAGES)
    cpp = problems["multipl-e/max_subarray_cpp"]
    task_rows = [r for r in rows if "expert C++ programmer" in r["prompt"][0]["content"]]
    assert task_rows and "```cpp" in task_rows[0]["prompt"][0]["content"]
    assert score_details(cpp, reply("cpp")).score == 1.0
    buggy = score_details(cpp, reply("cpp", "buggy"))
    assert buggy.score == 0.8 and not buggy.passed  # the 64-bit test fails, 4 of 5 pass
    python = score_details(cpp, reply("python"))
    assert python.score == 0.0 and not python.passed


@pytest.mark.slow
def test_language_flag_on_an_apps_file(server: LanguageServer, tmp_path: Path) -> None:
    """``--language rust`` on APPS: the stdin problem is written in Rust (its starter code
    dropped), the call-based one is left out and the user told why; the language is kept with the
    run (a resume asking for another is refused) and shown in the summary."""
    need_toolchain("rust")
    fixture = json.loads((ROOT / "examples" / "languages" / "python" / "problem.json").read_text())
    tests = [fixture["tests"][2], *fixture["tests"][:2], *fixture["tests"][3:]]  # the 64-bit one visible
    stdin_problem = {
        "problem_id": 1,
        "question": fixture["prompt"],
        "starter_code": "",
        "input_output": json.dumps(
            {"inputs": [t["stdin"] for t in tests], "outputs": [t["expected_stdout"] for t in tests]}
        ),
        "difficulty": "interview",
    }
    call_based = {
        "problem_id": 2,
        "question": "Return twice x.",
        "starter_code": "def twice(x):\n",
        "input_output": json.dumps({"fn_name": "twice", "inputs": [[1], [2]], "outputs": [2, 4]}),
        "difficulty": "introductory",
    }
    data = tmp_path / "apps.jsonl"
    data.write_text(json.dumps(stdin_problem) + "\n" + json.dumps(call_based) + "\n")
    run_dir = tmp_path / "run"
    out = codemend(server.url, "bench", "apps", "--data", data, "--language", "rust", "--rounds", "1",
                   "--run-dir", run_dir)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "--language rust: 1 of 2 problems left out (their tests call a Python function" in out.stderr
    assert "(1 problems x 1 sample(s) in Rust," in out.stdout
    assert "solved 1/1 scored trajectories" in out.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["spec"]["language"] == "rust"
    assert "x 1 sample(s) in Rust," in (run_dir / "report.md").read_text()
    (request, _) = server.requests
    assert "You are an expert Rust programmer" in request.body["messages"][-1]["content"]
    with TrajectoryStore(run_dir / "trajectories.db", read_only=True) as store:
        (trajectory,) = store.trajectories()
    assert trajectory.problem.language == "rust" and trajectory.problem.id == "apps/1"
    assert trajectory.final_code == program("rust")

    again = codemend(server.url, "bench", "apps", "--data", data, "--language", "cpp", "--run-dir", run_dir,
                     "--resume")  # fmt: skip
    assert again.returncode == 2
    assert "was started with --language rust; drop --language to resume it" in again.stderr

    named = codemend(server.url, "bench", "apps", "--data", data, "--language", "rust", "--ids", "2",
                     "--run-dir", tmp_path / "other")  # fmt: skip
    assert named.returncode == 2
    assert "problem apps/2 cannot be written in rust: their tests call a Python function" in named.stderr

    only_calls = tmp_path / "calls.jsonl"
    only_calls.write_text(json.dumps(call_based) + "\n")
    none = codemend(server.url, "bench", "apps", "--data", only_calls, "--language", "rust",
                    "--run-dir", tmp_path / "none")  # fmt: skip
    assert none.returncode == 2
    assert "--language rust: none of the 1 problems can be written in Rust" in none.stderr


def test_multipl_e_tests_in_the_target_language_are_refused_naming_file_line_and_field(
    tmp_path: Path,
) -> None:
    data = tmp_path / "humaneval-cpp.jsonl"
    good = MULTIPL_E.read_text().splitlines()[2]
    harness = {
        "name": "HumanEval_23_strlen",
        "language": "cpp",
        "prompt": "#include<assert.h>\n// Return length of given string\nlong strlen(std::string string) {\n",
        "tests": '}\nint main() {\n    auto candidate = strlen;\n    assert(candidate(("")) == (0));\n}\n',
        "stop_tokens": ["\n}"],
    }
    data.write_text(good + "\n" + json.dumps(harness) + "\n")
    out = CliRunner().invoke(
        main, ["bench", "multipl-e", "--data", str(data), "--run-dir", str(tmp_path / "r")]
    )
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    assert f"{data}:2" in text and "tests" in text
    assert "tests written in C++ (MultiPL-E's own harness) are refused" in text
    assert "the verdict could be forged" in text


def test_a_missing_toolchain_is_a_recorded_infrastructure_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An empty directory as the sandbox's PATH stands for a machine without g++: the trajectory
    ends on an infrastructure error naming the package (exit 3, resumable), never a wrong answer."""
    from scripted_server import ScriptedServer

    with ScriptedServer() as endpoint:
        endpoint.queue(ok(reply("cpp")))
        for key, value in environment(endpoint.url).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr("codemend.languages.SANDBOX_PATH", str(tmp_path))
        get_settings.cache_clear()
        try:
            run_dir = tmp_path / "run"
            args = ["bench", "multipl-e", "--data", str(MULTIPL_E), "--ids", "max_subarray_cpp"]
            out = CliRunner().invoke(main, [*args, "--rounds", "0", "--run-dir", str(run_dir)])
        finally:
            get_settings.cache_clear()
        endpoint.check()
    assert out.exit_code == 3, out.output
    assert "infrastructure errors 1 (not scored)" in out.output
    assert "the C++ toolchain is missing: g++ is not in" in out.output and "apt-get install g++" in out.output
    with TrajectoryStore(run_dir / "trajectories.db", read_only=True) as store:
        (trajectory,) = store.trajectories(include_unfinished=True)
    assert trajectory.status == "infrastructure_error"
