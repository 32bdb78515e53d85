"""``codemend check PROBLEM CODE``: run a solution against a problem's tests in the sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from codemend.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAIL,
    EXIT_INFRA,
    EXIT_OK,
    die,
    sandbox_options,
    sandbox_settings,
)
from codemend.errors import InfrastructureError, UserError
from codemend.problems import load_problem
from codemend.records import TestReport
from codemend.sandbox import open_sandbox

_STYLE = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "timeout": "yellow",
    "memory": "yellow",
    "crashed": "magenta",
}


def render(report: TestReport, console: Console) -> None:
    """Print ``report`` to ``console``: one table row per test, then how compiling went (other
    languages than Python: status, time, command and diagnostics), then its stdout and stderr
    where not empty."""
    table = Table(title=f"{report.n_passed}/{len(report.results)} passed", title_justify="left")
    for col in ("#", "kind", "visibility", "status", "call / detail", "expected", "actual", "s"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        what = r.call or r.assertion or ""
        if r.exc_type:
            what += f"\n{r.exc_type}: {r.exc_message}"
        if r.detail:
            what += f"\n{r.detail}"
        status = f"[{_STYLE[r.status]}]{r.status}[/]" + ("" if r.trusted else " (untrusted)")
        table.add_row(
            str(r.index),
            r.kind,
            r.visibility,
            status,
            what.strip(),
            r.expected or "",
            r.actual or "",
            f"{r.duration_s:.3f}",
        )
    console.print(table)
    if report.compile is not None:
        c = report.compile
        console.print(
            f"[bold]compile[/] ({c.status}, {c.duration_s:.3f} s): {c.command}", markup=True, highlight=False
        )
        if c.output:
            console.print(c.output.rstrip(), markup=False, highlight=False)
    for name, text, cut in (
        ("stdout", report.stdout, report.stdout_truncated),
        ("stderr", report.stderr, report.stderr_truncated),
    ):
        if text:
            console.print(
                f"[bold]{name}[/]{' (truncated)' if cut else ''}:\n{text}", markup=True, highlight=False
            )


@click.command()
@click.argument("problem_file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("code_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--visible-only", is_flag=True, help="Run only the visible tests.")
@click.option(
    "--isolation",
    type=click.Choice(["auto", "namespaces", "rlimits"]),
    default="auto",
    show_default=True,
    help="namespaces: fail (exit 3) rather than run without Linux namespaces.",
)
@sandbox_options
def check(
    problem_file: Path,
    code_file: Path,
    as_json: bool,
    visible_only: bool,
    isolation: str,
    backend: str | None,
    image: str | None,
) -> None:
    """Run CODE_FILE against the tests of PROBLEM_FILE (.json or .jsonl with one problem).

    Exit 0 when every test passes, 1 when some fail, 2 on bad input, 3 when the sandbox is
    unavailable.
    """
    try:
        problem = load_problem(problem_file)
        code = code_file.read_text(encoding="utf-8")
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    except (OSError, UnicodeDecodeError) as exc:
        die(f"{code_file}: cannot read: {exc}", EXIT_BAD_INPUT)
    tests = problem.visible_tests() if visible_only else problem.tests
    if not tests:
        die(f"{problem_file}: the problem has no tests to run", EXIT_BAD_INPUT)
    try:
        settings = sandbox_settings(backend, image)
        with open_sandbox(settings, workers=1, isolation=isolation) as sandbox:  # type: ignore[arg-type]
            report = sandbox.run(problem, code, tests)
    except InfrastructureError as exc:
        die(str(exc), EXIT_INFRA)
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        render(report, Console())
    sys.exit(EXIT_OK if report.passed else EXIT_FAIL)
