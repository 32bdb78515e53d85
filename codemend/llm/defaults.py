"""Clients built from the process settings, falling back to the embedded model."""

from __future__ import annotations

from typing import Literal

from codemend.llm.client import LLMClient
from codemend.llm.shared import embedded_server
from codemend.settings import EMBEDDED_MODEL_NAME, LLMSettings, get_settings


def resolve(settings: LLMSettings) -> LLMSettings:
    """Fill in the embedded server's URL and model when no endpoint is configured.

    Finds this user's embedded server, or starts it (blocking until it answers). The embedded
    server answers one request at a time, so its clients send one at a time, in this process and
    across the processes sharing it (the others wait in their clients, where the request timeout
    does not run), and replies get ``max_tokens`` from
    ``CODEMEND_EMBEDDED_MAX_TOKENS`` unless ``CODEMEND_MAX_TOKENS`` or the call sets it.
    """
    if settings.base_url is not None:
        return settings
    server = embedded_server()
    return settings.model_copy(
        update={
            "base_url": server.base_url,
            "model": settings.model or EMBEDDED_MODEL_NAME,
            "max_concurrency": 1,
            "request_lock": server.request_lock,
            "context_tokens": get_settings().embedded.n_ctx,
            "max_tokens": settings.max_tokens or get_settings().embedded.max_tokens,
        }
    )


def default_client(role: Literal["generator", "critic"] = "generator") -> LLMClient:
    """A client for the generator's or the critic's endpoint as configured in the environment."""
    settings = get_settings()
    return LLMClient(resolve(settings.critic if role == "critic" else settings.llm))
