"""Every README example runs, so the docs cannot rot (STYLE.md 13)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from language_helpers import need_toolchain

from codemend.languages import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.DOTALL)
# Install and test are what CI itself runs; running them from a test would recurse.
NOT_HERE = ("python -m pip install", "python -m pytest")


def commands() -> list[tuple[str, int]]:
    found = []
    for lang, body in BLOCKS:
        if lang != "console":
            continue
        for line in body.splitlines():
            if not line.startswith("$ ") or line[2:].startswith(NOT_HERE):
                continue
            command, _, comment = line[2:].partition("   # ")
            code = int(comment.split()[1]) if comment.startswith("exit ") else 0
            found.append((command.strip(), code))
    return found


def test_readme_has_examples() -> None:
    assert len(commands()) >= 3
    assert any(lang == "python" for lang, _ in BLOCKS)


@pytest.mark.parametrize(("command", "exit_code"), commands(), ids=lambda v: str(v)[:60])
def test_console_examples(command: str, exit_code: int) -> None:
    for name in LANGUAGES:  # a language's example needs its toolchain (skipped, with why, if not here)
        if f"examples/languages/{name}/" in command:
            need_toolchain(name)
    if command.startswith("codemend "):
        command = f"{sys.executable} -m codemend {command[len('codemend ') :]}"
    if command.startswith("python "):
        command = f"{sys.executable} {command[len('python ') :]}"
    out = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == exit_code, out.stdout + out.stderr


@pytest.mark.parametrize("code", [b for lang, b in BLOCKS if lang == "python"])
def test_python_examples(code: str) -> None:
    for name in LANGUAGES:
        if f"examples/languages/{name}/" in code:
            need_toolchain(name)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_json_example_is_the_example_file() -> None:
    shown = [json.loads(b) for lang, b in BLOCKS if lang == "json"]
    assert json.loads((ROOT / "examples" / "square.json").read_text()) in shown


@pytest.mark.slow
def test_the_bench_report_shown_is_the_one_the_example_writes(tmp_path: Path) -> None:
    """The known model's summary and tables in the Bench section are what
    ``examples/known_model_bench.py`` writes today (wall time aside): seeded, so a change of the
    report's format or statistics shows here, and the README is brought up to date with it."""
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "examples/known_model_bench.py", "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr

    def steady(text: str) -> list[str]:
        return [re.sub(r"[\d.]+ s per solved", "T s per solved", line) for line in text.splitlines()]

    shown = [body for lang, body in BLOCKS if lang == "text"]
    summary = next(b for b in shown if b.startswith("jsonl: pass@1 "))
    assert steady(out.stdout) == steady(summary)
    report = (run_dir / "report.md").read_text()
    tables = next(b for b in shown if b.startswith("| token budget |"))
    assert all(line in report for line in tables.splitlines())
