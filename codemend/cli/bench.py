"""``codemend bench NAME``: a whole benchmark through the repair loop, with honest pass@k by round.

The summary goes to stdout (its first lines: whether repair beats resampling at equal tokens and
at equal model calls, with 95% intervals), the progress bar to stderr; the run dir keeps the
store, ``samples.jsonl``, ``summary.json``, ``report.md``, ``passk_by_round.png`` and
``pass_at_tokens.png``. ``--by KEY`` breaks every table down by a problem metadata key;
``--released-after/--released-before`` select problems by release date, kept with the run. Exit 0 when the run
completed (whatever it scored), 2 bad input, 3 infrastructure failure (the sandbox or the
embedded model cannot start, or trajectories ended on an infrastructure error: resume with
``--resume --retry-errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click
from pydantic import ValidationError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from codemend.agents import CRITIC_MODES
from codemend.benchmarks import (
    BENCHMARKS,
    BenchDeps,
    BenchOutcome,
    BenchSpec,
    RunOptions,
    abench,
    default_temperature,
    in_language,
    load_benchmark,
    read_spec,
    released,
    run_dir_lock,
    select,
)
from codemend.benchmarks import Progress as BenchProgress
from codemend.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    OBJECTIVE_KNOBS,
    FiniteRange,
    constraints_option,
    die,
    endpoint_epilog,
    feedback_option,
    max_tokens_help,
    objective_from,
    objective_options,
    parse_prompt_files,
    prompt_options,
    sandbox_options,
    sandbox_settings,
    stderr,
)
from codemend.cli.ray_option import ray_address, ray_option
from codemend.errors import InfrastructureError, UserError
from codemend.languages import LANGUAGES
from codemend.llm import LLMClient, resolve
from codemend.llm.client import BUSY_NOTICE_S, turn_wait_s
from codemend.prompts import Prompts
from codemend.runs import STORE_FILE, RunLayout
from codemend.sandbox import Sandbox, open_sandbox
from codemend.settings import SandboxSettings, get_settings
from codemend.trajectories import TrajectoryStore

_SPEC_OPTIONS = (
    "data", "split", "limit", "ids", "samples", "rounds", "feedback_tests", "critic", "temperature",
    "max_tokens", "seed", "released_after", "released_before", "feedback", "constraints", "language",
)  # fmt: skip


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag} {value!r}: not a date (YYYY-MM-DD, e.g. 2024-06-01)") from None


def _ids(values: tuple[str, ...]) -> list[str] | None:
    ids = [i.strip() for v in values for i in v.split(",") if i.strip()]
    return ids or None


def _spec(name: str, options: dict[str, Any]) -> BenchSpec:
    if options["limit"] is not None and options["ids"]:
        raise UserError("give --limit or --ids, not both")
    values = {k: options[k] for k in _SPEC_OPTIONS}
    values["ids"] = _ids(options["ids"])
    values["constraints"] = list(options["constraints"])
    values["prompt_files"] = parse_prompt_files(options["prompt_files"])
    values["data"] = str(Path(options["data"]).resolve()) if options["data"] else None
    values["objective"] = objective_from(options)
    for key in ("released_after", "released_before"):
        values[key] = _day(options[key], "--" + key.replace("_", "-"))
    if values["temperature"] is None:
        values["temperature"] = default_temperature(options["samples"])
    try:
        return BenchSpec(benchmark=name, **{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:  # what click's types cannot check: an empty date window
        raise UserError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None


def _resumed_spec(name: str, run_dir: Path, options: dict[str, Any], given: set[str]) -> BenchSpec:
    """The stored settings; an option given again must agree with them."""
    _, stored = read_spec(run_dir)
    if stored.benchmark != name:
        raise UserError(f"{run_dir} is a {stored.benchmark} run, not {name}")
    wanted = _spec(name, options)
    for key in sorted(given & {*_SPEC_OPTIONS, *OBJECTIVE_KNOBS, "prompt_files"}):
        field = "objective" if key in OBJECTIVE_KNOBS else key
        if getattr(wanted, field) != getattr(stored, field):
            flag = "--prompt-file" if key == "prompt_files" else "--" + key.replace("_", "-")
            raise UserError(
                f"{run_dir} was started with {flag} {getattr(stored, field)}; drop {flag} to resume it"
            )
    return stored


def _stored_by(run_dir: Path) -> str | None:
    """The ``--by`` key the run's last report was broken down by, if any."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        by = json.loads(RunLayout(run_dir).summary.read_text(encoding="utf-8")).get("by")
        return by if isinstance(by, str) else None
    return None


