"""The worker pool every backend shares: lost workers, workers that cannot be replaced, and
replies that are not replies.

A lost worker whose replacement cannot start is tried against a real LocalSandbox whose
bubblewrap goes missing. What a real supervisor never sends (a reset stream, bytes that are not
JSON, a verdict of unknown status) comes from a scripted supervisor: a real process at the other
end of a real socket, as a container's attach socket is, speaking the wire's framing. Like the
scripted LLM server, it stands in at the process boundary, never inside codemend.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_problem

from codemend.errors import InfrastructureError, SandboxUnavailable, UserError
from codemend.sandbox import LocalSandbox
from codemend.sandbox import bwrap as bw
from codemend.sandbox.bwrap import find_bwrap
from codemend.sandbox.local import ProcessWorker
from codemend.sandbox.pool import PooledSandbox, Worker, worker_argument

SQUARE = "def f(x):\n    return x * x\n"
PROBLEM = make_problem("assert f(2) == 4", "assert f(3) == 9", time_limit_s=2.0)

# -- a LocalSandbox whose worker is lost and cannot be replaced -------------------------------


def _kill(pid: int) -> None:
    """SIGKILL a local worker's process group (bwrap and its supervisor) and wait for it to die
    (the pool reaps it when it finds the worker lost)."""
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"worker {pid} still runs 10 s after SIGKILL")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
def test_a_lost_worker_that_cannot_be_replaced_raises_every_time_and_never_hangs(
    workers: int, tmp_path: Path
) -> None:
    """Every worker is killed and bubblewrap disappears: each run raises ``SandboxUnavailable``
    at once (the stopped worker used to leave the pool for good, and the next run waited
    forever); once bubblewrap is back, the next run gets a fresh worker."""
    real = find_bwrap()
    assert real is not None
    bwrap = tmp_path / "bwrap"
    bwrap.symlink_to(real)
    with LocalSandbox(workers=workers, isolation="namespaces", bwrap_path=str(bwrap)) as sb:
        sb.start()
        pids = sb.worker_pids()
        assert len(pids) == workers
        for pid in pids:
            _kill(pid)
        bwrap.unlink()
        for _ in range(workers + 2):  # a hang would be stopped by the timeout mark
            with pytest.raises(SandboxUnavailable, match=r"cannot start|bubblewrap not found"):
                sb.run(PROBLEM, SQUARE)
        bwrap.symlink_to(real)
        report = sb.run(PROBLEM, SQUARE)
        assert report.passed and report.isolation == "namespaces"


# -- a scripted supervisor over a socket ------------------------------------------------------

SCRIPTED_SUPERVISOR = r"""
import json, os, select, sys

def send(obj=None, raw=None):
    body = raw if raw is not None else json.dumps(obj).encode()
    os.write(1, len(body).to_bytes(4, "big") + body)

def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data

def reply(n, status="passed", **extra):
    verdicts = [{"status": status, "duration_s": 0.0} for _ in range(n)]
    out = {"results": verdicts, "stdout": "", "stdout_truncated": False, "stderr": "",
           "stderr_truncated": False}
    out.update(extra)
    return out

mode = sys.argv[1]
if mode == "fail":
    sys.exit(1)
send({"hello": 1, "pid": os.getpid(), "uid_split": False, "contained": True,
      "containment_error": None})
if mode == "reset":  # a job arrives and is never read: the host's next read is a reset
    select.select([0], [], [])
    sys.exit(0)
first = True
while True:
    job = json.loads(read_exact(int.from_bytes(read_exact(4), "big")))
    n = len(job["tests"])
    if mode == "garbage":
        send(raw=b"\xff{ this is not json")
    elif first and mode == "bogus":
        send(reply(n, status="bogus"))
    elif first and mode == "few":
        send(reply(n - 1))
    elif first and mode == "array":
        send([1, 2])
    elif first and mode == "no-stdout":
        r = reply(n)
        del r["stdout"]
        send(r)
    elif first and mode == "string-verdict":
        send(reply(n, results=["passed"] * n))
    elif first and mode == "bad-field":
        send(reply(n, stdout_truncated="maybe"))
    else:
        send(reply(n))
    first = False
