"""``codemend export``, run as a user runs it: a store file or a run id in, files out, exit 2 on
bad input with a message saying what to change."""

from __future__ import annotations

import json
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
