"""The one sandbox a process shares when the caller gives none: the rewards trainers call
(``codemend.rewards``) and the environments frameworks build (``codemend.env``) run their
candidates in it. A ``LocalSandbox`` started on first use, with as many workers as the process
is given CPUs (``codemend.sandbox.budget``), closed at exit; ``use_shared_sandbox`` puts another
in its place (a cluster's, say), which its caller closes."""

from __future__ import annotations

import atexit
import threading

from codemend.sandbox.base import Sandbox
from codemend.sandbox.budget import given_cpus
from codemend.sandbox.local import LocalSandbox

_lock = threading.Lock()
_sandbox: Sandbox | None = None
_owned = False
_atexit_registered = False


def shared_sandbox() -> Sandbox:
    """The process's sandbox, started on first use."""
    global _sandbox, _owned, _atexit_registered
    with _lock:
        if _sandbox is None:
            _sandbox, _owned = LocalSandbox(workers=given_cpus()), True
            if not _atexit_registered:
                atexit.register(close_shared_sandbox)
                _atexit_registered = True
        return _sandbox


def use_shared_sandbox(sandbox: Sandbox | None) -> None:
    """Share ``sandbox`` from now on (the caller closes it); ``None`` goes back to the default."""
    global _sandbox, _owned
    close_shared_sandbox()
    with _lock:
        _sandbox, _owned = sandbox, False


def close_shared_sandbox() -> None:
    """Close the shared sandbox if this module started it (also runs at interpreter exit)."""
    global _sandbox, _owned
    with _lock:
        sandbox, owned = _sandbox, _owned
        _sandbox, _owned = None, False
    if sandbox is not None and owned:
        sandbox.close()