class _BusyColumn(ProgressColumn):
    """Says so when requests wait for a model server that other processes keep busy."""

    def render(self, task: Task) -> Text:
        waited = turn_wait_s()
        if waited < BUSY_NOTICE_S:
            return Text("")
        return Text(f"model busy with other processes: waiting {waited:.0f}s", style="yellow")


class _Bar:
    """The rich progress bar: done of total, solved so far, rate and ETA. When stderr is not a
    terminal (a log file, a batch job), the same as a plain line every ``every_s`` seconds."""

    def __init__(self, title: str, show: bool, *, every_s: float | None = None) -> None:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("solved {task.fields[solved]}"),
            TextColumn("{task.fields[errors]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            _BusyColumn(),
        )
        self.title = title
        self.every_s = every_s
        self.last: BenchProgress | None = None
        self._printed_at: float | None = None
        self._started = time.monotonic()
        self._done_before = 0
        self.progress = Progress(*columns, console=stderr, disable=not show or every_s is not None)
        self.task = self.progress.add_task(title, total=None, solved=0, errors="", rate="")

    def __call__(self, p: BenchProgress) -> None:
        if self.last is None:
            self._done_before = p.done
        self.last = p
        if self.every_s is not None:
            self._line(p)
            return
        task = next(t for t in self.progress.tasks if t.id == self.task)
        if task.total is None:  # the first report: what earlier invocations finished
            self.progress.update(self.task, total=p.total, completed=p.done)
        speed = task.speed
        rate = f"{speed * 60:.1f}/min" if speed else ""
        errors = f"[magenta]{p.infrastructure_errors} infra errors[/]" if p.infrastructure_errors else ""
        self.progress.update(self.task, completed=p.done, solved=p.solved, errors=errors, rate=rate)

    def _line(self, p: BenchProgress) -> None:
        now = time.monotonic()
        due = self._printed_at is None or now - self._printed_at >= (self.every_s or 0)
        if not (due or p.done >= p.total):
            return
        self._printed_at = now
        elapsed = now - self._started
        rate = (p.done - self._done_before) / elapsed * 60 if elapsed > 0 else 0.0
        eta = f", about {(p.total - p.done) / rate:.0f} min left" if rate > 0 and p.done < p.total else ""
        waited = turn_wait_s()
        busy = f", model busy with other processes ({waited:.0f}s)" if waited >= BUSY_NOTICE_S else ""
        stderr.print(
            f"{self.title}: {p.done}/{p.total} done, solved {p.solved}, infra errors "
            f"{p.infrastructure_errors}, {rate:.1f}/min{eta}{busy}",
            soft_wrap=True,
        )


async def _client(role: str, concurrency: int, stack: AsyncExitStack) -> LLMClient:
    configured = get_settings().critic if role == "critic" else get_settings().llm
    settings = await asyncio.to_thread(resolve, configured)  # may start the embedded model
    if configured.base_url is not None:  # the embedded model answers one request at a time
        settings = settings.model_copy(update={"max_concurrency": concurrency})
    return await stack.enter_async_context(LLMClient(settings))


async def _run(
    spec: BenchSpec,
    run_dir: Path,
    sandbox: Sandbox,
    options: dict[str, Any],
    bar: _Bar,
    settings: SandboxSettings | None = None,
) -> BenchOutcome:
    found = load_benchmark(spec.benchmark, spec.data, spec.split, language=spec.language)
    loaded = in_language(found, spec.language)
    loaded.check_ids(spec.ids)
    if (note := loaded.note()) is not None:
        stderr.print(note, soft_wrap=True)
    window = released(loaded.problems, after=spec.released_after, before=spec.released_before)
    problems = select(window, limit=spec.limit, ids=spec.ids)
    if not problems:
        raise UserError(f"{spec.benchmark}: no problems selected")
    if options["by"] is not None:  # before any model starts
        from codemend.benchmarks.breakdown import check_key

        check_key(problems, options["by"])
    concurrency = options["concurrency"]
    async with AsyncExitStack() as stack:
        llm = await _client("generator", concurrency, stack)
        critic = await _client("critic", concurrency, stack) if spec.critic != "tests" else None
        prompts = Prompts.load(**spec.prompt_files)
        deps = BenchDeps(llm=llm, critic_llm=critic, sandbox=sandbox, prompts=prompts)
        with bar.progress:
            run = RunOptions(
                resume=options["resume"],
                retry_errors=options["retry_errors"],
                rerun_changed=options["rerun_changed"],
                checkpoints=options["checkpoints"],
                concurrency=concurrency,
                on_progress=bar,
            )
            if options["ray"] is None:
                return await abench(spec, problems, deps, run_dir=run_dir, options=run, by=options["by"])
            from codemend.cluster import ray_trajectories  # imports Ray: only with --ray

            cluster = ray_trajectories(
                options["ray"],
                llm=llm.settings,
                critic_llm=critic.settings if critic else None,
                prompts=prompts,
                sandbox=settings or get_settings().sandbox,
                run_dir=run_dir,
            )
            async with cluster as backend:
                run = dataclasses.replace(run, backend=backend)
                return await abench(spec, problems, deps, run_dir=run_dir, options=run, by=options["by"])


