"""DockerSandbox against a real engine: hardened containers, verdicts, and nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker
import pytest
from conftest import make_problem

from codemend.errors import SandboxUnavailable
from codemend.sandbox import DockerSandbox, SandboxLimits
from codemend.sandbox.docker import LABEL, image_exists


@pytest.fixture
def client(docker_host: str) -> Any:
    c = docker.DockerClient(base_url=docker_host, version="auto")
    yield c
    c.close()


def ours(client: Any, pid: int | None = None) -> list[Any]:
    label = f"{LABEL}.pid={pid}" if pid is not None else LABEL
    return list(client.containers.list(all=True, filters={"label": label}))


def test_verdicts_and_report(docker_sandbox: DockerSandbox) -> None:
    report = docker_sandbox.run(
        make_problem("assert f(2) == 4", "assert f(3) == 10"), "def f(x):\n    return x * x\n"
    )
    assert [r.status for r in report.results] == ["passed", "failed"]
    assert (report.results[1].expected, report.results[1].actual) == ("10", "9")
    assert (report.backend, report.isolation) == ("docker", "container")


def test_containers_are_hardened(docker_sandbox: DockerSandbox, client: Any) -> None:
    ids = docker_sandbox.container_ids()
    assert len(ids) == docker_sandbox.size
    for cid in ids:
        attrs = client.api.inspect_container(cid)
        host = attrs["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["Memory"] == host["MemorySwap"] > 0
        assert 0 < host["PidsLimit"] <= 4096
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert set(host["CapAdd"]) == {"SETUID", "SETGID", "KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER"}
        limits = {u["Name"]: u for u in host["Ulimits"]}
        assert limits["nproc"]["Hard"] <= 32768 and limits["nofile"]["Hard"] == 1024
        assert "/tmp" in host["Tmpfs"]
        assert host["AutoRemove"] is True
        assert attrs["Config"]["StdinOnce"] is True
        assert attrs["Mounts"] == []  # no volume, no bind mount


def test_the_candidate_runs_unprivileged_inside(docker_sandbox: DockerSandbox) -> None:
    code = (
        "import os\ndef f(x):\n"
        "    return [os.getuid(), open('/proc/self/status').read().split('CapEff:')[1].split()[0]]\n"
    )
    report = docker_sandbox.run(make_problem("assert f(0) == []"), code)
    candidate_uids = [docker_sandbox.uids(slot)[1] for slot in range(docker_sandbox.size)]
    assert report.results[0].actual in {f"[{uid}, '0000000000000000']" for uid in candidate_uids}


def test_close_leaves_no_container(docker_host: str, docker_image: str, client: Any) -> None:
    sb = DockerSandbox(base_url=docker_host, image=docker_image, workers=2)
    sb.start()
    ids = sb.container_ids()
    assert len(ids) == 2
    sb.close()
    remaining = {c.id for c in ours(client)}
    assert not remaining & set(ids)


def test_timeouts_leave_no_extra_container_or_process(docker_sandbox: DockerSandbox, client: Any) -> None:
    before = set(docker_sandbox.container_ids())
    report = docker_sandbox.run(
        make_problem("assert f(1) == 1", time_limit_s=1.0), "def f(x):\n    while True:\n        pass\n"
    )
    assert report.results[0].status == "timeout"
    assert set(docker_sandbox.container_ids()) == before
    for cid in before:
        top = client.api.top(cid, ps_args="-eo uid,pid,args")
        uids = {int(row[0]) for row in top["Processes"]}
        assert docker_sandbox.uids(0)[1] not in uids and docker_sandbox.uids(1)[1] not in uids


def test_a_container_that_stops_answering_is_removed_and_the_job_retried(
    docker_host: str, docker_image: str, client: Any
) -> None:
    limits = SandboxLimits(job_grace_s=1.0)
    with DockerSandbox(base_url=docker_host, image=docker_image, workers=1, limits=limits) as sb:
        sb.start()
        (stuck,) = sb.container_ids()
        client.api.pause(stuck)
        report = sb.run(make_problem("assert f(2) == 4", time_limit_s=1.0), "def f(x):\n    return x * x\n")
        assert report.passed
        assert sb.container_ids() != [stuck]
        deadline = time.monotonic() + 20
        while any(c.id == stuck for c in ours(client)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(c.id == stuck for c in ours(client))


@pytest.mark.timeout(180)
def test_a_lost_container_that_cannot_be_replaced_raises_every_time_and_never_hangs(
    docker_host: str, docker_image: str, client: Any
) -> None:
    """The container is killed and its image is gone: each run raises ``SandboxUnavailable`` at
    once instead of waiting forever for the lost worker; with the image back, the next run gets a
    fresh container."""
    image = "codemend-lost-image:1"
    square = "def f(x):\n    return x * x\n"
    client.images.get(docker_image).tag(image)
    try:
        with DockerSandbox(base_url=docker_host, image=image, workers=1) as sb:
            sb.start()
            (cid,) = sb.container_ids()
            client.api.kill(cid)
            client.images.remove(image)
            for _ in range(3):  # a hang would be stopped by pytest's timeout
                with pytest.raises(SandboxUnavailable, match="not found"):
                    sb.run(make_problem("assert f(2) == 4"), square)
            client.images.get(docker_image).tag(image)
            assert sb.run(make_problem("assert f(2) == 4"), square).passed
            assert sb.container_ids() != [cid]
    finally:
        if image_exists(client, image):
            client.images.remove(image)


def test_a_killed_host_leaves_no_container(
    docker_host: str, docker_image: str, client: Any, tmp_path: Path
) -> None:
    script = (
        "import sys, time\n"
        "from codemend.sandbox import DockerSandbox\n"
        f"sb = DockerSandbox(base_url={docker_host!r}, image={docker_image!r}, workers=2)\n"
        "sb.start()\n"
        "print(' '.join(sb.container_ids()), flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ids = proc.stdout.readline().split()
    assert len(ids) == 2 and len(ours(client, proc.pid)) == 2
    proc.kill()  # SIGKILL: no finaliser, no atexit
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 30
    while ours(client, proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ours(client, proc.pid) == []


def test_missing_engine_and_image_say_what_to_do(docker_host: str, tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="start dockerd, or set DOCKER_HOST"):
        DockerSandbox(base_url=f"unix://{tmp_path}/nothing.sock", workers=1).start()
    missing = DockerSandbox(base_url=docker_host, image="codemend-no-such-image:0", workers=1)
    with missing, pytest.raises(SandboxUnavailable, match="not found: pull it, or build one"):
        missing.start()


def test_cli_check_with_the_docker_backend(docker_host: str, docker_image: str, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DOCKER_HOST": docker_host, "CODEMEND_SANDBOX": "docker"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "codemend",
            "check",
            "examples/square.json",
            "examples/square_wrong.py",
            "--json",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert report["backend"] == "docker"
    assert [r["status"] for r in report["results"]] == ["passed", "failed", "passed"]


def test_an_engine_error_is_not_a_missing_image(tmp_path: Path) -> None:
    """Any engine error used to read as "image missing", sending the user off to build one. A
    real HTTP server on a unix socket plays an engine that fails."""
    import http.server
    import socketserver
    import threading

    class Broken(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"message": "the storage driver is broken"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

        def get_request(self) -> tuple[Any, Any]:
            request, _ = super().get_request()
            return request, ("engine", 0)  # BaseHTTPRequestHandler wants a (host, port)

    path = tmp_path / "engine.sock"
    with Server(str(path), Broken) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = docker.DockerClient(base_url=f"unix://{path}", version="1.45")
        try:
            with pytest.raises(SandboxUnavailable, match="storage driver is broken"):
                image_exists(client, "some:image")
        finally:
            client.close()
            server.shutdown()


def test_without_an_engine_the_tests_skip_saying_why_and_change_nothing(tmp_path: Path) -> None:
    """Run as root without an engine, the suite used to apt-install docker.io and start a dockerd
    of its own; now it installs and starts nothing, skips with the reason, and fails under CI."""
    stubs, calls = tmp_path / "bin", tmp_path / "calls"
    stubs.mkdir()
    for name in ("apt-get", "apt", "dockerd", "docker", "sudo"):
        stub = stubs / name
        stub.write_text(f'#!/bin/sh\necho "$0 $*" >> {calls}\nexit 1\n')
        stub.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "CI")}
    env["PATH"] = f"{stubs}:{Path(sys.executable).parent}"
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--timeout", "120"]
    command.append(f"{Path(__file__).resolve()}::test_verdicts_and_report")
    out = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "1 skipped" in text and "no Docker engine: set DOCKER_HOST" in text, text
    ci = subprocess.run(
        command, env={**env, "CI": "1"}, cwd=root, capture_output=True, text=True, timeout=300
    )
    assert ci.returncode == 1 and "CI must run the Docker backend's tests" in ci.stdout, ci.stdout
    assert not calls.exists(), calls.read_text()
