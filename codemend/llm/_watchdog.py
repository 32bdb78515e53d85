"""Run a command and stop it when the process that started us goes away (even SIGKILLed).

    python -m codemend.llm._watchdog PARENT_PID [--remove DIR] -- COMMAND...

SIGTERM (or SIGINT) to the watchdog stops the command too; the watchdog exits with its status.
With ``--remove DIR``, a parent that went away leaves nothing behind: the watchdog deletes DIR
(the command's private working directory and log) after stopping the command.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys


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


def main(argv: list[str]) -> int:
    remove = None
    if len(argv) > 3 and argv[1] == "--remove":
        remove, argv = argv[2], [argv[0], *argv[3:]]
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write(__doc__ or "")
        return 2
    try:
        parent = os.pidfd_open(int(argv[0]))
    except (ValueError, ProcessLookupError):
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)
        return 3  # the parent is already gone: start nothing
    child = subprocess.Popen(argv[2:])
    stop_now = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop_now
        stop_now = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watched = os.pidfd_open(child.pid)
    while not stop_now:
        ready, _, _ = select.select([parent, watched], [], [], 1.0)
        if watched in ready:
            return child.wait()
        if parent in ready:
            stop_process(child)
            if remove is not None:
                shutil.rmtree(remove, ignore_errors=True)
            return child.returncode or 0
    stop_process(child)
    return child.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
