"""The run directory lock: one process at a time, and nothing left behind by a normal end."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from codemend.benchmarks.lock import RunDirInUse, run_dir_lock
from codemend.errors import UserError
from codemend.runs import LOCK_FILE, STORE_FILE

ROOT = Path(__file__).resolve().parent.parent


def test_a_normal_end_removes_the_lock_file_and_keeps_what_was_written(tmp_path: Path) -> None:
    """The lock file used to stay in every run dir."""
    run_dir = tmp_path / "run"
    with run_dir_lock(run_dir):
        assert (run_dir / LOCK_FILE).read_text().strip().isdigit()
        (run_dir / STORE_FILE).write_text("kept")
        with run_dir_lock(run_dir):  # re-entrant: the inner block does not release
            pass
        assert (run_dir / LOCK_FILE).is_file()
    assert [p.name for p in run_dir.iterdir()] == [STORE_FILE]


def test_directories_created_for_nothing_are_removed(tmp_path: Path) -> None:
    """A bench refused for its input used to leave a run dir holding only the lock (and
    ``runs/`` in the working directory)."""
    with pytest.raises(UserError, match="bad input"), run_dir_lock(tmp_path / "runs" / "bench-x"):
        raise UserError("bad input")
    assert list(tmp_path.iterdir()) == []
    existing = tmp_path / "mine"
    existing.mkdir()
    with run_dir_lock(existing):
        pass
    assert existing.is_dir() and list(existing.iterdir()) == []  # not ours to remove


def test_a_directory_that_cannot_be_written_is_a_user_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    message = f"cannot write in the run directory {afile / 'run'}: Not a directory"
    with pytest.raises(UserError, match=re.escape(message)), run_dir_lock(afile / "run"):
        pass


HOLD = """
import sys
from pathlib import Path
from codemend.benchmarks.lock import run_dir_lock
with run_dir_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_second_process_is_refused_then_takes_over_once_the_first_ends(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(RunDirInUse, match=f"PID {holder.pid}"), run_dir_lock(run_dir):
        pass
    assert (run_dir / LOCK_FILE).is_file()  # the refused process removed nothing
    holder.communicate("", timeout=60)
    assert holder.returncode == 0
    assert not run_dir.exists()  # it wrote nothing: the holder took its directory away
    with run_dir_lock(run_dir):
        assert (run_dir / LOCK_FILE).is_file()
