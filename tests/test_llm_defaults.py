"""Settings resolved into a client's: the model of an endpoint configured without one, here and
for a ``--ray`` bench (its Ray scenario runs once per session, ``cluster_fixtures``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from scripted_server import ScriptedServer

from codemend.errors import ProviderError, UserError
from codemend.llm import LLMSettings, resolve
from codemend.llm.defaults import only_model

pytest_plugins = ["cluster_fixtures"]


@pytest.fixture(autouse=True)
def _ask_again() -> Iterator[None]:
    only_model.cache_clear()
    yield
    only_model.cache_clear()


def _endpoint(*models: str) -> Iterator[ScriptedServer]:
    server = ScriptedServer(models=models).start()
    yield server
    server.stop()
    server.check()


@pytest.fixture
def one_model() -> Iterator[ScriptedServer]:
    yield from _endpoint("the-only-one")


def test_the_only_model_an_endpoint_serves_is_used_and_said(
    one_model: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Without CODEMEND_MODEL, a --ray bench (and every other command) refused to start."""
    with caplog.at_level(logging.WARNING, logger="codemend.llm.defaults"):
        resolved = resolve(LLMSettings(base_url=one_model.url))
        assert resolve(LLMSettings(base_url=one_model.url)).model == "the-only-one"  # asked once
    assert resolved.model == "the-only-one" and resolved.base_url == one_model.url
    assert [r.getMessage() for r in caplog.records] == [
        f"CODEMEND_MODEL is not set for {one_model.url}: using 'the-only-one', the only model it serves"
    ]
    assert resolve(LLMSettings(base_url=one_model.url, model="mine")).model == "mine"


@pytest.mark.parametrize(
    ("models", "said"),
    [(("a", "b"), "serves 2 models: set it to one of a, b"), ((), "lists no models: set it")],
)
def test_none_or_several_models_are_a_user_error_naming_them(models: tuple[str, ...], said: str) -> None:
    for server in _endpoint(*models):
        message = f"CODEMEND_MODEL is not set for {server.url}, and it {said}"
        with pytest.raises(UserError, match=re.escape(message)):
            resolve(LLMSettings(base_url=server.url))


def test_an_endpoint_that_cannot_be_asked_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="its list of models cannot be read"):
        resolve(LLMSettings(base_url="http://127.0.0.1:9/v1", connect_timeout_s=2))


@pytest.mark.slow
def test_ray_without_codemend_model_uses_the_endpoints_only_model(cli_failures: dict[str, Any]) -> None:
    """--ray asked for CODEMEND_MODEL though the endpoint serves one model."""
    token = cli_failures["token"]
    assert token["exit"] == 0, token["stderr"]
    said = "CODEMEND_MODEL is not set for http://127.0.0.1:"
    (line,) = [line for line in token["stderr"].splitlines() if said in line]
    assert line.endswith(": using 'scripted', the only model it serves")
    assert token["stdout"].startswith("humaneval: pass@1 ")
