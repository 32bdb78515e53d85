"""``codemend check`` and ``codemend solve`` on the committed per-language fixtures
(examples/languages/LANG: a problem of our own, a correct and a buggy solution), and the bad
input around languages: a toolchain missing (exit 3), an unknown language (exit 2), a reply in
another language than the problem's (a verdict with feedback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from language_helpers import need_toolchain
from repair_helpers import ROOT
from scripted_server import ScriptedServer, ok

from codemend.cli.main import main
from codemend.languages import LANGUAGES, language

pytest_plugins = ["llm_fixtures"]

EXAMPLES = ROOT / "examples" / "languages"
EXTENSION = {"python": "py", "c": "c", "cpp": "cpp", "java": "java", "javascript": "js", "rust": "rs"}


def files(name: str) -> tuple[Path, Path, Path]:
    """The fixture of language ``name``: its problem, its solution and its buggy solution."""
    folder = EXAMPLES / name
    ext = EXTENSION[name]
    return folder / "problem.json", folder / f"solution.{ext}", folder / f"buggy.{ext}"


def codemend(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "codemend", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)


def test_every_language_has_a_fixture() -> None:
    for name in LANGUAGES:
        problem, solution, buggy = files(name)
        data = json.loads(problem.read_text())
        assert data["language"] == name and data["id"] == f"max-subarray-{name}"
        assert solution.exists() and buggy.exists()


@pytest.mark.parametrize("name", LANGUAGES)
def test_check_passes_the_solution_and_fails_the_buggy_one(name: str) -> None:
    need_toolchain(name)
    problem, solution, buggy = files(name)
    out = codemend("check", problem, solution)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "5/5 passed" in out.stdout
    out = codemend("check", problem, buggy, "--json")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert [r["status"] for r in report["results"]].count("failed") == 1
    assert (report.get("compile") is not None) == (name != "python")


def test_check_shows_the_compile_error(tmp_path: Path) -> None:
    need_toolchain("rust")
    broken = tmp_path / "broken.rs"
    broken.write_text('fn main() {\n    let x: u32 = "text";\n}\n')
    out = codemend("check", files("rust")[0], broken, env={**os.environ, "COLUMNS": "250"})
    assert out.returncode == 1
    assert "CompileError" in out.stdout and "does not compile" in out.stdout
    assert "compile (error" in out.stdout and "mismatched types" in out.stdout


def test_check_with_a_missing_toolchain_exits_3_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An empty directory as the sandbox's PATH stands for a machine without the compiler."""
    monkeypatch.setattr("codemend.languages.SANDBOX_PATH", str(tmp_path))
    problem, solution, _ = files("cpp")
    result = CliRunner().invoke(main, ["check", str(problem), str(solution)])
    assert result.exit_code == 3, result.output
    assert "the C++ toolchain is missing: g++ is not in" in result.output
    assert "apt-get install g++" in result.output


def test_check_with_an_unknown_language_exits_2_naming_the_field(tmp_path: Path) -> None:
    problem = tmp_path / "cobol.json"
    data = json.loads(files("c")[0].read_text()) | {"language": "cobol"}
    problem.write_text(json.dumps(data))
    out = codemend("check", problem, files("c")[1])
    assert out.returncode == 2
    assert "language" in out.stderr and "'python', 'c', 'cpp', 'java', 'javascript' or 'rust'" in out.stderr


def _solve(server: ScriptedServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    env |= {
        "CODEMEND_BASE_URL": server.url,
        "CODEMEND_MODEL": "scripted-model",
        "CODEMEND_MAX_ATTEMPTS": "2",
        "COLUMNS": "200",
    }
    return codemend("solve", *args, env=env)


def _reply(code: str, fence: str) -> object:
    return ok(f"Here is my program:\n```{fence}\n{code}```\nIt reads stdin and prints the answer.")


@pytest.mark.parametrize("name", [n for n in LANGUAGES if n != "python"])
def test_solve_repairs_the_buggy_program(scripted: ScriptedServer, name: str) -> None:
    """The buggy program fails a visible test (a 32-bit overflow; in JavaScript, all-negative
    input); the repair prompt shows the failing test, and the model's next reply (the solution)
    passes every test, hidden ones too."""
    need_toolchain(name)
    problem, solution, buggy = files(name)
    fence = language(name).fence
    scripted.queue(_reply(buggy.read_text(), fence), _reply(solution.read_text(), fence))
    out = _solve(scripted, str(problem))
    assert out.returncode == 0, out.stderr
    assert out.stdout == solution.read_text()
    assert "solved: stopped (solved) after 1 repair(s), hidden tests 2/2" in out.stderr
    first, second = (r.body["messages"][-1]["content"] for r in scripted.requests)
    assert f"You are an expert {language(name).display} programmer." in first
    assert f"in one ```{fence} code block" in first
    assert "failed" in second and "expected:" in second


def test_a_reply_in_another_language_is_a_verdict_with_feedback(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    need_toolchain("cpp")
    problem, _, _ = files("cpp")
    python = files("python")[1].read_text()
    scripted.queue(_reply(python, "python"))
    out = _solve(scripted, str(problem), "--rounds", "0", "--json", "--run-dir", str(tmp_path))
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    critique = result["trajectory"]["steps"][0]["critique"]
    assert critique["feedback"].startswith(
        "The code does not compile as C++:\nthe code is written in Python, not C++; "
    )
    assert result["stop_reason"] == "max_rounds" and not result["passed"]


def test_the_function_example_of_the_readme_is_the_example_file() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = readme.split('```json\n{\n  "id": "render"', 1)[1].split("```", 1)[0]
    example = json.loads((EXAMPLES / "rust" / "function.json").read_text())
    assert json.loads('{\n  "id": "render"' + shown) == example
