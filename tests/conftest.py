"""Shared fixtures: one real sandbox for the session, problems built in code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codemend.problems import Problem
from codemend.sandbox import LocalSandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[LocalSandbox]:
    """The default backend with namespaces required: a test must never run unisolated by accident."""
    with LocalSandbox(workers=2, isolation="namespaces") as sb:
        sb.start()
        yield sb


def make_problem(
    *asserts: str, entry_point: str = "f", time_limit_s: float = 2.0, **extra: object
) -> Problem:
    tests = [{"kind": "assert", "code": code} for code in asserts]
    data = {"id": "t", "prompt": "", "entry_point": entry_point, "time_limit_s": time_limit_s, "tests": tests}
    return Problem.model_validate({**data, **extra})
