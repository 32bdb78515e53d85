"""``codemend bench`` as a user runs it: a subprocess against the scripted endpoint, killed with
SIGKILL mid-run and resumed without losing, repeating or duplicating a trajectory."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench_helpers import HumanEvalServer, fail_then_pass
from security_helpers import needs_bandit

from codemend.benchmarks import load_humaneval
from codemend.trajectories import TrajectoryStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[HumanEvalServer]:
    endpoint = HumanEvalServer(policy=fail_then_pass(1)).start()
    yield endpoint
    endpoint.stop()
    endpoint.check()


def environment(server: HumanEvalServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    return env | {
        "CODEMEND_BASE_URL": server.url,
        "CODEMEND_MODEL": "scripted",
        "CODEMEND_MAX_ATTEMPTS": "2",
        "PYTHONPATH": str(ROOT),
    }


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "codemend", "bench", "humaneval", *args]


def run(server: HumanEvalServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), env=environment(server), cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def stored(run_dir: Path) -> dict[str, list[dict[str, object]]]:
    with TrajectoryStore(run_dir / "trajectories.db") as store:
        return {t.trajectory_id: [s.model_dump() for s in t.steps] for t in store.trajectories()}


def mid_run(run_dir: Path) -> bool:
    """Three trajectories finished and scored, and one stopped half-way (a step stored)."""
    hidden = run_dir / "hidden.jsonl"
    if not (hidden.is_file() and len(hidden.read_text().splitlines()) >= 3):
        return False
    with TrajectoryStore(run_dir / "trajectories.db") as store:
        return any(t.steps and not t.final_code for t in store.trajectories(include_unfinished=True))


@pytest.mark.parametrize("checkpoints", ["--checkpoints", "--no-checkpoints"])
def test_sigkill_mid_run_then_resume(server: HumanEvalServer, tmp_path: Path, checkpoints: str) -> None:
    server.delay_s = 0.3
    args = ("--limit", "6", "--samples", "2", "--rounds", "1", "--concurrency", "2", checkpoints)
    args = (*args, "--run-dir", str(tmp_path))
    proc = subprocess.Popen(
        command(*args), env=environment(server), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 90
    while not mid_run(tmp_path):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the bench made no progress"
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no cleanup of any kind
    proc.communicate(timeout=30)
    before = stored(tmp_path)
    asked = len(server.requests)
    assert 3 <= len(before) < 12 and asked < 24

    out = run(server, *args, "--resume", "--progress")
    assert out.returncode == 0, out.stderr
    after = stored(tmp_path)
    expected = {f"{tid}:{s}" for tid in [f"HumanEval/{i}" for i in range(6)] for s in (0, 1)}
    assert {tid.split(":", 1)[1] for tid in after} == expected and len(after) == 12
    assert all(after[tid] == steps for tid, steps in before.items())  # finished ones untouched
    # none lost: the half-way one's first step came back from its graph checkpoint, or was redone
    assert all([s["index"] for s in steps] == [0, 1] for steps in after.values())
    # each trajectory asks twice; only the work of trajectories in flight at the kill is redone
    # (with checkpoints, only the calls in flight)
    assert 24 <= len(server.requests) <= 24 + (2 if checkpoints == "--checkpoints" else 4)
    assert len(server.requests) - asked <= 2 * (12 - len(before))
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert sorted((r["task_id"], r["sample_index"]) for r in rows) == sorted(
        (f"HumanEval/{i}", s) for i in range(6) for s in (0, 1)
    )
    assert all(r["passed"] for r in rows)
    lines = out.stdout.splitlines()
    # six problems are too few for an interval, so no pass@1 is shown without one
    too_few = "not enough data: 6 problem(s), an interval needs 10"
    assert lines[0].startswith(f"humaneval: pass@1 at round 0 and after 1 round(s): {too_few}")
    assert "solved 12" in out.stderr  # the progress bar's last state


def test_resume_keeps_the_stored_settings(server: HumanEvalServer, tmp_path: Path) -> None:
    assert run(server, "--limit", "1", "--rounds", "1", "--run-dir", str(tmp_path)).returncode == 0
    assert not (tmp_path / ".codemend.lock").exists()  # it used to stay after every run
    out = run(server, "--rounds", "2", "--run-dir", str(tmp_path), "--resume")
    assert out.returncode == 2 and "was started with --rounds 1; drop --rounds" in out.stderr
    out = run(server, "--rounds", "1", "--run-dir", str(tmp_path), "--resume")  # agreeing is fine
    assert out.returncode == 0, out.stderr
    assert len(server.requests) == 2


def test_resume_on_a_store_that_lost_a_table_is_one_line_exit_2(
    server: HumanEvalServer, tmp_path: Path
) -> None:
    """It was a "no such table" traceback."""
    assert run(server, "--limit", "1", "--rounds", "0", "--run-dir", str(tmp_path)).returncode == 0
    with sqlite3.connect(tmp_path / "trajectories.db") as conn:
        conn.execute("DROP TABLE steps")
    out = run(server, "--run-dir", str(tmp_path), "--resume")
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"error: {tmp_path / 'trajectories.db'}: this trajectory store has lost its steps")


def test_a_prompt_file_is_kept_with_the_run_and_must_not_change(
    server: HumanEvalServer, tmp_path: Path
) -> None:
    mine = tmp_path / "generate.md"
    mine.write_text("MY GENERATE TEMPLATE\n$task\n")
    run_dir = tmp_path / "run"
    mine_flag = ("--prompt-file", f"generate={mine}")
    out = run(server, "--limit", "1", "--rounds", "1", "--run-dir", str(run_dir), *mine_flag)
    assert out.returncode == 0, out.stderr
    first = server.requests[0].body["messages"][-1]["content"]
    assert first.startswith("MY GENERATE TEMPLATE\n")
    with TrajectoryStore(run_dir / "trajectories.db") as store:
        (record,) = store.runs()
    assert record.settings["prompt_files"] == {"generate": str(mine.resolve())}

    mine.write_text("ANOTHER TEMPLATE\n$task\n")  # resuming with other prompt text would mix runs
    again = run(server, "--run-dir", str(run_dir), "--resume")
    assert again.returncode == 2 and "another generate prompt" in again.stderr, again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--limit", "2", "--ids", "3"), "--limit or --ids, not both"),
        (("--ids", "HumanEval/999"), "no problem 'HumanEval/999'"),
        (("--resume",), "--resume needs --run-dir"),
    ],
)
def test_bad_input_exits_2(
    server: HumanEvalServer, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = (
        run(server, *args, "--rounds", "0")
        if "--resume" in args
        else run(server, *args, "--run-dir", str(tmp_path / "run"))
    )
    assert out.returncode == 2 and message in out.stderr, out.stderr


def test_a_benchmark_without_data_names_the_flag(server: HumanEvalServer, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "codemend", "bench", "mbpp", "--run-dir", str(tmp_path)],
        env=environment(server),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "--data PATH" in out.stderr


def bench(server: HumanEvalServer, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``codemend bench ARGS`` (any benchmark) against ``server``."""
    return subprocess.run(
        [sys.executable, "-m", "codemend", "bench", *args],
        env=environment(server),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_pathologically_nested_data_file_is_one_line_exit_2(
    server: HumanEvalServer, tmp_path: Path
) -> None:
    """It was a RecursionError traceback."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    out = bench(server, "jsonl", "--data", str(deep), "--run-dir", str(tmp_path / "run"))
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines() == [f"error: {deep}:1: arrays or objects nested more than 500 levels deep"]
    assert not server.requests


@pytest.mark.parametrize("where", ["afile/run", "/proc/codemend-run"])
def test_an_unwritable_run_dir_is_one_line_exit_2_before_any_model_call(
    server: HumanEvalServer, tmp_path: Path, where: str
) -> None:
    """It was a FileNotFoundError/NotADirectoryError traceback."""
    (tmp_path / "afile").write_text("")
    run_dir = tmp_path / where
    out = run(server, "--limit", "1", "--run-dir", str(run_dir))
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"error: cannot write in the run directory {run_dir}: ")
    assert not server.requests


def test_a_refused_bench_leaves_nothing_behind(server: HumanEvalServer, tmp_path: Path) -> None:
    """Refused benches used to leave a run dir holding only the lock, and without --data,
    ``runs/bench-jsonl-TIME`` in the working directory."""
    out = bench(server, "jsonl", cwd=tmp_path)
    assert out.returncode == 2 and "--data PATH" in out.stderr, out.stderr
    out = bench(server, "humaneval", "--ids", "HumanEval/999", "--run-dir", "run", cwd=tmp_path)
    assert out.returncode == 2 and "no problem 'HumanEval/999'" in out.stderr, out.stderr
    assert list(tmp_path.iterdir()) == []
    assert not server.requests


@pytest.mark.slow
def test_embedded_model_small_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    args = ("--limit", "1", "--rounds", "1", "--max-tokens", "256", "--run-dir", str(tmp_path))
    out = subprocess.run(
        command(*args),
        env=env | {"PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("humaneval: pass@1 ")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"] and summary["metrics"]["trajectories"] == 1
    assert (tmp_path / "passk_by_round.png").stat().st_size > 0


def test_a_second_process_on_a_busy_run_dir_is_refused_naming_the_holder(
    server: HumanEvalServer, tmp_path: Path
) -> None:
    """Two benches on one run dir used to crash both with an ExceptionGroup ("already has a step
    1"); the second is now refused at once, the first finishes, and a resume afterwards works."""
    # each reply takes 1 s, so the first run holds the dir for 6 s after its store appears: long
    # enough for the second process to start on a loaded machine
    server.delay_s = 1.0
    args = ("--limit", "6", "--rounds", "1", "--concurrency", "1", "--run-dir", str(tmp_path))
    with subprocess.Popen(
        command(*args), env=environment(server), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as first:
        deadline = time.monotonic() + 60
        while not (tmp_path / "trajectories.db").is_file():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = run(server, *args, "--resume")
        assert first.poll() is None, "the first run should still be going"
        assert second.returncode == 2, second.stderr
        message = " ".join(second.stderr.split())
        assert f"in use by another codemend process (PID {first.pid})" in message
        assert "--resume" in message and "Traceback" not in second.stderr
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert len(stored(tmp_path)) == 6
    again = run(server, *args, "--resume")  # the lock went with its holder
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("signum", "status", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_sigint_says_what_was_kept_and_how_to_go_on_and_progress_reaches_a_log(
    server: HumanEvalServer, tmp_path: Path, signum: int, status: int, word: str
) -> None:
    """Ctrl-C used to print only "Aborted!" and exit 1 ("not solved"), SIGTERM nothing at all
    (exit 143); with --progress and stderr in a file nothing was written until the end."""
    server.delay_s = 0.4
    args = ("--limit", "8", "--rounds", "1", "--concurrency", "1", "--progress", "--progress-every", "0.2")
    args = (*args, "--run-dir", str(tmp_path / "run"))
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            command(*args), env=environment(server), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err
        )
        deadline = time.monotonic() + 90
        while log.read_text().count(" done, solved ") < 3:  # lines while it runs, not at the end
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no progress line was written"
            time.sleep(0.05)
        proc.send_signal(signum)
        proc.wait(timeout=60)
    text = " ".join(log.read_text().split())
    assert proc.returncode == status, text
    assert "Traceback" not in text and "Aborted!" not in text
    match = re.search(word + r": (\d+) of 8 trajectories finished and are kept in (\S+); go on with: "
                      r"codemend bench humaneval --run-dir (\S+) --resume", text)  # fmt: skip
    assert match, text
    kept = int(match.group(1))
    assert 1 <= kept < 8 and match.group(3) == str(tmp_path / "run")
    assert len(stored(tmp_path / "run")) == kept
    out = run(server, "--run-dir", str(tmp_path / "run"), "--resume")
    assert out.returncode == 0, out.stderr
    assert len(stored(tmp_path / "run")) == 8


def dated_humaneval(path: Path, count: int) -> Path:
    """HumanEval's first ``count`` problems as a problems file, each with a difficulty and a
    release date (one a month from January 2024), which the scripted endpoint still recognises."""
    problems = load_humaneval()[:count]
    lines = []
    for i, p in enumerate(problems):
        meta = {"difficulty": "easy" if i % 3 else "hard", "release_date": f"2024-{i % 12 + 1:02}-15"}
        lines.append(p.model_copy(update={"metadata": meta}).model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--by", "difficulty"), "error: --by difficulty: no selected problem has 'difficulty' in its"),
        (("--released-after", "2024-13-01"), "error: --released-after '2024-13-01': not a date (YYYY-MM-DD"),
        (
            ("--released-after", "2024-06-01", "--released-before", "2024-06-02"),
            "error: empty date window: no day is after 2024-06-01 and before 2024-06-02",
        ),
        (("--released-before", "2024-01-01"), "error: --released-after/--released-before select on a"),
    ],
    ids=["by-unknown-key", "malformed-date", "empty-window", "no-dates"],
)
def test_a_breakdown_or_date_window_that_cannot_be_is_one_line_exit_2(
    server: HumanEvalServer, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = run(server, "--limit", "2", "--rounds", "0", "--run-dir", str(tmp_path / "run"), *args)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith(message) and not server.requests and not (tmp_path / "run").exists()


def test_a_date_window_is_kept_with_the_run_and_the_breakdown_with_its_report(
    server: HumanEvalServer, tmp_path: Path
) -> None:
    data = dated_humaneval(tmp_path / "dated.jsonl", 12)
    run_dir = tmp_path / "run"
    window = ("--released-after", "2024-01-15", "--released-before", "2024-12-01")  # February..November
    out = bench(server, "jsonl", "--data", str(data), "--rounds", "1", "--samples", "2", "--run-dir",
                str(run_dir), *window, "--by", "difficulty")  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    spec = summary["spec"]
    assert (spec["released_after"], spec["released_before"]) == ("2024-01-15", "2024-12-01")
    assert summary["metrics"]["scored_problems"] == 10 and summary["by"] == "difficulty"
    assert {name: g["scored_problems"] for name, g in summary["metrics"]["breakdown"]["groups"].items()} == {
        "easy": 7,
        "hard": 3,
    }
    report = (run_dir / "report.md").read_text()
    # every first attempt fails, every repair passes: repair wins at its own 280 tokens
    headline = report.splitlines()[2]
    assert headline.startswith("**At equal tokens (280 tokens per problem, what a repair trajectory spends")
    assert "repair beats resampling" in headline and "\n## By difficulty\n" in report
    assert "problems released after 2024-01-15 and before 2024-12-01" in report
    assert (run_dir / "pass_at_tokens.png").stat().st_size > 0
    # a resume keeps the window (another one is refused) and the breakdown
    other = bench(server, "jsonl", "--data", str(data), "--run-dir", str(run_dir), "--resume",
                  "--released-after", "2024-03-01")  # fmt: skip
    assert other.returncode == 2 and "was started with --released-after 2024-01-15" in other.stderr
    again = bench(server, "jsonl", "--data", str(data), "--run-dir", str(run_dir), "--resume")
    assert again.returncode == 0, again.stderr
    assert "\n## By difficulty\n" in (run_dir / "report.md").read_text()


@needs_bandit
def test_constraints_are_kept_with_the_run_and_every_step_is_analysed(
    server: HumanEvalServer, tmp_path: Path
) -> None:
    args = ("--limit", "1", "--rounds", "1", "--constraints", "security", "--run-dir", str(tmp_path))
    out = run(server, *args)
    assert out.returncode == 0, out.stderr
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        (record,) = store.runs()
        steps = [s for t in store.trajectories() for s in t.steps]
    assert record.settings["constraints"] == ["security"]
    assert steps and all(s.critique is not None and s.critique.security is not None for s in steps)
    assert all(s.critique is not None and s.critique.structure is not None for s in steps)
    reasons = {s.critique.structure.reason for s in steps if s.critique and s.critique.structure}
    assert reasons == {"the problem has no reference solution"}  # HumanEval's loader keeps none
    assert "with constraint(s) security" in (tmp_path / "report.md").read_text()
    again = run(server, "--run-dir", str(tmp_path), "--resume")  # the stored constraints go on
    assert again.returncode == 0, again.stderr


def test_feedback_trace_is_kept_with_the_run_and_says_itself_apart_from_feedback_tests(
    server: HumanEvalServer, tmp_path: Path
) -> None:
    out = run(server, "--limit", "2", "--rounds", "1", "--feedback", "trace", "--run-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "with execution traces of the first failing test (--feedback trace)" in out.stdout
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        (record,) = store.runs()
        steps = [s for t in store.trajectories() for s in t.steps]
    assert record.settings["feedback"] == "trace" and record.settings["feedback_tests"] == "visible"
    assert steps and all(s.critique is not None and s.critique.trace is not None for s in steps)
    help_text = subprocess.run(command("--help"), cwd=ROOT, capture_output=True, text=True).stdout
    assert "--feedback [tests|trace]" in help_text and "--feedback-tests [visible|all|none]" in help_text
