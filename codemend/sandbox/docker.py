"""``DockerSandbox``: the same supervisor as ``LocalSandbox``, one long-lived container per worker.

A container costs about 200 ms to create, start and remove here, so each worker is one
container that runs the fork-per-job supervisor for its whole life; per job it costs what the
local backend costs. Per container: no network, read-only root, a tmpfs /tmp, memory equal to
memory+swap, a PID limit, every capability dropped except the six the supervisor needs to run the
harness and the candidate under two unprivileged uids (the candidate never holds one),
no-new-privileges, explicit nproc/nofile ulimits. The host talks to the supervisor over the
container's attach stream; ``StdinOnce`` and ``AutoRemove`` mean a container whose host goes
away (even SIGKILLed) sees its stdin close, exits and is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import weakref
from typing import Any

from codemend.errors import InfrastructureError, SandboxUnavailable
from codemend.records import CostMethod
from codemend.sandbox.bwrap import ROOT_CAPS, RUNTIME_DIR
from codemend.sandbox.pool import PooledSandbox, SandboxLimits, Worker, worker_argument

DEFAULT_IMAGE = "codemend-python:3.11"
LABEL = "codemend.sandbox"
_STDERR_KEEP = 8192
# Every module of the runtime (a list by hand missed the ones added later: the tracer's, the
# compiled languages', and the supervisor imports them all at start).
_RUNTIME_FILES = tuple(sorted(p.name for p in RUNTIME_DIR.glob("*.py") if p.name != "__init__.py"))
# Runs first in the container: read the runtime's sources from stdin, write them to the tmpfs,
# then become the supervisor (same stdin/stdout). The image needs nothing of codemend.
_BOOT = """import json, os, sys
def take(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(3)
        data += chunk
    return data
files = json.loads(take(int.from_bytes(take(4), "big")))
root = "/tmp/codemend-runtime"
os.mkdir(root, 0o755)
for name, text in files.items():
    with open(os.path.join(root, os.path.basename(name)), "w") as fh:
        fh.write(text)
os.execv(sys.executable, [sys.executable, "-I", "-S", "-B", root + "/supervisor.py", sys.argv[1]])
"""


def _docker() -> Any:
    try:
        import docker
    except ImportError:  # pragma: no cover - a dependency of codemend
        raise SandboxUnavailable("the Docker backend needs the `docker` package") from None
    return docker


def _runtime_frame() -> bytes:
    files = {name: (RUNTIME_DIR / name).read_text() for name in _RUNTIME_FILES}
    body = json.dumps(files).encode()
    return len(body).to_bytes(4, "big") + body


class ContainerWorker(Worker):
    """A supervisor in a container, reached over the container's attach socket."""

    def __init__(self, client: Any, image: str, create: dict[str, Any], config: str, python: str) -> None:
        super().__init__()
        self.client, self.image, self.create, self.config, self.python = client, image, create, config, python
        self.container_id: str | None = None
        self._sock: Any = None
        self._raw: socket.socket | None = None
        self._mux = bytearray()
        self._stderr = bytearray()

    def _open(self) -> None:
        docker = _docker()
        api = self.client.api
        command = [self.python, "-I", "-S", "-c", _BOOT, self.config]
        try:
            created = api.create_container(self.image, command=command, stdin_open=True, **self.create)
            self.container_id = created["Id"]
            self._sock = api.attach_socket(
                self.container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            self._raw = self._sock._sock
            api.start(self.container_id)
            self._send(_runtime_frame())
        except docker.errors.ImageNotFound:
            self.stop()
            raise SandboxUnavailable(
                f"image {self.image!r} not found: pull it, or build one from this machine's Python "
                "with codemend.sandbox.docker_image.build_host_python_image"
            ) from None
        except (docker.errors.DockerException, OSError) as exc:
            self.stop()
            raise SandboxUnavailable(f"cannot start a sandbox container: {exc}") from None

    def _fileno(self) -> int:
        assert self._raw is not None
        return self._raw.fileno()

    def _recv(self) -> bytes | None:
        """Demultiplex the attach stream: 8-byte headers (stream, 0, 0, 0, size)."""
        assert self._raw is not None
        data = self._raw.recv(1 << 20)
        if not data:
            return b""
        self._mux += data
        out = bytearray()
        while len(self._mux) >= 8:
            size = int.from_bytes(self._mux[4:8], "big")
            if len(self._mux) < 8 + size:
                break
            payload = self._mux[8 : 8 + size]
            if self._mux[0] == 1:
                out += payload
            else:
                self._stderr = (self._stderr + payload)[-_STDERR_KEEP:]
            del self._mux[: 8 + size]
        return bytes(out) if out else None

    def _send(self, data: bytes) -> None:
        assert self._raw is not None
        self._raw.sendall(data)

    def stderr_tail(self) -> str:
        """What the container wrote on stderr (the supervisor's complaints), decoded."""
        return self._stderr.decode("utf-8", "replace")

    def stop(self) -> None:
        """Close the attach socket and remove the container (idempotent)."""
        for closable in (self._raw, self._sock):
            with contextlib.suppress(Exception):
                if closable is not None:
                    closable.close()
        self._raw = self._sock = None
        self._buf.clear()
        self._mux.clear()
        cid, self.container_id = self.container_id, None
        if cid is not None:
            self._remove(cid)

    def _remove(self, cid: str, timeout: float = 20.0) -> None:
        """Remove the container and return once the engine no longer knows it (AutoRemove may be
        removing it already, which makes our own request fail)."""
        docker = _docker()
        with contextlib.suppress(Exception):
            self.client.api.remove_container(cid, force=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.client.api.inspect_container(cid)
            except docker.errors.NotFound:
                return
            except Exception:  # the engine itself is gone: nothing more to wait for
                return
            time.sleep(0.1)


class DockerSandbox(PooledSandbox):
    """Candidates in containers of ``image`` (which must provide ``python``, 3.11 or newer).

    ``base_url`` defaults to the local socket (settings pass ``DOCKER_HOST``); ``memory_mb`` and
    ``pids_limit`` bound each worker container as a whole, on top of the per-run rlimits.
    """

    name = "docker"

    def __init__(
        self,
        *,
        image: str = DEFAULT_IMAGE,
        python: str = "python3",
        workers: int | None = None,
        limits: SandboxLimits | None = None,
        base_url: str | None = None,
        memory_mb: int = 4096,
        pids_limit: int = 512,
    ) -> None:
        super().__init__(workers=workers, limits=limits)
        self.image, self.python, self.base_url = image, python, base_url
        self.memory_mb, self.pids_limit = memory_mb, pids_limit
        self._client: Any = None
        self._finalizer: weakref.finalize | None = None

    def cost_unavailable(self, cost: CostMethod) -> str | None:
        """None for ``cpu``; for ``instructions``, why this backend cannot count them (its image has
        no valgrind)."""
        if cost == "cpu":
            return None
        return "the docker sandbox cannot count instructions (its image has no valgrind): use the local one"

    def check_language(self, language: str) -> None:
        """``InfrastructureError`` for every language but Python: the image holds a Python and
        nothing to compile with (the local sandbox runs the other languages)."""
        if language != "python":
            raise InfrastructureError(
                f"the docker sandbox cannot run {language} programs: its image has no toolchain "
                "but Python's; use the local sandbox (--sandbox local) for other languages"
            )

    def client(self) -> Any:
        """The engine's client; ``SandboxUnavailable`` saying what to start when there is none."""
        if self._client is None:
            docker = _docker()
            where = self.base_url or "unix:///var/run/docker.sock"
            client = None
            try:
                check_socket(where)  # the SDK leaks a socket when the engine is absent
                client = docker.DockerClient(base_url=where, version="auto", timeout=30)
                client.ping()
            except Exception as exc:  # the SDK raises several unrelated types here
                if client is not None:
                    client.close()
                raise SandboxUnavailable(
                    f"no Docker engine answers at {where} ({exc}): start dockerd, or set DOCKER_HOST"
                ) from None
            self._client = client
        return self._client

    def _create_args(self) -> dict[str, Any]:
        docker = _docker()
        memory = f"{self.memory_mb}m"
        host_config = self.client().api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"rw,noexec,nosuid,nodev,size={self.limits.tmpfs_mb}m,mode=755"},
            mem_limit=memory,
            memswap_limit=memory,
            pids_limit=self.pids_limit,
            cap_drop=["ALL"],
            cap_add=[cap.removeprefix("CAP_") for cap in ROOT_CAPS],
            security_opt=["no-new-privileges"],
            ulimits=[
                docker.types.Ulimit(name="nproc", soft=32768, hard=32768),
                docker.types.Ulimit(name="nofile", soft=1024, hard=1024),
            ],
            auto_remove=True,
        )
        return {
            "user": "0:0",
            "network_disabled": True,
            "working_dir": "/",
            "environment": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            "labels": {LABEL: "1", f"{LABEL}.pid": str(os.getpid())},
            "host_config": host_config,
        }

    def _launch(self, slot: int) -> Worker:
        client = self.client()
        config = worker_argument(self.uids(slot), "/tmp")
        worker = ContainerWorker(client, self.image, self._create_args(), config, self.python)
        self.note_containment(worker.start(self.limits.start_timeout_s))
        self.isolation = "container"
        if self._finalizer is None:  # also on interpreter exit, not only on close()
            self._finalizer = weakref.finalize(self, _stop_all, self._all)
        return worker

    def container_ids(self) -> list[str]:
        """The ids of the running workers' containers, in slot order (empty before ``start()``)."""
        return [w.container_id for w in self._all if isinstance(w, ContainerWorker) and w.container_id]

    def close(self) -> None:
        """Stop every worker, removing its container, and close the Docker client."""
        super().close()
        if self._client is not None:
            self._client.close()
            self._client = None


def check_socket(url: str) -> None:
    """Connect to a unix:// engine socket (raise OSError when nothing listens there)."""
    if url.startswith("unix://"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5)
            probe.connect(url.removeprefix("unix://"))


def _stop_all(workers: list[Worker]) -> None:
    for worker in list(workers):
        worker.stop()


def image_exists(client: Any, image: str) -> bool:
    """Whether the engine has ``image``; an engine that cannot answer is ``SandboxUnavailable``
    (not a missing image, which would send the user off building one)."""
    docker = _docker()
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    except (docker.errors.DockerException, OSError) as exc:  # requests' errors are OSErrors
        raise SandboxUnavailable(f"the Docker engine could not look up image {image!r}: {exc}") from None
    return True
