"""Clients built from the process settings, falling back to the embedded model."""

from __future__ import annotations

import functools
import logging
from typing import Literal

import httpx

from codemend.errors import ProviderError, UserError
from codemend.llm.client import LLMClient
from codemend.llm.shared import embedded_server
from codemend.settings import EMBEDDED_MODEL_NAME, LLMSettings, get_settings

log = logging.getLogger(__name__)


def resolve(settings: LLMSettings) -> LLMSettings:
    """Fill in the embedded server's URL and model when no endpoint is configured, and the model of
    an endpoint that serves only one when none is set (``only_model``).

    Finds this user's embedded server, or starts it (blocking until it answers). The embedded
    server answers one request at a time, so its clients send one at a time, in this process and
    across the processes sharing it (the others wait in their clients, where the request timeout
    does not run), and replies get ``max_tokens`` from
    ``CODEMEND_EMBEDDED_MAX_TOKENS`` unless ``CODEMEND_MAX_TOKENS`` or the call sets it.
    """
    if settings.base_url is not None:
        if settings.model is not None:
            return settings
        model = only_model(settings.base_url, settings.api_key, settings.connect_timeout_s)
        return settings.model_copy(update={"model": model})
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


@functools.cache
def only_model(base_url: str, api_key: str | None, timeout_s: float) -> str:
    """The model an endpoint configured without ``CODEMEND_MODEL`` serves, when it lists exactly
    one (``GET /models``), said in a warning; asked once per process. A ``UserError`` when it
    lists none or several, a ``ProviderError`` when it cannot be asked."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    unset = f"CODEMEND_MODEL is not set for {base_url}"
    try:
        answer = httpx.get(f"{base_url.rstrip('/')}/models", headers=headers, timeout=timeout_s)
    except httpx.TransportError as exc:
        raise ProviderError(f"{unset} and its list of models cannot be read: {exc}") from None
    try:
        answer.raise_for_status()
        models = [str(m["id"]) for m in answer.json()["data"]]
    except (httpx.HTTPStatusError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{unset}, and it lists no models ({exc}): set it") from None
    if not models:
        raise UserError(f"{unset}, and it lists no models: set it")
    if len(models) > 1:
        raise UserError(f"{unset}, and it serves {len(models)} models: set it to one of {', '.join(models)}")
    log.warning("%s: using %r, the only model it serves", unset, models[0])
    return models[0]


def default_client(role: Literal["generator", "critic"] = "generator") -> LLMClient:
    """A client for the generator's or the critic's endpoint as configured in the environment."""
    settings = get_settings()
    return LLMClient(resolve(settings.critic if role == "critic" else settings.llm))
