"""Clients built from the process settings, falling back to the embedded model."""

from __future__ import annotations

from typing import Literal

from codemend.llm.client import LLMClient
from codemend.llm.embedded import embedded_server
from codemend.settings import EMBEDDED_MODEL_NAME, LLMSettings, get_settings


def resolve(settings: LLMSettings) -> LLMSettings:
    """Fill in the embedded server's URL and model when no endpoint is configured.

    Starts the shared embedded server if needed (blocking until it answers). The embedded server
    answers one request at a time, so its client sends one at a time (the others wait in the
    client, where the request timeout does not run), and replies get ``max_tokens`` from
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
            "max_tokens": settings.max_tokens or get_settings().embedded.max_tokens,
        }
    )


def default_client(role: Literal["generator", "critic"] = "generator") -> LLMClient:
    """A client for the generator's or the critic's endpoint as configured in the environment."""
    settings = get_settings()
    return LLMClient(resolve(settings.critic if role == "critic" else settings.llm))
