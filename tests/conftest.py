"""Shared fixtures: real sandboxes (local, and Docker on a real engine), problems built in code."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codemend.problems import Problem
from codemend.sandbox import DockerSandbox, LocalSandbox, Sandbox
from codemend.sandbox.docker import DEFAULT_IMAGE, check_socket, image_exists
from codemend.sandbox.docker_image import build_host_python_image


@pytest.fixture(scope="session")
def local_sandbox() -> Iterator[LocalSandbox]:
    """The default backend with namespaces required: a test must never run unisolated by accident."""
    with LocalSandbox(workers=2, isolation="namespaces") as sb:
        sb.start()
        yield sb


@pytest.fixture(scope="session")
def sandbox(local_sandbox: LocalSandbox) -> LocalSandbox:
    return local_sandbox


def make_problem(
    *asserts: str, entry_point: str = "f", time_limit_s: float = 2.0, **extra: object
) -> Problem:
    tests = [{"kind": "assert", "code": code} for code in asserts]
    data = {"id": "t", "prompt": "", "entry_point": entry_point, "time_limit_s": time_limit_s, "tests": tests}
    return Problem.model_validate({**data, **extra})


# -- a real Docker engine -------------------------------------------------------------------


def _ping(url: str) -> bool:
    import docker

    try:
        check_socket(url)  # the SDK leaks a socket when nothing listens
        client = docker.DockerClient(base_url=url, version="auto", timeout=5)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _install_docker() -> None:
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "docker.io"], env=env, capture_output=True, timeout=600
        )


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    """DOCKER_HOST when it answers (``.ci/run`` starts one); otherwise a dockerd of our own on a
    private socket, installed from Debian's ``docker.io`` if needed and stopped at the end."""
    given = os.environ.get("DOCKER_HOST")
    if given and _ping(given):
        yield given
        return
    if shutil.which("dockerd") is None:
        _install_docker()
    if shutil.which("dockerd") is None:
        pytest.skip("no Docker engine: DOCKER_HOST does not answer and dockerd is not installed (docker.io)")
    home = Path(tempfile.mkdtemp(prefix="cmdk-", dir="/tmp"))  # a unix socket path must be short
    url = f"unix://{home}/docker.sock"
    args = ["dockerd", "-H", url, "--data-root", f"{home}/data", "--exec-root", f"{home}/exec"]
    args += ["--pidfile", f"{home}/docker.pid"]
    with open(home / "dockerd.log", "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _ping(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (home / "dockerd.log").read_text(errors="replace")[-2000:]
                pytest.skip(f"dockerd could not start here: {tail}")
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            shutil.rmtree(home)


@pytest.fixture(scope="session")
def docker_image(docker_host: str) -> str:
    """The host's Python imported as an image (no registry needed), once per session."""
    import docker

    client = docker.DockerClient(base_url=docker_host, version="auto")
    try:
        if not image_exists(client, DEFAULT_IMAGE):
            build_host_python_image(client, DEFAULT_IMAGE)
    finally:
        client.close()
    return DEFAULT_IMAGE


@pytest.fixture(scope="session")
def docker_sandbox(docker_host: str, docker_image: str) -> Iterator[DockerSandbox]:
    with DockerSandbox(base_url=docker_host, image=docker_image, workers=2) as sb:
        sb.start()
        yield sb


# -- instruction counting (valgrind) -------------------------------------------------------


def skip_unless_counting(sandbox: Sandbox) -> None:
    """Skip, saying why, where ``sandbox`` cannot count instructions (valgrind missing, candidates
    not contained); under CI that is a failure instead, so the counting tests cannot go silent."""
    why = sandbox.cost_unavailable("instructions")
    if why is not None:
        message = f"instructions cannot be counted here: {why}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
