"""``codemend export RUN --format inspect``: a real bench run as an Inspect AI eval log, read back
with inspect_ai's own ``read_eval_log``: one sample per trajectory, its messages, its scores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from viewer_data import ViewerRun, hidden_only_lines

from codemend.trajectories import TrajectoryStore

pytest_plugins = ["viewer_fixtures"]
ROOT = Path(__file__).resolve().parent.parent


def export(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "codemend", "export", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_inspect_log_reads_back_with_samples_scores_and_messages(
    viewer_run: ViewerRun, tmp_path: Path, suffix: str
) -> None:
    from inspect_ai.log import read_eval_log
    from inspect_ai.scorer import CORRECT, INCORRECT

    out = tmp_path / f"run{suffix}"
    done = export(str(viewer_run.run_dir), "--format", "inspect", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "5 samples" in done.stderr
    log = read_eval_log(str(out), resolve_attachments=True)  # model inputs are stored deduplicated
    assert log.status == "success" and log.eval.model == "scripted" and log.eval.task == "codemend/humaneval"
    samples = {s.id: s for s in log.samples or []}
    assert sorted(samples) == [f"HumanEval/{i}" for i in range(5)]
    verdicts = {pid: s.scores["hidden_tests"].value for pid, s in samples.items() if s.scores}
    assert verdicts == {
        "HumanEval/0": INCORRECT,
        "HumanEval/1": INCORRECT,
        "HumanEval/2": CORRECT,
        "HumanEval/3": CORRECT,
    }
    assert samples["HumanEval/4"].scores is None and samples["HumanEval/4"].error is not None
    assert "infrastructure" in samples["HumanEval/4"].error.message
    assert log.results is not None and log.results.scores[0].metrics["accuracy"].value == 0.5

    with TrajectoryStore(viewer_run.run_dir / "trajectories.db", read_only=True) as store:
        stored = {t.problem.id: t for t in store.trajectories()}
    repaired, record = samples["HumanEval/2"], stored["HumanEval/2"]
    assert repaired.scores is not None
    assert repaired.scores["hidden_tests"].metadata == {"by_round": [False, True, True]}
    assert repaired.scores["reward"].value == 1.0
    intermediate = [e for e in repaired.events if e.event == "score" and e.intermediate]  # type: ignore[union-attr]
    assert [e.score.value for e in intermediate] == [0.0, 1.0]  # type: ignore[union-attr]
    model_calls = [e for e in repaired.events if e.event == "model"]
    assert [m.input[0].text for m in model_calls] == [s.messages[0].content for s in record.steps]  # type: ignore[union-attr]
    roles = [m.role for m in repaired.messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert (
        repaired.messages[1].text == record.steps[0].reply
        and repaired.messages[3].text == record.steps[1].reply
    )
    assert repaired.metadata["stop_reason"] == "solved" and repaired.epoch == 1

    for problem in viewer_run.problems:  # the model's side of the log holds no hidden test
        sample = samples[problem.id]
        said = "\n".join(m.text for m in sample.messages) + str(sample.input)
        assert [line for line in hidden_only_lines(problem) if line in said] == []


def test_inspect_export_takes_no_row_selection(viewer_run: ViewerRun, tmp_path: Path) -> None:
    refused = export(
        str(viewer_run.run_dir),
        "--format",
        "inspect",
        "--out",
        str(tmp_path / "x.eval"),
        "--select",
        "correct",
    )
    assert refused.returncode == 2 and "drop --select" in refused.stderr
    wrong = export(str(viewer_run.run_dir), "--format", "inspect", "--out", str(tmp_path / "x.jsonl"))
    assert wrong.returncode == 2 and ".eval or .json" in wrong.stderr
    assert not list(tmp_path.iterdir())
