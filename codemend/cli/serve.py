"""``codemend serve``: the embedded model as an OpenAI-compatible server, in the foreground."""

from __future__ import annotations

import click

from codemend.cli.common import EXIT_BAD_INPUT, EXIT_INFRA, die, stderr
from codemend.errors import EmbeddedServerError, UserError
from codemend.llm.embedded import EmbeddedServer
from codemend.llm.shared import advertised
from codemend.settings import EMBEDDED_MODEL_NAME, get_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="0 picks a free port.")
def serve(host: str, port: int) -> None:
    """Serve SmolLM2-135M (llama.cpp) at http://HOST:PORT/v1 until Ctrl-C.

    While it runs, this user's other codemend processes with no endpoint configured use it
    instead of starting an embedded model of their own (CODEMEND_EMBEDDED_SHARE=0: not).
    """
    try:
        server = EmbeddedServer(get_settings().embedded, host=host, port=port)
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
