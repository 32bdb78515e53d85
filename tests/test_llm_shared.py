"""One embedded server per user, shared by the processes that use it: three codemend processes
on one machine used to start three llama.cpp servers that fought over the cores until requests
timed out. Here they find one server, queue for it in their clients, and it stops once the last
of them is gone (SIGKILL included)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from scripted_server import ScriptedServer, ok

from codemend.errors import UserError
from codemend.llm import LLMClient, LLMSettings
from codemend.llm.client import BUSY_NOTICE_S, turn_wait_s
from codemend.llm.shared import runtime_dir
from codemend.settings import EmbeddedSettings

pytest_plugins = ["llm_fixtures"]

ROOT = Path(__file__).resolve().parent.parent

USER = (
    "import sys\n"
    "from codemend.llm import embedded_server\n"
    "server = embedded_server()\n"
    "print(server.base_url, server.owner_pid, server.started_here, flush=True)\n"
    "sys.stdin.read()\n"  # uses the server until the test closes stdin (or kills it)
)


def _user(folder: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    env |= {"CODEMEND_EMBEDDED_RUNTIME_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", USER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )


def _registered(folder: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in folder.glob("embedded-*.json")]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/models", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def users(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.slow
def test_processes_share_one_server_until_the_last_one_is_gone(
    tmp_path: Path, users: list[subprocess.Popen[str]]
) -> None:
    folder = tmp_path / "run"
    users.extend(_user(folder) for _ in range(3))  # started together: they race for the server
    seen = [proc.stdout.readline().split() for proc in users if proc.stdout]
    assert len({url for url, _, _ in seen}) == 1, seen
    assert len({owner for _, owner, _ in seen}) == 1
    assert sorted(here for _, _, here in seen) == ["False", "False", "True"]  # one started it
    url = seen[0][0]
    assert [e["base_url"] for e in _registered(folder)] == [url]

    starter = next(p for p, (_, _, here) in zip(users, seen, strict=True) if here == "True")
    starter.kill()  # the one that started it goes away, SIGKILLed: the others still use it
    starter.communicate()
    time.sleep(1.5)  # three of the watchdog's polls
    assert _answers(url)
    late = _user(folder)  # a newcomer finds it too
    users.append(late)
    assert late.stdout is not None and late.stdout.readline().split()[0] == url

    for proc in users:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    deadline = time.monotonic() + 30
    while _answers(url) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _answers(url)  # nobody uses it: stopped
    while _registered(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _registered(folder) == [] and list(folder.glob("*.lease")) == []


def test_a_request_waits_in_the_client_while_another_process_has_the_turn(
    scripted: ScriptedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Queueing happens in the client (no request reaches the server, no timeout runs), the wait
    is visible (``turn_wait_s`` feeds bench's progress line) and reported past a few seconds."""
    turn = tmp_path / "turn"
    settings = LLMSettings(base_url=scripted.url, model="m", request_lock=turn, timeout_s=1.0)
    scripted.queue(ok("done"))
    other = os.open(turn, os.O_RDWR | os.O_CREAT)  # another process's turn: a separate lock
    fcntl.flock(other, fcntl.LOCK_EX)
    waits: list[float] = []

    async def ask() -> str:
        async with LLMClient(settings) as llm:
            task = asyncio.create_task(llm.chat([{"role": "user", "content": "hi"}]))
            await asyncio.sleep(0.5)
            waits.append(turn_wait_s())
            assert scripted.requests == []
            await asyncio.sleep(BUSY_NOTICE_S)  # longer than the request timeout: it is not running
            waits.append(turn_wait_s())
            threading.Timer(0.1, os.close, [other]).start()  # the other process's request ends
            return (await task).text

    with caplog.at_level(logging.WARNING, logger="codemend.llm.client"):
        assert asyncio.run(ask()) == "done"
    assert 0.3 < waits[0] < waits[1] and waits[1] >= BUSY_NOTICE_S
    assert turn_wait_s() == 0.0
    assert len(scripted.requests) == 1
    assert "is busy with another process's requests" in caplog.text


def test_the_runtime_dir_must_be_private(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(UserError, match="only you can use"):
        runtime_dir(EmbeddedSettings(runtime_dir=shared))
    fresh = runtime_dir(EmbeddedSettings(runtime_dir=tmp_path / "fresh"))
    assert fresh.stat().st_mode & 0o777 == 0o700
