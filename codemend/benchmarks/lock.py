"""One process at a time per run directory: an advisory lock on ``RUN_DIR/.codemend.lock``.

The lock file holds the PID of its holder, so a refused second process can say who has the
directory. The kernel drops the lock when its holder dies in any way (SIGKILL included), so a
killed run resumes without any clean-up. Re-entrant within a process. A holder that ends
normally removes the lock file, and the directories it created if nothing was written in them
(a run refused for its input leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from codemend.errors import UserError
from codemend.runs import LOCK_FILE, make_run_dir, remove_empty

_held: dict[Path, int] = {}
_guard = threading.Lock()


class RunDirInUse(UserError):
    """Another process holds the run directory."""


@contextlib.contextmanager
def run_dir_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` for the block; ``RunDirInUse`` if another process holds it, a
    ``UserError`` if it cannot be created or written in."""
    key = run_dir.resolve()
    with _guard:
        if key in _held:
            _held[key] += 1
            fd, created = None, []
        else:
            created = make_run_dir(run_dir)
            try:
                fd = _acquire(run_dir)
            except BaseException:
                remove_empty(created)
                raise
            _held[key] = 1
    try:
        yield
    finally:
        with _guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
                if fd is not None:
                    _release(run_dir, fd)
                    remove_empty(created)


def _acquire(run_dir: Path) -> int:
    path = run_dir / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise UserError(f"cannot write in the run directory {run_dir}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunDirInUse(
                f"{run_dir} is in use by another codemend process (PID {holder}): wait for it to "
                f"finish, stop it (kill {holder}) and then --resume, or choose another --run-dir"
            ) from None
        if _same_file(fd, path):
            break
        os.close(fd)  # its holder removed it as we opened it: lock the file there now
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (here.st_dev, here.st_ino)


def _release(run_dir: Path, fd: int) -> None:
    """Remove the lock file while still holding it (a process that opened it meanwhile sees it
    is gone and locks a new one), then let go."""
    path = run_dir / LOCK_FILE
    try:
        if _same_file(fd, path):
            path.unlink()
    except OSError:
        pass  # a lock file left behind does no harm: the next holder takes it over
    finally:
        os.close(fd)