def _execute(
    spec: BenchSpec, run_dir: Path, settings: SandboxSettings, options: dict[str, Any]
) -> BenchOutcome:
    terminal = sys.stderr.isatty()
    plain = None if terminal or not options["progress"] else options["progress_every"]
    bar = _Bar(f"{spec.benchmark}", show=terminal or options["progress"], every_s=plain)
    terminated = threading.Event()
    try:
        with (
            _sigterm_as_interrupt(terminated),
            open_sandbox(settings, workers=os.cpu_count() or 1) as sandbox,
        ):
            return asyncio.run(_run(spec, run_dir, sandbox, options, bar, settings))
    except KeyboardInterrupt:
        bar.progress.stop()
        _interrupted(spec, run_dir, bar.last, terminated=terminated.is_set())
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    except InfrastructureError as exc:
        if not (run_dir / STORE_FILE).is_file():  # it failed before any trajectory started
            die(str(exc), EXIT_INFRA)
        die(
            f"{exc} (the run dir keeps what finished: continue with --run-dir {run_dir} --resume)", EXIT_INFRA
        )


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: threading.Event) -> Iterator[None]:
    """SIGTERM (a batch system's stop, ``kill``) ends the bench as Ctrl-C does, saying what was
    kept; it used to end it silently with exit 143."""

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        terminated.set()
        signal.raise_signal(signal.SIGINT)  # asyncio's own Ctrl-C handling cancels the run cleanly

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(
    spec: BenchSpec, run_dir: Path, last: BenchProgress | None, *, terminated: bool = False
) -> NoReturn:
    """Ctrl-C (exit 130) or SIGTERM (143): what was kept, and the command that goes on from there."""
    kept: int | str = "?"
    with contextlib.suppress(UserError):
        run_id, _ = read_spec(run_dir)
        with TrajectoryStore(run_dir / STORE_FILE, read_only=True) as store:
            kept = len(store.finished_pairs(run_id))
    total = f" of {last.total}" if last is not None else ""
    die(
        f"{'terminated' if terminated else 'interrupted'}: {kept}{total} trajectories finished and are "
        f"kept in {run_dir}; go on with: "
        f"codemend bench {spec.benchmark} --run-dir {shlex.quote(str(run_dir))} --resume",
        EXIT_TERMINATED if terminated else EXIT_INTERRUPTED,
    )


def _cluster(options: dict[str, Any]) -> str | None:
    """The Ray cluster address (None: run here), refusing what cannot leave this machine."""
    address = ray_address(options["ray"])
    if address is None:
        return None
    if options["checkpoints"]:
        raise UserError("graph checkpoints stay on one machine: drop --checkpoints to run with --ray")
    if get_settings().llm.base_url is None:
        raise UserError(
            "--ray needs a model endpoint every node can reach: set CODEMEND_BASE_URL (and "
            "CODEMEND_MODEL if it serves several models); the embedded model serves this machine only"
        )
    return address


