"""Run a command and stop it when the processes using it are gone (even SIGKILLed).

    python -m codemend.llm._watchdog PARENT_PID [--remove DIR] -- COMMAND...
    python -m codemend.llm._watchdog --lease LEASE --mutex MUTEX --registry FILE [--remove DIR] -- COMMAND...

With PARENT_PID the command lives as long as that process. With ``--lease`` it lives as long as
some process holds a shared ``flock`` on LEASE (the kernel drops a dead holder's lock, whatever
killed it): every half second the watchdog takes MUTEX and tries LEASE exclusively; when that
succeeds nobody uses the command any more, so it deletes the REGISTRY file that advertised it
(if it still names LEASE) and LEASE, then stops the command.

SIGTERM (or SIGINT) to the watchdog stops the command too; the watchdog exits with its status.
With ``--remove DIR``, the watchdog deletes DIR (the command's private working directory and
log) after the command stopped because its users went away.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.5


def stop_process(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM, up to 10 s to exit, then SIGKILL."""
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _die_with_parent() -> None:  # in the child, before exec: a SIGKILLed watchdog takes it along
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _Lease:
    """Whether anyone still holds a shared lock on the lease file."""

    def __init__(self, lease: str, mutex: str, registry: str) -> None:
        self.lease, self.registry = lease, registry
        self._mutex = os.open(mutex, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._fd = os.open(lease, os.O_RDWR | os.O_CLOEXEC)

    def unused(self) -> bool:
        """True (and the registry entry withdrawn) once no process holds the lease."""
        try:
            fcntl.flock(self._mutex, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a client is looking the server up, or starting one
        try:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self._withdraw()
            return True
        finally:
            fcntl.flock(self._mutex, fcntl.LOCK_UN)

    def withdraw(self) -> None:
        """Stop advertising the command (it is stopping for another reason)."""
        fcntl.flock(self._mutex, fcntl.LOCK_EX)
        try:
            self._withdraw()
        finally:
            fcntl.flock(self._mutex, fcntl.LOCK_UN)

    def _withdraw(self) -> None:
        """Remove the registry entry (only if it is still ours) and the lease file."""
        with contextlib.suppress(OSError, ValueError):
            if json.loads(Path(self.registry).read_text())["lease"] == self.lease:
                os.unlink(self.registry)
        with contextlib.suppress(OSError):
            os.unlink(self.lease)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="codemend.llm._watchdog", usage=__doc__)
    parser.add_argument("parent", nargs="?", type=int)
    parser.add_argument("--lease")
    parser.add_argument("--mutex")
    parser.add_argument("--registry")
    parser.add_argument("--remove")
    if "--" not in argv:
        parser.error("no command after --")
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    args.command = argv[split + 1 :]
    lease_mode = args.lease is not None
    incomplete = lease_mode and (args.mutex is None or args.registry is None)
    if not args.command or (args.parent is None) != lease_mode or incomplete:
        parser.error("give PARENT_PID, or --lease with --mutex and --registry, and a command")
    return args


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    remove = args.remove
    parent = None
    lease = None
    if args.parent is not None:
        try:
            parent = os.pidfd_open(args.parent)
        except ProcessLookupError:
            if remove is not None:
                shutil.rmtree(remove, ignore_errors=True)
            return 3  # the parent is already gone: start nothing
    else:
        lease = _Lease(args.lease, args.mutex, args.registry)
    child = subprocess.Popen(args.command, preexec_fn=_die_with_parent)
    stop_now = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop_now
        stop_now = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watched = os.pidfd_open(child.pid)
    waiting = [watched] if parent is None else [parent, watched]
    while not stop_now:
        ready, _, _ = select.select(waiting, [], [], _POLL_S)
        if watched in ready:
            if lease is not None:
                lease.withdraw()
            return child.wait()
        if (parent is not None and parent in ready) or (lease is not None and lease.unused()):
            stop_process(child)
            if remove is not None:
                shutil.rmtree(remove, ignore_errors=True)
            return child.returncode or 0
    if lease is not None:
        lease.withdraw()
    stop_process(child)
    return child.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
