"""Fixtures for the LLM tests; test modules load them with ``pytest_plugins``.

Kept out of ``conftest.py`` (owned by the sandbox work) on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scripted_server import ScriptedServer, serving

from codemend.settings import LLMSettings


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    """A scripted endpoint; teardown fails the test if its script ran out or was left unused."""
    yield from serving()


@pytest.fixture
def llm_settings(scripted: ScriptedServer) -> LLMSettings:
    """Settings for the scripted endpoint with tiny retry waits."""
    return LLMSettings(
        base_url=scripted.url,
        api_key="test-key",
        model="scripted-model",
        timeout_s=2.0,
        connect_timeout_s=1.0,
        max_attempts=4,
        max_retry_time_s=20.0,
        backoff_initial_s=0.001,
        backoff_max_s=0.01,
        max_concurrency=8,
    )
