"""``codemend view RUN_DIR [--out DIR] [--open]``: a run as a static site that opens offline."""

from __future__ import annotations

import time
import webbrowser
from pathlib import Path

import click

from codemend.cli.common import EXIT_BAD_INPUT, die, stderr
from codemend.errors import UserError


def _default_out(run_dir: Path) -> Path:
    return run_dir / "view" if run_dir.is_dir() else run_dir.with_name(f"{run_dir.stem}-view")


@click.command()
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of the site (default: RUN_DIR/view).",
)
@click.option("--run", "run_id", default=None, help="The run to show, when the store holds several.")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in the default browser.")
def view(run_dir: Path, out: Path | None, run_id: str | None, open_browser: bool) -> None:
    """Write RUN_DIR's trajectories as a static site to browse offline.

    RUN_DIR is a bench run directory (or a trajectory store, .db). The site is index.html (the
    run's settings, summary, pass@k by round, infrastructure errors and a searchable,
    filterable problem list) and one page per trajectory: every step's messages, reply, code and
    diff, visible tests, critique and feedback, rewards, tokens and latency, the stop reason, and
    the hidden-test result of the final answer, kept apart (the model never saw it). No server,
    no network: it opens from file://.
    """
    from codemend.viewer import build_site, open_run

    started = time.perf_counter()
    target = out or _default_out(run_dir)
    try:
        site = build_site(open_run(run_dir, run_id), target)
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        die(f"cannot write the site to {target}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    took = time.perf_counter() - started
    stderr.print(f"{site.trajectories} trajectories, {site.bytes / 1e6:.1f} MB in {took:.1f} s")
    click.echo(site.index.resolve().as_uri())
    if open_browser:
        webbrowser.open(site.index.resolve().as_uri())
