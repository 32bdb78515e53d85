"""Prompt templates: one loader, and a template that does not fit its kind fails at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemend.prompts import Prompts, TemplateError, load_prompt, parse_template


def test_codemend_templates_load_and_render() -> None:
    prompts = Prompts.load()
    values = {"task": "T", "target": "G", "tests": "assert f()", "entry_point": "f"}
    values |= {"language": "Python", "fence": "python"}
    assert "assert f()" in prompts.generate.render(**values)
    repair = prompts.repair.render(**values, code="CODE", feedback="FEEDBACK")
    assert "CODE" in repair and "FEEDBACK" in repair
    assert set(prompts.hashes()) == {"generate", "repair", "critique", "optimise"}


def test_unknown_variable_fails_at_load_naming_file_and_variable(tmp_path: Path) -> None:
    path = tmp_path / "mine.md"
    path.write_text("Solve $task using $hidden_tests")
    with pytest.raises(TemplateError, match=r"mine\.md.*unknown variable\(s\) \$hidden_tests"):
        load_prompt("generate", path)


def test_missing_needed_variable_fails_at_load() -> None:
    with pytest.raises(TemplateError, match=r"missing variable\(s\) \$feedback"):
        parse_template("repair", "Fix $code please")


def test_stray_dollar_fails_at_load_and_double_dollar_is_a_dollar() -> None:
    with pytest.raises(TemplateError, match="invalid placeholder"):
        parse_template("generate", "$task costs $5")
    rendered = parse_template("generate", "$task costs $$5").render(
        task="T", target="", tests="", entry_point="", language="", fence=""
    )
    assert rendered == "T costs $5"


def test_a_user_file_replaces_one_template(tmp_path: Path) -> None:
    path = tmp_path / "gen.md"
    path.write_text("Only: $task")
    prompts = Prompts.load(generate=path)
    assert prompts.generate.source == str(path)
    assert (
        prompts.generate.render(task="X", target="", tests="", entry_point="", language="", fence="")
        == "Only: X"
    )
    assert prompts.repair.source == "codemend/prompts/repair.md"


def test_unreadable_file_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read"):
        load_prompt("critique", tmp_path / "missing.md")


def test_rendering_checks_the_values_it_is_given() -> None:
    with pytest.raises(TypeError, match="missing"):
        load_prompt("generate").render(task="T")
