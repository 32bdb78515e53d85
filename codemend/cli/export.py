"""``codemend export RUN_OR_DB --format F --out PATH``: stored trajectories as training data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from codemend.cli.common import EXIT_BAD_INPUT, FiniteRange, die, stderr
from codemend.errors import UserError
from codemend.runs import STORE_FILE
from codemend.trajectories import DEFAULT_STORE_PATH, FORMATS, ExportOptions, TrajectoryStore
from codemend.trajectories.export import EmptyExport, ExportResult, export_trajectories

EXIT_NOTHING = 1  # like a run that solved nothing: no data, and no error in the input
INSPECT = "inspect"  # an Inspect AI eval log (codemend.trajectories.export.inspect_log), not rows



def _store_in(path: Path) -> Path:
    """A store file as given, or the store of a bench run directory."""
    if path.is_dir():
        if not (path / STORE_FILE).is_file():
            raise UserError(f"{path} is a directory without {STORE_FILE}: give a bench run dir or a .db file")
        return path / STORE_FILE
    return path


def _resolve(source: str, db: Path | None, run: str | None) -> tuple[Path, str | None]:
    """(store path, run id or None for every run) from the RUN_OR_DB argument."""
    if Path(source).is_file() or Path(source).is_dir():
        if db is not None:
            raise UserError(f"{source} is a store or a run dir: drop --db, or give a run id instead")
        return _store_in(Path(source)), run
    if source.endswith((".db", ".sqlite", ".sqlite3")) or "/" in source:
        raise UserError(
            f"no trajectory store at {source}: give an existing .db file, a bench run dir or a run id"
        )
    if run is not None:
        raise UserError("give the run id either as RUN_OR_DB or with --run, not both")
    store = _store_in(db) if db is not None else DEFAULT_STORE_PATH
    if not store.is_file():
        raise UserError(f"run {source!r}: no trajectory store at {store}; point --db at the store")
    return store, source


@click.command()
@click.argument("run_or_db", metavar="RUN_OR_DB")
@click.option(
    "--format", "fmt", type=click.Choice([*FORMATS, INSPECT]), required=True, help="Row format, or inspect."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PATH.jsonl|.parquet (inspect: PATH.eval)",
)
@click.option(
    "--db", type=click.Path(path_type=Path), default=None, help="Store (or bench run dir) of a run id."
)
@click.option("--run", default=None, help="Only this run of the store.")
@click.option(
    "--select", type=click.Choice(["correct", "best", "all"]), default=None, help="Trajectories kept."
)
@click.option(
    "--min-reward", type=FiniteRange(), default=None, help="Drop trajectories with a lower final reward."
)
@click.option("--max-per-task", type=click.IntRange(min=1), default=None, help="Rows kept per task.")
@click.option("--dedup", is_flag=True, help="Drop rows whose code repeats (normalised) within a task.")
@click.option(
    "--split-by-task",
    "test_fraction",
    type=FiniteRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Share of tasks in test.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --split-by-task.")
@click.option("--messages", is_flag=True, help="sft: one `messages` list instead of prompt/completion.")
@click.option(
    "--data-source",
    default=None,
    help="rl: the data_source column [default: codemend/<benchmark> of its run].",
)
@click.option(
    "--env-class", default="codemend-repair", show_default=True, help="rl: SkyRL's env_class column."
)
def export(
    run_or_db: str,
    fmt: str,
    out: Path,
    db: Path | None,
    run: str | None,
    select: str | None,
    min_reward: float | None,
    max_per_task: int | None,
    dedup: bool,
    test_fraction: float | None,
    seed: int,
    messages: bool,
    data_source: str | None,
    env_class: str,
) -> None:
    """Export stored trajectories of RUN_OR_DB as training data.

    RUN_OR_DB is a trajectory store (.db), a bench run directory, or a run id in the store --db
    points at; the store is only read. When nothing matches the selection, nothing is written
    and the exit status is 1. Writes
    PATH (or PATH-train/PATH-test with --split-by-task), PATH's JSON Schema beside it, and a
    dataset card: README.md when PATH's directory is new, empty or holds codemend exports only
    (several exports there are configs of one dataset), else PATH's stem + .README.md.
    --format inspect writes one run as an Inspect AI eval log (PATH.eval or .json, for inspect
    view; needs the inspect extra) and takes none of the row selection options.
    """
    try:
        path, run_id = _resolve(run_or_db, db, run)
        if fmt == INSPECT:
            given = {
                "--select": select,
                "--min-reward": min_reward,
                "--max-per-task": max_per_task,
                "--dedup": dedup or None,
                "--split-by-task": test_fraction,
                "--messages": messages or None,
            }
            _export_inspect(path, run_id, out, [name for name, value in given.items() if value is not None])
            return
        options = ExportOptions(
            format=fmt,  # type: ignore[arg-type]  # a click.Choice of FORMATS
            out=out,
            select=select,  # type: ignore[arg-type]
            min_reward=min_reward,
            max_per_task=max_per_task,
            dedup=dedup,
            test_fraction=test_fraction,
            seed=seed,
            messages=messages,
            data_source=data_source,
            env_class=env_class,
        )
        with TrajectoryStore(path, read_only=True) as store:
            if run_id is not None:
                store.run(run_id)
            source = f"{path.name}" + (f", run {run_id}" if run_id else f", runs {_runs(store)}")
            runs = store.runs()
            result = export_trajectories(store.trajectories(run_id), options, source=source, runs=runs)
    except EmptyExport as exc:
        die(str(exc), EXIT_NOTHING)
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    except sqlite3.DatabaseError as exc:  # a store damaged past its first pages
        die(f"cannot read the trajectory store {run_or_db}: {exc}", EXIT_BAD_INPUT)
    except OSError as exc:  # --out in a directory that cannot be made or written
        die(f"cannot write the export {out}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    _report(result)


def _export_inspect(path: Path, run_id: str | None, out: Path, refused: list[str]) -> None:
    from codemend.benchmarks import HiddenLog
    from codemend.trajectories.export.inspect_log import write_inspect_log

    if refused:
        raise UserError(f"--format inspect exports whole runs: drop {', '.join(refused)}")
    with TrajectoryStore(path, read_only=True) as store:
        runs = [store.run(run_id)] if run_id is not None else store.runs()
        if len(runs) != 1:
            raise UserError(f"{path} holds {len(runs)} runs: choose one with --run ({_runs(store)})")
        hidden = HiddenLog(path.parent).read() if path.name == STORE_FILE else {}
        by_round = {tid: v.by_round for tid, v in hidden.items() if not v.error}
        samples = write_inspect_log(runs[0], store.trajectories(runs[0].run_id), out, by_round)
    stderr.print(
        f"{samples} samples (one per trajectory) -> {out}; open with: inspect view --log-dir {out.parent}"
    )


def _runs(store: TrajectoryStore) -> str:
    return ", ".join(r.run_id for r in store.runs()) or "none"


def _report(result: ExportResult) -> None:
    for split, file in result.files.items():
        stderr.print(f"{split}: {result.rows[split]} rows -> {file}")
    stderr.print(f"from {result.trajectories} trajectories; schema {result.schema}; card {result.card}")
    if result.withheld:
        stderr.print(f"{result.withheld} rows withheld: their prompt would have shown hidden tests")
    if not any(result.rows.values()):
        stderr.print("[yellow]warning:[/] no rows matched the selection", markup=True)