@click.command(epilog=endpoint_epilog())
@click.argument("name", type=click.Choice(BENCHMARKS))
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The data file.")
@click.option("--split", help="The benchmark's split (MBPP: prompt, test, validation, train, all).")
@click.option("--limit", type=click.IntRange(min=1), help="The first N problems.")
@click.option("--ids", multiple=True, help="Problem ids, comma-separated (HumanEval/3 or 3); repeatable.")
@click.option("--samples", type=click.IntRange(min=1), default=1, show_default=True, help="Per problem.")
@click.option("--rounds", type=click.IntRange(min=0), default=3, show_default=True, help="Repairs at most.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True, help="In flight.")
@click.option(
    "--feedback-tests",
    type=click.Choice(["visible", "all", "none"]),
    default="visible",
    show_default=True,
    help="Which tests the repair loop sees: visible; none (structure only); all (hidden too, studies "
    "only). Not --feedback, which says what it is told of a failing one.",
)
@click.option("--critic", type=click.Choice(CRITIC_MODES), default="tests", show_default=True)
@feedback_option
@constraints_option
@click.option("--temperature", type=FiniteRange(min=0), help="Default 0.2, or 0.8 with --samples > 1.")
@click.option("--max-tokens", type=click.IntRange(min=1), help=max_tokens_help())
@click.option("--seed", type=int, default=0, show_default=True, help="Base of the per-sample seeds.")
@click.option(
    "--by",
    metavar="KEY",
    help="Break every table down by this problem metadata key (APPS, LiveCodeBench: difficulty; "
    "LiveCodeBench: platform; MBPP: split; a file's own keys), or by language. A resume keeps the run's.",
)
@click.option(
    "--released-after",
    metavar="DATE",
    help="Only problems released after this day (YYYY-MM-DD, the day excluded): LiveCodeBench's "
    "contest date, or a file's metadata release_date. Kept with the run.",
)
@click.option(
    "--released-before",
    metavar="DATE",
    help="Only problems released before this day (YYYY-MM-DD, the day excluded). Kept with the run.",
)
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    help="Write every problem in this language (stdin/stdout sets: APPS, LiveCodeBench, CodeContests, "
    "jsonl, multipl-e); problems whose tests call a function are left out, Python starter code and "
    "reference solutions dropped. Kept with the run. Default: each problem's own.",
)
@objective_options
@click.option(
    "--run-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: runs/bench-NAME-TIME."
)
@click.option("--resume", is_flag=True, help="Finish the run in --run-dir (same settings).")
@click.option("--retry-errors", is_flag=True, help="With --resume: rerun trajectories an infra error ended.")
@click.option(
    "--rerun-changed",
    is_flag=True,
    help="With --resume: run again the problems whose content changed in the data since they ran "
    "(without it, such a resume is refused).",
)
@click.option(
    "--checkpoints/--no-checkpoints",
    default=False,
    show_default=True,
    help="Keep graph checkpoints: a killed trajectory resumes mid-way instead of restarting "
    "(about 2 ms of CPU per graph node; worth it with slow models).",
)
@click.option(
    "--progress/--no-progress",
    default=False,
    help="Show progress even without a terminal (then as a line every --progress-every seconds).",
)
@click.option(
    "--progress-every",
    type=FiniteRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds between progress lines when stderr is not a terminal.",
)
@ray_option
@prompt_options
@sandbox_options
@click.pass_context
def bench(ctx: click.Context, name: str, backend: str | None, image: str | None, **options: Any) -> None:
    """Run benchmark NAME through the repair loop and score it with its hidden tests.

    Exit 0 when the run completed, whatever it scored; 2 on bad input; 3 on an infrastructure
    failure (the sandbox or the model cannot start, or trajectories ended on an infrastructure
    error: rerun them with --resume --retry-errors); 130 when interrupted (Ctrl-C), 143 when
    terminated (SIGTERM): what finished is kept, and --resume goes on.
    """
    run_dir: Path | None = options.pop("run_dir")
    given = {k for k in options if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
    with ExitStack() as held:
        try:
            if options["resume"]:
                if run_dir is None:
                    raise UserError("--resume needs --run-dir")
                if not run_dir.is_dir():
                    raise UserError(f"nothing to resume: {run_dir} does not exist")
                # held before the stored settings are read and before any model or sandbox
                # starts; released when the command ends (or dies: the kernel drops it)
                held.enter_context(run_dir_lock(run_dir))
                spec = _resumed_spec(name, run_dir, options, given)
                options["by"] = options["by"] or _stored_by(run_dir)
            else:
                spec = _spec(name, options)
                run_dir = run_dir or Path("runs") / f"bench-{name}-{datetime.now():%Y%m%d-%H%M%S}"
                held.enter_context(run_dir_lock(run_dir))
            settings = sandbox_settings(backend, image)
            options["ray"] = _cluster(options)
        except UserError as exc:
            die(str(exc), EXIT_BAD_INPUT)
        outcome = _execute(spec, run_dir, settings, options)
    sys.stdout.write("".join(line + "\n" for line in outcome.lines))
    stderr.print(f"run dir: {run_dir} ({', '.join(RunLayout(run_dir).outputs())})")
    if outcome.summary.infrastructure_errors or outcome.summary.unscored:
        stderr.print(
            f"[magenta]rerun the failed trajectories: --run-dir {run_dir} --resume --retry-errors[/]"
        )
        sys.exit(EXIT_INFRA)