"""


class SocketWorker(Worker):
    """The scripted supervisor in ``mode``, reached over a unix socket."""

    def __init__(self, script: Path, mode: str) -> None:
        super().__init__()
        self.script, self.mode = script, mode
        self.sock: socket.socket | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def _open(self) -> None:
        self.sock, theirs = socket.socketpair()
        with theirs:
            argv = [sys.executable, str(self.script), self.mode]
            self.proc = subprocess.Popen(argv, stdin=theirs, stdout=theirs)

    def _fileno(self) -> int:
        assert self.sock is not None
        return self.sock.fileno()

    def _recv(self) -> bytes:
        assert self.sock is not None
        return self.sock.recv(1 << 20)

    def _send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()


class ScriptedPool(PooledSandbox):
    """Workers started in the modes of ``plan``, in order; a start past its end fails the test."""

    name = "scripted"

    def __init__(self, script: Path, plan: list[str], workers: int = 1) -> None:
        super().__init__(workers=workers, limits=None)
        self.script, self.plan = script, list(plan)
        self.launched: list[SocketWorker] = []

    def _launch(self, slot: int) -> Worker:
        assert self.plan, "the scripted pool's plan ran out: a worker was started more often than planned"
        worker = SocketWorker(self.script, self.plan.pop(0))
        self.launched.append(worker)
        worker.start(5.0)
        self.isolation = "rlimits"
        return worker


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "scripted_supervisor.py"
    path.write_text(SCRIPTED_SUPERVISOR)
    return path


@pytest.mark.timeout(60)
def test_a_start_that_fails_part_way_leaves_nothing_running_and_is_tried_again(script: Path) -> None:
    """The second of two workers cannot start: the first is stopped, and the next run starts
    the pool again (it used to wait forever for the workers of a half-started pool)."""
    with ScriptedPool(script, ["ok", "fail", "ok", "ok"], workers=2) as sb:
        with pytest.raises(SandboxUnavailable, match="did not start"):
            sb.run(PROBLEM, SQUARE)
        first = sb.launched[0]
        assert first.proc is not None and first.proc.poll() is not None
        assert sb.run(PROBLEM, SQUARE).passed
        assert sb.plan == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["reset", "garbage"])
def test_an_unreadable_stream_is_a_lost_worker_replaced_and_the_run_retried(script: Path, mode: str) -> None:
    with ScriptedPool(script, [mode, "ok"]) as sb:
        assert sb.run(PROBLEM, SQUARE).passed
        assert sb.launched[0].proc is not None and sb.launched[0].proc.poll() is not None
        assert sb.plan == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("reset", "cannot read from the worker: [Errno 104] Connection reset"),
        ("garbage", "undecodable reply frame"),
    ],
)
def test_an_unreadable_stream_twice_crashes_the_run_and_the_pool_goes_on(
    script: Path, mode: str, why: str
) -> None:
    with ScriptedPool(script, [mode, mode, "ok"]) as sb:
        report = sb.run(PROBLEM, SQUARE)
        assert [r.status for r in report.results] == ["crashed", "crashed"]
        assert why in (report.results[0].detail or "")
        assert "lost twice" in (report.results[0].detail or "")
        assert sb.run(PROBLEM, SQUARE).passed
        assert sb.plan == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("bogus", r"test 0 a malformed verdict: status: Input should be 'passed', .* \(got 'bogus'\)"),
        ("few", "sent 1 verdicts for 2 tests"),
        ("array", r"replied with a non-object: \[1, 2\]"),
        ("no-stdout", "reply without stdout"),
        ("string-verdict", "test 0 a verdict that is not an object"),
        ("bad-field", r"malformed reply: stdout_truncated: .* \(got 'maybe'\)"),
    ],
)
def test_a_reply_that_is_not_a_reply_is_an_infrastructure_error_and_the_worker_stays(
    script: Path, mode: str, message: str
) -> None:
    with ScriptedPool(script, [mode]) as sb:
        with pytest.raises(InfrastructureError, match=message) as raised:
            sb.run(PROBLEM, SQUARE)
        assert type(raised.value) is InfrastructureError
        assert sb.run(PROBLEM, SQUARE).passed  # the same worker: no other was planned
        assert len(sb.launched) == 1


# -- counting instructions: who may, and a supervisor that cannot -------------------------------


def test_a_backend_that_cannot_count_says_so_and_refuses_before_running(script: Path) -> None:
    with ScriptedPool(script, ["ok"]) as sb:
        assert sb.cost_unavailable("cpu") is None
        why = sb.cost_unavailable("instructions")
        assert why == "the scripted sandbox cannot count instructions"
        with pytest.raises(UserError, match=why):
            sb.run(PROBLEM, SQUARE, cost="instructions")
        assert sb.run(PROBLEM, SQUARE).passed  # the plan had one worker: no counted job reached it


@pytest.mark.timeout(60)
def test_a_supervisor_whose_candidates_are_not_contained_cannot_count(tmp_path: Path) -> None:
    """The real supervisor, told not to contain candidates: its hello says why it cannot count
    (a counted candidate could fork past its count), and a counted job is refused as its own
    failure, never run uncounted."""
    config = worker_argument(None, str(tmp_path), bw.find_valgrind() or "/usr/bin/valgrind")
    config = json.dumps({**json.loads(config), "contain": False})
    argv = [bw.python_binary(), "-I", "-S", "-B", str(bw.RUNTIME_DIR / "supervisor.py"), config]
    worker = ProcessWorker(argv, str(tmp_path))
    hello = worker.start(20.0)
    try:
        assert hello["contained"] is False
        why = hello.get("counting_error") or ""
        assert "not contained" in why or "valgrind is not installed" in why, why
        job = LocalSandbox(workers=1)._job(PROBLEM, SQUARE, PROBLEM.tests, "instructions")
        reply = worker.request(job, 30.0)
        assert "error" in reply and "cannot count instructions" in str(reply["error"])
        cpu = worker.request(LocalSandbox(workers=1)._job(PROBLEM, SQUARE, PROBLEM.tests), 30.0)
        assert "results" in cpu and "instructions" in cpu and cpu["instructions"] is None
    finally:
        worker.stop()
