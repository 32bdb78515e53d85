"""The root command group: each command's module is imported only when that command runs.

``codemend --help`` and ``--version`` import nothing beyond click; the short help of each
command is kept here (a test checks it matches the command's own docstring).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from codemend import __version__
from codemend.errors import ContextLengthExceeded, InfrastructureError, UserError

EXIT_BAD_INPUT, EXIT_INFRA, EXIT_INTERRUPTED = 2, 3, 130

# name -> (module:attribute, the first line of its help)
COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("codemend.cli.bench:bench", "Run benchmark NAME through the repair loop and score it..."),
    "check": ("codemend.cli.check:check", "Run CODE_FILE against the tests of PROBLEM_FILE (.json or..."),
    "evaluate": ("codemend.cli.evaluate:evaluate", 'Score SAMPLES_FILE ({"task_id", "completion"}...'),
    "export": ("codemend.cli.export:export", "Export stored trajectories of RUN_OR_DB as training data."),
    "serve": ("codemend.cli.serve:serve", "Serve SmolLM2-135M (llama.cpp) at http://HOST:PORT/v1 until..."),
    "solve": (
        "codemend.cli.solve:solve_command",
        "Solve PROBLEM (a problem file, or BENCHMARK:ID such as...",
    ),
    "view": ("codemend.cli.view:view", "Write RUN_DIR's trajectories as a static site to browse offline."),
}


def load_command(name: str) -> click.Command:
    """Import and return the click command ``name`` (a key of ``COMMANDS``) from its module."""
    module, _, attribute = COMMANDS[name][0].partition(":")
    command = getattr(importlib.import_module(module), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{module}:{attribute} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group whose commands are imported when they are invoked (or asked for their help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, sorted, without importing any of them."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, imported now; None for a name that is not one."""
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def invoke(self, ctx: click.Context) -> Any:
        """Whatever a command let through is still one line, never a traceback: bad input
        (e.g. an environment setting) exits 2, an infrastructure failure 3, Ctrl-C 130."""
        try:
            return super().invoke(ctx)
        except (UserError, ContextLengthExceeded) as exc:
            _fail(str(exc), EXIT_BAD_INPUT)
        except InfrastructureError as exc:
            _fail(str(exc), EXIT_INFRA)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help's command list, from ``COMMANDS``' one-line summaries (no command imported)."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _fail(message: str, code: int) -> None:
    from codemend.cli.common import die  # rich: only when there is something to say

    die(message, code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codemend")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """codemend: self-repairing code generation with a sandboxed test executor."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
