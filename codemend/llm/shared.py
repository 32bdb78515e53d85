"""One embedded model server per user and configuration, shared by the processes using it.

Three ``codemend`` processes on a 2-core machine that each start their own llama.cpp server
fight over the cores until requests time out; one server, asked one request at a time, serves
them all. The server is advertised in this user's runtime directory (``$XDG_RUNTIME_DIR/codemend``,
else ``codemend-UID`` in the temporary directory, mode 700):

- ``embedded-KEY.json`` names the running server (its URL, log, owner and lease file), KEY being
  a digest of what makes two servers interchangeable (weights, context, threads);
- ``embedded-KEY.lock`` is held while a process looks the server up or starts it, so that
  processes started together find one server instead of starting three;
- every process using the server holds a shared ``flock`` on its lease file; the server's
  watchdog stops the server once nobody holds it (the kernel drops a dead process's lock, so a
  SIGKILLed user counts as gone);
- ``embedded-KEY.turn`` is locked around each request, so processes queue in their clients
  (where no request timeout runs) instead of inside the server (where it does).

A ``codemend serve`` on this machine advertises itself the same way, so other processes reuse it
while it runs. ``CODEMEND_EMBEDDED_SHARE=0`` gives a process a server of its own.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from codemend.errors import UserError
from codemend.llm.embedded import EmbeddedServer, LeaseFiles, default_gguf
from codemend.settings import EmbeddedSettings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Files:
    folder: Path
    key: str

    @property
    def mutex(self) -> Path:
        return self.folder / f"embedded-{self.key}.lock"

    @property
    def registry(self) -> Path:
        return self.folder / f"embedded-{self.key}.json"

    @property
    def turn(self) -> Path:
        return self.folder / f"embedded-{self.key}.turn"

    def new_lease(self) -> Path:
        return self.folder / f"embedded-{self.key}-{secrets.token_hex(4)}.lease"


@dataclass(slots=True, kw_only=True)
class SharedServer:
    """A server this process uses, holding its lease until ``release()``."""

    base_url: str
    request_lock: Path
    owner_pid: int
    log_path: Path | None = None
    started_here: bool = False
    _lease_fd: int | None = field(default=None, repr=False)
    _server: EmbeddedServer | None = field(default=None, repr=False)  # started by this process
    _private: bool = False

    @property
    def running(self) -> bool:
        """Whether the server is up: polled when this process started it, else its owner's PID is alive."""
        if self._server is not None:  # our child: polling it also reaps it
            return self._server.running
        return _alive(self.owner_pid)

    def release(self) -> None:
        """Stop using the server (a private one stops; a shared one stops when unused)."""
        fd, self._lease_fd = self._lease_fd, None
        if fd is not None:
            os.close(fd)
        if self._private and self._server is not None:
            self._server.stop()


def runtime_dir(settings: EmbeddedSettings) -> Path:
    """This user's folder for shared servers; refused unless only this user can use it."""
    folder = settings.runtime_dir or Path(tempfile.gettempdir()) / f"codemend-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError as exc:
        raise UserError(f"cannot use {folder} for the embedded model: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UserError(
            f"{folder} must be a directory of yours that only you can use (mode 700): remove it, "
            "or point CODEMEND_EMBEDDED_RUNTIME_DIR elsewhere"
        )
    return folder


def server_key(settings: EmbeddedSettings) -> str:
    """What makes two embedded servers interchangeable, as a short digest."""
    gguf = Path(settings.gguf_path or default_gguf()).resolve()
    identity = {"gguf": str(gguf), "n_ctx": settings.n_ctx, "n_threads": settings.n_threads}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def acquire(settings: EmbeddedSettings) -> SharedServer:
    """A running server for ``settings``: this user's shared one, started if there is none."""
    if not settings.share:
        return _private(settings)
    files = _Files(runtime_dir(settings), server_key(settings))
    with _locked(files.mutex):
        return _reuse(files) or _start(settings, files)


