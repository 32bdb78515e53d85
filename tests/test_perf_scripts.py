"""The benchmark scripts in ``perf/`` and the examples are not run by the suite (they measure, for
minutes), so a module they import that moved would go unnoticed until someone runs them: every
``import`` and ``from ... import`` in them must resolve against this checkout."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "perf").glob("*.py")) + sorted((ROOT / "examples").rglob("*.py"))


def _unresolved(script: Path) -> list[str]:
    missing = []
    for node in ast.walk(ast.parse(script.read_text(), filename=str(script))):
        if isinstance(node, ast.Import):
            names = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [(node.module, alias.name) for alias in node.names]
        else:
            continue
        for module_name, attribute in names:
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                missing.append(f"line {node.lineno}: {module_name} ({exc})")
                continue
            if attribute and attribute != "*" and not hasattr(module, attribute):
                try:
                    importlib.import_module(f"{module_name}.{attribute}")
                except ImportError:
                    missing.append(f"line {node.lineno}: {attribute} from {module_name}")
    return missing


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_of_the_script_resolves(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as when run: the script's own folder and tests/ (the perf scripts' helpers) are importable
    monkeypatch.setattr(sys, "path", [str(script.parent), str(ROOT / "tests"), *sys.path])
    assert _unresolved(script) == []
