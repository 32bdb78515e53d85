"""The root command group."""

from __future__ import annotations

import logging

import click

from codemend import __version__
from codemend.cli.bench import bench
from codemend.cli.check import check
from codemend.cli.evaluate import evaluate
from codemend.cli.export import export
from codemend.cli.serve import serve
from codemend.cli.solve import solve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codemend")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """codemend: self-repairing code generation with a sandboxed test executor."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


main.add_command(bench)
main.add_command(check)
main.add_command(evaluate)
main.add_command(export)
main.add_command(serve)
main.add_command(solve_command, name="solve")
