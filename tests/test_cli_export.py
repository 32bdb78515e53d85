"""``codemend export``, run as a user runs it: a store file or a run id in, files out, exit 2 on
bad input with a message saying what to change."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from trajectory_data import RUN_ID

from codemend.cli.export import export

pytest_plugins = ["trajectory_fixtures"]


def codemend(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codemend", "export", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_exports_a_store_file_with_selection_and_split(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "sft.jsonl"
    done = codemend(str(store_path), "--format", "sft", "--out", str(out), "--messages", "--dedup",
                    "--split-by-task", "0.4", "--seed", "7")  # fmt: skip
    assert done.returncode == 0, done.stderr
    train, test = (out.with_name(f"sft-{s}.jsonl") for s in ("train", "test"))
    rows = [json.loads(line) for f in (train, test) for line in f.read_text().splitlines()]
    assert len(rows) == 2 and all(set(r) == {"messages"} for r in rows)  # 3 square solutions dedup to 1
    assert "1 rows withheld" in done.stderr
    assert (out.parent / "sft.schema.json").exists()
    card = (out.parent / "README.md").read_text()
    assert f"trajectories.db, runs {RUN_ID}" in card and "--split-by-task 0.4 --seed 7" in card


def test_exports_a_run_id_from_the_default_store(store_path: Path, tmp_path: Path) -> None:
    store_path.rename(tmp_path / "codemend.db")
    done = codemend(RUN_ID, "--format", "rl", "--out", "rl/rl.parquet", "--data-source", "mine", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pq.read_table(tmp_path / "rl" / "rl.parquet")
    assert table.num_rows == 6 and set(table.column("data_source").to_pylist()) == {"mine"}
    assert f"codemend.db, run {RUN_ID}" in (tmp_path / "rl" / "README.md").read_text()


def test_bad_input_exits_2_naming_the_fix(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # in-process (the happy paths above run the real executable)
    cases = [
        (["run-9", "--db", str(store_path)], "no run 'run-9'"),
        (["run-9"], "point --db at the store"),
        ([str(tmp_path / "missing.db")], "no trajectory store at"),
        ([str(store_path), "--out", str(tmp_path / "x.csv")], ".jsonl or .parquet"),
        ([str(store_path), "--format", "dpo", "--messages"], "--messages only applies"),
    ]
    for args, message in cases:
        defaults = {"--format": "sft", "--out": str(tmp_path / "o.jsonl")}
        extra = [x for k, v in defaults.items() if k not in args for x in (k, v)]
        done = CliRunner().invoke(export, [*args, *extra])
        assert done.exit_code == 2, (args, done.output)
        assert message in " ".join(done.stderr.split()), (args, done.stderr)


def test_a_bench_run_dir_is_accepted_wherever_a_store_is(store_path: Path, tmp_path: Path) -> None:
    run_dir = store_path.parent  # it holds trajectories.db, as `bench --run-dir` leaves it
    done = codemend(str(run_dir), "--format", "rl", "--out", str(tmp_path / "a" / "rl.jsonl"))
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "a" / "rl.jsonl").read_text().splitlines()) == 6
    done = codemend(RUN_ID, "--db", str(run_dir), "--format", "rl", "--out", str(tmp_path / "b" / "rl.jsonl"))
    assert done.returncode == 0, done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = codemend(str(empty), "--format", "rl", "--out", str(tmp_path / "c" / "rl.jsonl"))
    assert done.returncode == 2 and "without trajectories.db" in done.stderr


def test_an_empty_selection_writes_nothing_and_exits_1(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "sft.parquet"
    done = codemend(str(store_path), "--format", "sft", "--min-reward", "2", "--out", str(out))
    assert done.returncode == 1, done.stderr
    assert "nothing to export" in done.stderr and "nothing was written" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_a_read_only_store_exports_and_stays_untouched(store_path: Path, tmp_path: Path) -> None:
    """Export only reads: a store on a read-only file system (or owned by someone else) works."""
    before = store_path.read_bytes()
    store_dir, out = store_path.parent / "ro", tmp_path.parent / f"{tmp_path.name}-out" / "rl.jsonl"
    store_dir.mkdir()
    store = store_path.rename(store_dir / "trajectories.db")
    export_cmd = [sys.executable, "-m", "codemend", "export", str(store), "--format", "rl", "--out", str(out)]
    if os.geteuid() == 0:  # permissions do not bind root: a read-only bind mount does
        script = f"mount --bind -o ro {store_dir} {store_dir} && exec {shlex.join(export_cmd)}"
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
    else:
        store.chmod(0o444)
        store_dir.chmod(0o555)  # not even a -wal or -shm file can be made beside it
        argv = export_cmd
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    finally:
        store_dir.chmod(0o755)
        store.chmod(0o644)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 6
    assert store.read_bytes() == before
    assert sorted(p.name for p in store_dir.iterdir()) == ["trajectories.db"]


def test_an_unwritable_out_is_one_clear_line(store_path: Path, tmp_path: Path) -> None:
    for out in ("/proc/codemend-x/rl.jsonl", "/proc/x.jsonl"):
        done = codemend(str(store_path), "--format", "rl", "--out", out)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and f"cannot write the export {out}" in done.stderr
