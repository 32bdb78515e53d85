"""Reaching an existing Ray cluster: ``auto``, ``ray://HOST:PORT`` (Ray Client) or ``HOST:PORT``
(the head's GCS, from a machine of the cluster). codemend never starts a cluster of its own."""

from __future__ import annotations

import logging
import re

import ray

from codemend.errors import InfrastructureError, UserError

NAMESPACE = "codemend"
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def check_address(address: str) -> str:
    """``address`` when it is one Ray can reach; a ``UserError`` saying what is expected otherwise."""
    text = address.strip()
    if text == "auto" or text.startswith("ray://") or _HOST_PORT.match(text):
        return text
    raise UserError(
        f"--ray {address!r}: give auto, ray://HOST:PORT (Ray Client) or HOST:PORT (the head's GCS)"
    )


def connect(address: str) -> bool:
    """Connect this process to the cluster at ``address``; False when it already was connected
    (then the caller must not disconnect it)."""
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=check_address(address),
            namespace=NAMESPACE,
            log_to_driver=False,  # the nodes' logs stay in their session dirs; the progress bar stays clean
            logging_level=logging.WARNING,
        )
    except (ImportError, ValueError) as exc:  # e.g. ray:// without Ray Client (grpcio)
        raise UserError(f"--ray {address}: {exc} (codemend's extra: pip install 'codemend[ray]')") from None
    except (ConnectionError, TimeoutError, RuntimeError) as exc:
        raise InfrastructureError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return True


def disconnect() -> None:
    ray.shutdown()
