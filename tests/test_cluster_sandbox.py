"""``ClusterSandbox``: rewards from a pool of Ray actors and ``codemend evaluate --ray`` score on the
cluster's runners exactly as locally (the scenarios run once per session, ``cluster_fixtures``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest_plugins = ["cluster_fixtures"]


@pytest.mark.slow
def test_rewards_from_a_pool_of_ray_actors_score_on_the_cluster_as_locally(two_nodes: dict[str, Any]) -> None:
    r = two_nodes["rewards"]
    assert r["rows"] == 8
    # 3 HumanEval problems, right then wrong; then dedupe's fast solution and a wrong one, by speed
    assert r["cluster"][:6] == r["local"][:6] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert r["cluster"][6] > 0 and r["local"][6] > 0  # significantly faster than the reference
    assert r["cluster"][7] == r["local"][7] == 0.0  # fast but wrong


@pytest.mark.slow
def test_evaluate_on_the_cluster_scores_as_locally(cli: dict[str, Any]) -> None:
    local, ray = cli["evaluate"]["local"], cli["evaluate"]["ray"]
    assert ray["exit"] == 0, ray["stderr"]
    assert local["exit"] == 0, local["stderr"]
    assert json.loads(ray["stdout"]) == json.loads(local["stdout"]) == {"pass@1": 0.5}
    assert ray["results"] == local["results"]
