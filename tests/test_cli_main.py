"""The root command: lazy imports, so that ``--help`` and ``--version`` answer at once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from codemend.cli.main import COMMANDS, load_command, main

HEAVY = ("langgraph", "langchain_core", "openai", "matplotlib", "httpx", "rich", "pydantic", "datasets")


def _imported_after(code: str) -> list[str]:
    report = "import json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    probe = f"import sys\n{code}\n{report}"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return [m for m in json.loads(out.stdout.splitlines()[-1]) if m in HEAVY]


def test_import_codemend_imports_nothing_heavy_until_used() -> None:
    assert _imported_after("import codemend") == []
    assert "pydantic" in _imported_after("import codemend; codemend.Problem")
    assert {"langgraph", "openai"} <= set(_imported_after("import codemend; codemend.solve"))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_nothing_heavy(args: list[str]) -> None:
    code = (
        f"import sys; sys.argv = ['codemend', *{args!r}]\n"
        "from codemend.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _imported_after(code) == []


@pytest.mark.parametrize("command", ["check", "evaluate"])
def test_the_commands_that_only_run_tests_load_no_model_code(command: str) -> None:
    """``evaluate`` used to import the repair graph, LangGraph and openai (3 s) through
    ``codemend.benchmarks``' package imports, before running a single test."""
    heavy = _imported_after(f"from codemend.cli.main import load_command; load_command({command!r})")
    assert not {"langgraph", "langchain_core", "openai", "matplotlib", "datasets"} & set(heavy)


def test_each_commands_short_help_is_its_own() -> None:
    for name, (_, short) in COMMANDS.items():
        first = (load_command(name).help or "").strip().splitlines()[0]
        assert first.startswith(short.removesuffix("...")), (name, first)


def test_the_root_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output
    assert CliRunner().invoke(main, ["nope"]).exit_code == 2
