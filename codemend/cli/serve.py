"""``codemend serve``: the embedded model as an OpenAI-compatible server, in the foreground."""

from __future__ import annotations

import errno
import socket

import click

from codemend.cli.common import EXIT_BAD_INPUT, EXIT_INFRA, die, stderr
from codemend.errors import EmbeddedServerError, UserError
from codemend.llm.embedded import EmbeddedServer
from codemend.llm.shared import advertised
from codemend.settings import EMBEDDED_MODEL_NAME, get_settings


def _check_address(host: str, port: int) -> None:
    """Refuse an address the server could not listen on before it starts: a busy port was
    reported after forty lines of llama.cpp's start-up log."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind(address)
    except OSError as exc:
        busy = exc.errno == errno.EADDRINUSE
        fix = "choose another --port, or --port 0 for a free one" if busy else "check --host and --port"
        raise UserError(
            f"cannot serve on {host}:{port}: {(exc.strerror or str(exc)).lower()} ({fix})"
        ) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0 picks a free port."
)
def serve(host: str, port: int) -> None:
    """Serve SmolLM2-135M (llama.cpp) at http://HOST:PORT/v1 until Ctrl-C.

    While it runs, this user's other codemend processes with no endpoint configured use it
    instead of starting an embedded model of their own (CODEMEND_EMBEDDED_SHARE=0: not).
    """
    try:
        _check_address(host, port)
        server = EmbeddedServer(get_settings().embedded, host=host, port=port, keep_failed_log=False)
        server.start()
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    except EmbeddedServerError as exc:
        die(str(exc), EXIT_INFRA)
    try:
        with advertised(server) as shared:
            also = "; codemend processes of this user use it" if shared else ""
            stderr.print(
                f"serving model {EMBEDDED_MODEL_NAME!r} at {server.base_url}{also} (Ctrl-C to stop)",
                soft_wrap=True,
            )
            status = server.wait()
    except KeyboardInterrupt:
        status = 0
    except UserError as exc:
        server.stop()
        die(str(exc), EXIT_BAD_INPUT)
    finally:
        tail = server.log_tail()
        server.stop()
    if status != 0:
        die(f"the model server exited with status {status}; last lines:\n{tail}", EXIT_INFRA)
