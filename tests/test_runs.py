"""The run directory: created and checked before any work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codemend.errors import UserError
from codemend.runs import make_run_dir, remove_empty


def test_make_run_dir_returns_what_it_created_and_remove_empty_undoes_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "a" / "b"
    assert make_run_dir(run_dir) == [tmp_path / "a", run_dir]
    assert make_run_dir(run_dir) == []  # already there
    (run_dir / "kept").write_text("")
    remove_empty([tmp_path / "a", run_dir])
    assert (run_dir / "kept").is_file()  # not empty: kept, and so is its parent
    (run_dir / "kept").unlink()
    remove_empty([tmp_path / "a", run_dir])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["afile/run", "/proc/codemend-run"])
def test_a_directory_that_cannot_be_written_in_is_one_user_error(tmp_path: Path, where: str) -> None:
    """Unwritable even for root: under a regular file, or in /proc."""
    (tmp_path / "afile").write_text("")
    run_dir = tmp_path / where
    with pytest.raises(UserError, match="^" + re.escape(f"cannot write in the run directory {run_dir}: ")):
        make_run_dir(run_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
