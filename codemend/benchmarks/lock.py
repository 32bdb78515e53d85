"""One process at a time per run directory: an advisory lock on ``RUN_DIR/.codemend.lock``.

The lock file holds the PID of its holder, so a refused second process can say who has the
directory. The kernel drops the lock when its holder dies in any way (SIGKILL included), so a
killed run resumes without any clean-up. Re-entrant within a process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from codemend.errors import UserError
from codemend.runs import LOCK_FILE

_held: dict[Path, int] = {}
_guard = threading.Lock()


class RunDirInUse(UserError):
    """Another process holds the run directory."""


@contextlib.contextmanager
def run_dir_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` for the block; ``RunDirInUse`` if another process holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    key = run_dir.resolve()
    with _guard:
        if key in _held:
            _held[key] += 1
            fd = None
        else:
            fd = _acquire(run_dir)
            _held[key] = 1
    try:
        yield
    finally:
        with _guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
                if fd is not None:
                    os.close(fd)


def _acquire(run_dir: Path) -> int:
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise RunDirInUse(
            f"{run_dir} is in use by another codemend process (PID {holder}): wait for it to "
            f"finish, stop it (kill {holder}) and then --resume, or choose another --run-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
