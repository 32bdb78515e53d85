"""Settings read once from the environment: names, fallbacks and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemend.errors import UserError
from codemend.settings import Settings


def test_nothing_set_means_the_embedded_model() -> None:
    settings = Settings.from_env({})
    assert settings.llm.base_url is None
    assert settings.critic.base_url is None
    assert settings.llm.max_attempts >= 1


def test_codemend_names_win_over_openai_names() -> None:
    env = {"OPENAI_BASE_URL": "http://openai/v1", "OPENAI_API_KEY": "sk-openai"}
    assert Settings.from_env(env).llm.base_url == "http://openai/v1"
    assert Settings.from_env(env).llm.api_key == "sk-openai"
    env |= {"CODEMEND_BASE_URL": "http://mine/v1", "CODEMEND_API_KEY": "sk-mine"}
    assert Settings.from_env(env).llm.base_url == "http://mine/v1"
    assert Settings.from_env(env).llm.api_key == "sk-mine"


def test_numbers_and_paths_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "CODEMEND_MODEL": "gpt-x",
            "CODEMEND_TIMEOUT": "12.5",
            "CODEMEND_MAX_ATTEMPTS": "3",
            "CODEMEND_MAX_RETRY_TIME": "60",
            "CODEMEND_BACKOFF_INITIAL": "0.1",
            "CODEMEND_BACKOFF_MAX": "2",
            "CODEMEND_MAX_CONCURRENCY": "16",
            "CODEMEND_EMBEDDED_GGUF": "/models/x.gguf",
            "CODEMEND_EMBEDDED_N_CTX": "4096",
            "CODEMEND_MAX_TOKENS": "300",
            "CODEMEND_EMBEDDED_MAX_TOKENS": "512",
        }
    )
    llm = settings.llm
    assert (llm.model, llm.timeout_s, llm.max_attempts, llm.max_concurrency) == ("gpt-x", 12.5, 3, 16)
    assert (llm.max_retry_time_s, llm.backoff_initial_s, llm.backoff_max_s) == (60, 0.1, 2)
    assert settings.embedded.gguf_path == Path("/models/x.gguf")
    assert settings.embedded.n_ctx == 4096
    assert (llm.max_tokens, settings.embedded.max_tokens) == (300, 512)
    assert Settings.from_env({}).llm.max_tokens is None  # a configured endpoint's own default


def test_the_critic_inherits_unless_it_has_its_own() -> None:
    env = {"CODEMEND_BASE_URL": "http://gen/v1", "OPENAI_API_KEY": "k", "CODEMEND_MODEL": "big"}
    critic = Settings.from_env(env | {"CODEMEND_CRITIC_MODEL": "small"}).critic
    assert (critic.base_url, critic.api_key, critic.model) == ("http://gen/v1", "k", "small")


def test_a_critic_on_another_endpoint_does_not_get_the_generator_key() -> None:
    env = {"OPENAI_API_KEY": "secret", "CODEMEND_CRITIC_BASE_URL": "http://other/v1"}
    assert Settings.from_env(env).critic.api_key is None
    env["CODEMEND_CRITIC_API_KEY"] = "other-key"
    assert Settings.from_env(env).critic.api_key == "other-key"


def test_blank_values_count_as_unset() -> None:
    assert Settings.from_env({"CODEMEND_BASE_URL": "  "}).llm.base_url is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CODEMEND_TIMEOUT", "soon"),
        ("CODEMEND_MAX_ATTEMPTS", "0"),
        ("CODEMEND_CRITIC_MAX_CONCURRENCY", "-1"),
        ("CODEMEND_EMBEDDED_N_CTX", "12"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(UserError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CODEMEND_BASE_URL", "notaurl"),
        ("CODEMEND_BASE_URL", "ftp://example.com/v1"),
        ("CODEMEND_BASE_URL", "http://127.0.0.1:99999/v1"),
        ("CODEMEND_BASE_URL", "http://127.0.0.1:port/v1"),
        ("CODEMEND_BASE_URL", "http:///v1"),
        ("CODEMEND_CRITIC_BASE_URL", "localhost:8080/v1"),
        ("OPENAI_BASE_URL", "127.0.0.1:8080"),
    ],
)
def test_a_base_url_that_cannot_be_reached_as_written_is_bad_input(name: str, value: str) -> None:
    """It was retried as an infrastructure failure: exit 3 after 7 s, or a 195-line ExceptionGroup."""
    with pytest.raises(UserError) as info:
        Settings.from_env({name: value})
    message = str(info.value)
    assert message.startswith(f"invalid environment setting: {name}: expected an http:// or https:// URL")
    assert repr(value) in message and "Value error" not in message


def test_http_and_https_urls_are_taken_as_given() -> None:
    for url in ("https://api.example.com/v1", "http://[::1]:8080/v1", "http://localhost:1/v1/"):
        assert Settings.from_env({"CODEMEND_BASE_URL": url}).llm.base_url == url
