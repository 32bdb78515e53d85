"""``RayTrajectories`` (``codemend bench --ray``) on a real Ray cluster, against the scripted
endpoint with the real sandbox on every node: a Ray run stores exactly what the local run stores,
a speed run measures on the runners, an infrastructure failure is rerun, a killed driver resumes.
The scenarios run once per session (``cluster_fixtures``)."""

from __future__ import annotations

from typing import Any

import pytest

pytest_plugins = ["cluster_fixtures"]


@pytest.mark.slow
def test_a_ray_run_scores_exactly_as_the_local_run(two_nodes: dict[str, Any]) -> None:
    assert two_nodes["ray"] == two_nodes["local"]
    assert two_nodes["local"]["summary"]["metrics"]["trajectories"] == 16
    assert set(two_nodes["ray_counts"].values()) == {11}  # one row per sample, finished
    assert len(two_nodes["ray_counts"]) == 16
    assert two_nodes["server_errors"] == []


@pytest.mark.slow
def test_a_speed_run_on_the_cluster_measures_and_picks_by_speed(two_nodes: dict[str, Any]) -> None:
    speed = two_nodes["speed"]
    assert speed["objective"]["name"] == "speed" and speed["objective"]["repetitions"] == 5
    s = speed["summary"]
    assert s is not None and s["trajectories"] == 2  # as tests/test_benchmarks_speed.py locally
    assert s["correct_by_round"] == {"0": 1, "1": 2}
    assert s["opt_rate_by_round"] == {"0": 0.5, "1": 1.0}
    assert 1.0 < s["mean_speedup_by_round"]["0"] < s["mean_speedup_by_round"]["1"]
    assert s["methods"] == {"cpu": 2} and s["uncontained"] == 0
    assert speed["measurements"] == [5, 5]  # measured on the runners, stored by the driver


@pytest.mark.slow
def test_retry_errors_on_the_cluster_reruns_what_infrastructure_ended(two_nodes: dict[str, Any]) -> None:
    r = two_nodes["retry_errors"]
    assert r["first"] == {"errors": 1, "solved": 1, "resumed": 0}  # a dead endpoint is no model failure
    assert r["second"] == {"errors": 0, "solved": 2, "resumed": 1}
    assert len(r["ids"]) == len(set(r["ids"])) == 2


@pytest.mark.slow
def test_cli_ray_run_killed_and_resumed_matches_the_local_run(cli: dict[str, Any]) -> None:
    assert cli["killed_while_running"], "the driver finished before it could be killed"
    assert 3 <= cli["killed_after"] < 12
    assert cli["resume_exit"] == 0, cli["resume_stderr"]
    assert set(cli["counts"].values()) == {11} and len(cli["counts"]) == 12
    resumed, local = cli["ray"], cli["local"]
    assert resumed["summary"]["resumed_trajectories"] >= 3
    assert local["summary"]["resumed_trajectories"] == 0
    assert {**resumed["summary"], "resumed_trajectories": 0} == local["summary"]
    assert resumed["samples"] == local["samples"]
    assert cli["server_errors"] == []
