"""``EndpointLimiter``: one rate limit per model endpoint across the cluster (the scenario runs once
per session, ``cluster_fixtures``)."""

from __future__ import annotations

from typing import Any

import pytest

pytest_plugins = ["cluster_fixtures"]


@pytest.mark.slow
def test_one_rate_limit_per_endpoint_across_the_cluster(two_nodes: dict[str, Any]) -> None:
    limiter = two_nodes["limiter"]
    assert limiter["max_in_flight"] == 2
    assert 0.3 < limiter["waited_for_expiry_s"] < 5  # leases of dead holders expire