def _private(settings: EmbeddedSettings) -> SharedServer:
    server = EmbeddedServer(settings)
    server.start()
    turn = Path(tempfile.mkdtemp(prefix="codemend-turn-")) / "turn"  # nobody else queues on it
    return SharedServer(
        base_url=server.base_url, request_lock=turn, owner_pid=os.getpid(), log_path=server.log_path,
        started_here=True, _server=server, _private=True,
    )  # fmt: skip


def _reuse(files: _Files) -> SharedServer | None:
    """The advertised server, if it is alive and answers (a stale entry is removed)."""
    try:
        entry = json.loads(files.registry.read_text())
        base_url, lease, owner = str(entry["base_url"]), str(entry["lease"]), int(entry["owner_pid"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        files.registry.unlink(missing_ok=True)
        return None
    fd = _take_lease(Path(lease)) if _alive(owner) else None
    if fd is not None and _answers(base_url):
        log.info("using the embedded model server of process %d at %s", owner, base_url)
        log_path = Path(entry["log"]) if entry.get("log") else None
        return SharedServer(
            base_url=base_url, request_lock=files.turn, owner_pid=owner, log_path=log_path, _lease_fd=fd
        )
    if fd is not None:
        os.close(fd)
    files.registry.unlink(missing_ok=True)
    return None


def _start(settings: EmbeddedSettings, files: _Files) -> SharedServer:
    lease = files.new_lease()
    fd = os.open(lease, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    files_ = LeaseFiles(lease=lease, mutex=files.mutex, registry=files.registry)
    server = EmbeddedServer(settings, lease=files_)
    try:
        server.start()
    except BaseException:
        os.close(fd)
        lease.unlink(missing_ok=True)
        raise
    assert server.pid is not None
    _advertise(files, base_url=server.base_url, lease=lease, owner=server.pid, log_path=server.log_path)
    return SharedServer(
        base_url=server.base_url, request_lock=files.turn, owner_pid=server.pid, log_path=server.log_path,
        started_here=True, _lease_fd=fd, _server=server,
    )  # fmt: skip


def _advertise(files: _Files, *, base_url: str, lease: Path, owner: int, log_path: Path | None) -> None:
    entry = {"base_url": base_url, "lease": str(lease), "owner_pid": owner, "log": str(log_path or "")}
    partial = files.registry.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(entry) + "\n")
    partial.replace(files.registry)


@contextlib.contextmanager
def advertised(server: EmbeddedServer) -> Iterator[bool]:
    """Advertise a server this process runs (``codemend serve``) while the block runs, unless
    another one is advertised already; yields whether it is."""
    settings = server.settings
    if not settings.share:
        yield False
        return
    files = _Files(runtime_dir(settings), server_key(settings))
    lease = files.new_lease()
    with _locked(files.mutex):
        other = _reuse(files)
        if other is None:
            fd = os.open(lease, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH)
            host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
            url = f"http://{host}:{server.port}/v1"
            _advertise(files, base_url=url, lease=lease, owner=os.getpid(), log_path=server.log_path)
    if other is not None:
        other.release()
        yield False
        return
    try:
        yield True
    finally:
        with _locked(files.mutex):
            with contextlib.suppress(OSError, ValueError, KeyError):
                if json.loads(files.registry.read_text())["lease"] == str(lease):
                    files.registry.unlink()
            lease.unlink(missing_ok=True)
        os.close(fd)


def _take_lease(lease: Path) -> int | None:
    try:
        fd = os.open(lease, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:  # its watchdog is retiring it
        os.close(fd)
        return None
    return fd


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/models", timeout=5.0).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_shared: SharedServer | None = None
_shared_lock = threading.Lock()


def embedded_server() -> SharedServer:
    """The embedded server this process uses, found or started on first call; released at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            if _shared is not None:
                _shared.release()
            else:
                atexit.register(_release_shared)
            _shared = acquire(get_settings().embedded)
        return _shared


def _release_shared() -> None:
    if _shared is not None:
        _shared.release()
