"""The trainer tests' session fixture; test modules load it with
``pytest_plugins = ["train_fixtures"]`` (helpers are in ``train_helpers.py``)."""

from __future__ import annotations

import pytest
from train_helpers import Base, load_base


@pytest.fixture(scope="session")
def base() -> Base:
    """SmolLM2-135M-Instruct, loaded once per session."""
    return load_base()
