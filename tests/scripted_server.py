"""A scripted OpenAI-compatible chat-completions server on loopback, for tests and benchmarks.

It replays queued steps in order, one per request, and injects faults: an HTTP error with
headers (429 + Retry-After, 500, 503), a reply slower than the client's timeout, a dropped
connection, malformed JSON, an empty ``choices`` list. Every request is recorded. When the
script runs out it answers 500 with a clear body *and* records the error, so ``check()`` (called
by the fixture's teardown) fails the test instead of letting a retry loop pass silently.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Tokens:
    """What a vLLM server returns of a choice's tokens when asked (``logprobs``,
    ``return_token_ids``): ``token_ids`` on the choice, ``logprobs.content`` per token, the
    prompt's ids at the top level. ``ids_in_logprobs`` puts the ids in ``logprobs.content[].id``
    instead (llama.cpp's server) and leaves out ``token_ids``."""

    completion: tuple[int, ...]
    logprobs: tuple[float, ...]
    prompt: tuple[int, ...] | None = None
    ids_in_logprobs: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A 200 chat completion with one choice per text; with ``tokens``, each choice carries
    them when the request asked for logprobs (as the servers do)."""

    texts: tuple[str, ...] = ("ok",)
    finish_reason: str = "stop"
    usage: tuple[int, int] = (10, 5)
    delay_s: float = 0.0
    tokens: Tokens | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """An HTTP error answer (e.g. 429 with ``{"Retry-After": "0.2"}``)."""

    code: int
    body: str = '{"error": {"message": "scripted failure"}}'
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Drop:
    """Close the connection without answering."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Raw:
    """A 200 with this exact body (malformed JSON, empty choices...)."""

    body: str


Step = Reply | Status | Drop | Raw

EMPTY_CHOICES = Raw(
    body='{"id": "x", "object": "chat.completion", "created": 0, "model": "scripted",'
    ' "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}}'
)
MALFORMED_JSON = Raw(body='{"id": "x", "choices": [{"message": ')


def ok(*texts: str, **kwargs: Any) -> Reply:
    return Reply(texts=texts or ("ok",), **kwargs)


def retry_after(seconds: float, code: int = 429) -> Status:
    return Status(code=code, headers=(("Retry-After", f"{seconds:g}"),))


def slow(delay_s: float, text: str = "late") -> Reply:
    return Reply(texts=(text,), delay_s=delay_s)


@dataclass(slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic() when the request arrived


@dataclass
class ScriptedServer:
    """Start with ``start()`` (or use as a context manager); ``url`` is the ``/v1`` base URL.

    ``default``: the step to repeat once the script is empty (benchmarks); tests leave it None so
    an exhausted script is an error.
    """

    default: Step | None = None
    models: tuple[str, ...] = ("scripted",)
    """What ``GET /models`` lists."""
    requests: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    _script: deque[Step] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def queue(self, *steps: Step) -> None:
        with self._lock:
            self._script.extend(steps)

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def remaining(self) -> int:
        return len(self._script)

    def start(self) -> ScriptedServer:
        handler = type("Handler", (_Handler,), {"scripted": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def check(self) -> None:
        """Raise if the script ran out or a step was left unused."""
        if self.errors:
            raise AssertionError("scripted server: " + "; ".join(self.errors))
        if self._script:
            raise AssertionError(f"scripted server: {len(self._script)} step(s) never requested")

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _next(self, received: Received) -> Step:
        with self._lock:
            self.requests.append(received)
            if self._script:
                return self._script.popleft()
            if self.default is not None:
                return self.default
            message = f"script exhausted at request {len(self.requests)} ({received.path})"
            self.errors.append(message)
            return Status(code=500, body=json.dumps({"error": {"message": message}}))

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 resets bursts of connections


class _Handler(BaseHTTPRequestHandler):
    scripted: ScriptedServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        models = [{"id": name, "object": "model"} for name in self.scripted.models]
        body = {"object": "list", "data": models}
        self._send(200, json.dumps(body))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        received = Received(
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=json.loads(raw or b"{}"),
            at=time.monotonic(),
        )
        step = self.scripted._next(received)
        self.scripted._enter()
        try:
            self._play(step, received.body)
        finally:
            self.scripted._leave()

    def _play(self, step: Step, request: dict[str, Any]) -> None:
        if isinstance(step, Drop):
            self.close_connection = True
            return
        if isinstance(step, Status):
            self._send(step.code, step.body, step.headers)
        elif isinstance(step, Raw):
            self._send(200, step.body)
        else:
            if step.delay_s and self.scripted._closing.wait(step.delay_s):
                return
            self._send(200, json.dumps(_completion(step, request)))

    def _send(self, code: int, body: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        data = body.encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _completion(step: Reply, request: dict[str, Any]) -> dict[str, Any]:
    prompt, completion = step.usage
    body: dict[str, Any] = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "scripted"),
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text},
                "finish_reason": step.finish_reason,
            }
            for i, text in enumerate(step.texts)
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    tokens = step.tokens
    if tokens is not None and request.get("logprobs"):
        pairs = zip(tokens.completion, tokens.logprobs, strict=True)
        content = [{"token": f"t{t}", "logprob": lp} for t, lp in pairs]
        for choice in body["choices"]:
            if tokens.ids_in_logprobs:
                content = [{**c, "id": t} for c, t in zip(content, tokens.completion, strict=True)]
            elif request.get("return_token_ids"):
                choice["token_ids"] = list(tokens.completion)
            choice["logprobs"] = {"content": content}
        if tokens.prompt is not None and request.get("return_token_ids") and not tokens.ids_in_logprobs:
            body["prompt_token_ids"] = list(tokens.prompt)
    return body


def serving(default: Step | None = None) -> Iterator[ScriptedServer]:
    """Generator body for a fixture: start, yield, stop, then fail on script errors."""
    server = ScriptedServer(default=default).start()
    try:
        yield server
    finally:
        server.stop()
    server.check()
