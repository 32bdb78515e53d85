"""Shared fixtures: real sandboxes (local, and Docker on a real engine), problems built in code."""

from __future__ import annotations

import os
from collections.abc import Iterator

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


NO_ENGINE = (
    "no Docker engine: set DOCKER_HOST to one (.ci/run starts a private dockerd; the tests never "
    "install or start one themselves: a test command must not change the machine)"
)


@pytest.fixture(scope="session")
def docker_host() -> str:
    """DOCKER_HOST when it answers (``.ci/run`` starts one). Otherwise the Docker backend's tests
    skip, saying why, and under CI (``CI`` set) fail: the suite used to apt-install ``docker.io``
    and start a daemon of its own."""
    given = os.environ.get("DOCKER_HOST")
    if given and _ping(given):
        return given
    reason = NO_ENGINE if not given else f"no Docker engine answers at DOCKER_HOST={given}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Docker backend's tests")
    pytest.skip(reason)


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
