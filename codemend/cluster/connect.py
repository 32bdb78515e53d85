"""Reaching an existing Ray cluster: ``auto``, ``ray://HOST:PORT`` (Ray Client) or ``HOST:PORT``
(the head's GCS, from a machine of the cluster). codemend never starts a cluster of its own.

Ray's own messages stay in Ray's log files: what its C++ core writes to this process's stderr
while connecting is kept for the error message (and ``-vv``), and the cluster's error messages
(a dead node's raylet log among them), which a Ray driver prints on its stdout, are not echoed:
the bench's output is its own, and a lost node is one line (``codemend.cluster.pool``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO

import ray
import ray._private.worker as ray_worker
from ray.exceptions import AuthenticationError

from codemend.errors import InfrastructureError, UserError

NAMESPACE = "codemend"
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")
log = logging.getLogger(__name__)

TOKEN_REFUSED = (
    "the cluster uses Ray's token authentication and refused this process (InvalidAuthToken). A "
    "`ray start` on a machine with ~/.ray/auth_token (a local ray.init() writes it) turns it on: start "
    "the cluster with RAY_AUTH_MODE=disabled, or run codemend with RAY_AUTH_MODE=token and the "
    "cluster's token"
)


def check_address(address: str) -> str:
    """``address`` when it is one Ray can reach; a ``UserError`` saying what is expected otherwise."""
    text = address.strip()
    if text == "auto" or text.startswith("ray://") or _HOST_PORT.match(text):
        return text
    raise UserError(
        f"--ray {address!r}: give auto, ray://HOST:PORT (Ray Client) or HOST:PORT (the head's GCS)"
    )


CLIENT_ATTEMPTS = 3
"""How often a Ray Client connection is tried when the cluster's Ray Client server fails to
start this client's own server process (Ray's "Initialization failure from server"): a failure
on the cluster's side that the next attempt usually does not meet."""
CLIENT_RETRY_WAIT_S = 2.0


def connect(address: str) -> bool:
    """Connect this process to the cluster at ``address``; False when it already was connected
    (then the caller must not disconnect it). A Ray Client address whose server fails to start
    this client's session is tried ``CLIENT_ATTEMPTS`` times in all; any other failure is an
    ``InfrastructureError`` at once."""
    if ray.is_initialized():
        return False
    target = check_address(address)
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        failure, ray_said = _init(address, target)
        for line in ray_said.splitlines():
            log.debug("ray: %s", line)
        if failure is None:
            break
        session_failed = target.startswith("ray://") and "Initialization failure from server" in str(failure)
        if not session_failed or attempt == CLIENT_ATTEMPTS:
            cause = TOKEN_REFUSED if "InvalidAuthToken" in ray_said else str(failure)
            raise InfrastructureError(f"cannot reach the Ray cluster at {address}: {cause}") from None
        log.info("the Ray Client server at %s failed to start a session (attempt %d)", address, attempt)
        with contextlib.suppress(Exception):
            ray.shutdown()
        time.sleep(CLIENT_RETRY_WAIT_S)
    # Ray's driver prints the cluster's error messages (a dead node's whole raylet log) on stdout;
    # its own flag for that (ray.util.rpdb turns it off the same way) keeps them in Ray's logs.
    ray_worker._worker_logs_enabled = False
    return True


def _init(address: str, target: str) -> tuple[Exception | None, str]:
    """One ``ray.init`` of ``target``: the connection failure (None when connected) and what Ray's
    core wrote to stderr meanwhile; ``UserError`` for what no retry can fix."""
    failure: Exception | None = None
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as said:
        with _stderr_to(said):
            try:
                ray.init(
                    address=target,
                    namespace=NAMESPACE,
                    log_to_driver=False,  # the nodes' logs stay in their session dirs
                    logging_level=logging.WARNING,
                )
            except (ImportError, ValueError) as exc:  # e.g. ray:// without Ray Client (grpcio)
                raise UserError(
                    f"--ray {address}: {exc} (codemend's extra: pip install 'codemend[ray]')"
                ) from None
            except AuthenticationError as exc:
                raise UserError(f"--ray {address}: {exc}") from None
            except (ConnectionError, TimeoutError, RuntimeError) as exc:
                failure = exc
        said.seek(0)
        return failure, said.read()


@contextlib.contextmanager
def _stderr_to(file: IO[str]) -> Iterator[None]:
    """This process's file descriptor 2 into ``file`` for the block: Ray's C++ core writes its
    warnings there (one per second while a cluster refuses it) before it has a log file."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def disconnect() -> None:
    """Disconnect this process from the cluster; Ray's driver echoes the cluster's messages again
    (``connect`` turned that off)."""
    ray.shutdown()
    ray_worker._worker_logs_enabled = True
