"""``codemend solve``: code on stdout, the rounds on stderr, exit codes 0/1/2/3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner
from repair_helpers import RIGHT, ROOT, WRONG, fenced
from scripted_server import ScriptedServer, Status
from security_helpers import UNSAFE, needs_bandit

from codemend.cli.main import main
from codemend.cli.solve import load_reference, read_tests
from codemend.errors import UserError

pytest_plugins = ["llm_fixtures"]

SQUARE = str(ROOT / "examples" / "square.json")


def codemend(server: ScriptedServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    env |= {
        "CODEMEND_BASE_URL": server.url,
        "CODEMEND_MODEL": "scripted-model",
        "CODEMEND_MAX_ATTEMPTS": "2",
        "CODEMEND_BACKOFF_INITIAL": "0.01",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "codemend", "solve", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_solved_prints_the_code_and_the_rounds(scripted: ScriptedServer) -> None:
    scripted.queue(fenced(WRONG), fenced(RIGHT))
    out = codemend(scripted, SQUARE)
    assert out.returncode == 0, out.stderr
    assert out.stdout == RIGHT
    assert "0 generate: 0/2 tests, score 0.67, reward 0.00" in out.stderr
    assert "1 repair: 2/2 tests, score 1.00, reward 1.00" in out.stderr
    assert "solved: stopped (solved) after 1 repair(s), hidden tests 1/1; final reward 1.00" in out.stderr


def test_without_codemend_model_the_endpoints_only_model_is_used_and_said(scripted: ScriptedServer) -> None:
    """It was "no model set for URL: set CODEMEND_MODEL" (for --ray too)."""
    scripted.queue(fenced(RIGHT))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
    env |= {"CODEMEND_BASE_URL": scripted.url, "COLUMNS": "200"}
    command = [sys.executable, "-m", "codemend", "solve", SQUARE]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert (
        f"CODEMEND_MODEL is not set for {scripted.url}: using 'scripted', the only model it serves"
        in (out.stderr.splitlines()[0])
    )
    assert scripted.requests[0].body["model"] == "scripted"


def test_json_holds_the_whole_result_and_not_solved_exits_1(scripted: ScriptedServer, tmp_path: Path) -> None:
    scripted.queue(fenced(WRONG))
    out = codemend(scripted, SQUARE, "--rounds", "0", "--json", "--run-dir", str(tmp_path))
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    assert (result["passed"], result["stop_reason"], result["code"]) == (False, "max_rounds", WRONG)
    assert result["trajectory"]["steps"][0]["critique"]["feedback"].startswith(
        "Test `assert square(3) == 9` failed"
    )
    assert (tmp_path / "checkpoints.sqlite").exists()
    assert f"--resume {result['trajectory']['trajectory_id']}" in out.stderr


def test_prompt_with_a_tests_file(scripted: ScriptedServer, tmp_path: Path) -> None:
    tests = tmp_path / "tests.py"
    tests.write_text("assert square(3) == 9\nassert square(-2) == 4\n")
    scripted.queue(fenced(RIGHT))
    out = codemend(scripted, "--prompt", "Square x.", "--tests", str(tests), "--entry-point", "square")
    assert out.returncode == 0, out.stderr
    assert "Square x." in scripted.requests[0].body["messages"][0]["content"]


def test_endpoint_down_exits_3(scripted: ScriptedServer) -> None:
    scripted.queue(Status(code=503), Status(code=503))
    out = codemend(scripted, SQUARE)
    assert out.returncode == 3, out.stderr
    assert "infrastructure_error" in out.stderr and out.stdout == ""
    # each retry is one line at default verbosity, saying why (it used to wait in silence)
    retries = [line for line in out.stderr.splitlines() if "failed (HTTP 503" in line]
    assert len(retries) == 1 and f"request to {scripted.url} failed" in retries[0]
    assert "try 2 of 2 in" in retries[0]


def test_a_prompt_too_long_for_the_context_is_one_message_and_exit_2(scripted: ScriptedServer) -> None:
    """It used to print "infrastructure error: ContextLengthExceeded" and exit 1 (not solved)."""
    error = {"message": "maximum context length is 10", "code": "context_length_exceeded"}
    too_long = json.dumps({"error": error})
    scripted.queue(Status(code=400, body=too_long))
    out = codemend(scripted, SQUARE)
    assert out.returncode == 2, out.stderr
    assert "0 generate: prompt too long: the request does not fit the model's context" in out.stderr
    assert "infrastructure error" not in out.stderr and "Traceback" not in out.stderr
    assert "error: the problem's prompt does not fit the model's context: shorten" in out.stderr
    assert len(scripted.requests) == 1


def test_help_shows_the_endpoint_timeout_and_attempts() -> None:
    for command in ("solve", "bench"):
        out = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
        text = " ".join(out.output.split())
        assert "CODEMEND_TIMEOUT=120s" in text and "CODEMEND_MAX_ATTEMPTS=6" in text, command


def test_help_lists_the_exit_codes_and_the_max_tokens_default() -> None:
    """``check --help`` listed its exit codes, ``solve`` and ``bench`` did not; --max-tokens showed
    no default."""
    for command, codes in [("solve", ("Exit 0 when solved", "1 when not", "2 on bad input", "3 on an",
                                      "130 when interrupted")),
                           ("bench", ("Exit 0 when the run completed", "2 on bad input", "3 on an",
                                      "130 when interrupted", "143 when terminated"))]:  # fmt: skip
        out = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
        text = " ".join(out.output.split())
        assert all(code in text for code in codes), (command, text)
        assert "default: CODEMEND_MAX_TOKENS, else the endpoint's own limit; the embedded model: " in text
        assert "CODEMEND_EMBEDDED_MAX_TOKENS=1024" in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CODEMEND_TIMEOUT", "abc"),
        ("CODEMEND_BASE_URL", "http://127.0.0.1:99999/v1"),  # was a 195-line ExceptionGroup
        ("CODEMEND_BASE_URL", "notaurl"),  # was retried for 7 s, then exit 3
        ("CODEMEND_BASE_URL", "ftp://127.0.0.1/v1"),
    ],
)
def test_a_bad_environment_setting_is_one_line_exit_2(name: str, value: str) -> None:
    env = {**os.environ, name: value, "CODEMEND_MODEL": "m", "COLUMNS": "300"}
    out = subprocess.run([sys.executable, "-m", "codemend", "solve", SQUARE], env=env, capture_output=True,
                         text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.splitlines()) == 1, out.stderr  # no retry was reported: nothing was tried
    assert out.stderr.startswith(f"error: invalid environment setting: {name}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json"], "missing.json: cannot read"),
        (["nope:1"], "unknown benchmark 'nope'"),
        (["mbpp:11"], "mbpp needs --data PATH"),
        (["--prompt", "x"], "--prompt needs --tests FILE"),
        ([SQUARE, "--prompt", "x"], "give PROBLEM or --prompt"),
        ([SQUARE, "--resume", "abc"], "--resume needs --run-dir"),
    ],
)
def test_bad_input_exits_2_before_any_model_is_reached(args: list[str], message: str) -> None:
    out = CliRunner().invoke(main, ["solve", *args])
    assert out.exit_code == 2, out.output
    assert message in " ".join(out.stderr.split())


def test_a_pathologically_nested_file_is_one_line_exit_2(tmp_path: Path) -> None:
    """It was a RecursionError traceback, for a problem file and a tests file alike."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    nested = tmp_path / "nested.py"
    nested.write_text("x = " + "-" * 100_000 + "1\n")  # a MemoryError in Python's parser
    for args, message in [
        ([str(deep)], f"{deep}:1: arrays or objects nested more than 500 levels deep"),
        (["--prompt", "x", "--tests", str(deep)], f"{deep}:1: arrays or objects nested more than 500"),
        (["--prompt", "x", "--tests", str(nested)], f"{nested}: too deeply nested to parse"),
    ]:
        out = CliRunner().invoke(main, ["solve", *args])
        assert out.exit_code == 2, out.output
        assert message in " ".join(out.stderr.split())


def test_an_unwritable_or_missing_run_dir_is_one_line_exit_2(tmp_path: Path) -> None:
    """An unwritable --run-dir was a traceback once the sandbox had started."""
    (tmp_path / "afile").write_text("")
    for args, message in [
        (["--run-dir", str(tmp_path / "afile" / "run")], "cannot write in the run directory"),
        (["--run-dir", "/proc/codemend-run"], "cannot write in the run directory /proc/codemend-run"),
        (["--run-dir", str(tmp_path / "none"), "--resume", "x"], "nothing to resume: "),
    ]:
        out = CliRunner().invoke(main, ["solve", SQUARE, *args])
        assert out.exit_code == 2, out.output
        assert len(out.stderr.splitlines()) == 1 and message in out.stderr, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_benchmark_references() -> None:
    problem = load_reference("humaneval:HumanEval/53")
    assert (problem.id, problem.entry_point) == ("HumanEval/53", "add")
    assert problem.visible_tests() and problem.hidden_tests()
    assert load_reference("jsonl:square", data=Path(SQUARE)).id == "square"  # any benchmark, with --data
    with pytest.raises(UserError, match="humaneval has no problem 'HumanEval/999'"):
        load_reference("humaneval:HumanEval/999")


def test_tests_files(tmp_path: Path) -> None:
    check = tmp_path / "check.py"
    check.write_text("def check(candidate):\n    assert candidate(1) == 1\n")
    assert read_tests(check) == [{"kind": "check", "code": check.read_text()}]
    listed = tmp_path / "tests.json"
    listed.write_text(json.dumps(["assert f() == 1", {"stdin": "", "expected_stdout": "x"}]))
    assert read_tests(listed) == [{"code": "assert f() == 1"}, {"stdin": "", "expected_stdout": "x"}]
    bad = tmp_path / "bad.py"
    bad.write_text("assert (\n")
    with pytest.raises(UserError, match=r"bad\.py:1"):
        read_tests(bad)


def test_a_prompt_file_replaces_codemend_s_template(scripted: ScriptedServer, tmp_path: Path) -> None:
    mine = tmp_path / "repair.md"
    mine.write_text("MY REPAIR TEMPLATE\n$code\n---\n$feedback\n")
    scripted.queue(fenced(WRONG), fenced(RIGHT))
    out = codemend(scripted, SQUARE, "--prompt-file", f"repair={mine}")
    assert out.returncode == 0, out.stderr
    first, second = (r.body["messages"][-1]["content"] for r in scripted.requests)
    assert "MY REPAIR TEMPLATE" not in first and "expert Python programmer" in first  # generate: ours
    assert second.startswith("MY REPAIR TEMPLATE\ndef square(x):")
    assert "Test `assert square(3) == 9`" in second


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("repair", "expected KIND=PATH"),
        ("review={path}", "expected KIND=PATH with KIND one of generate, repair, critique, optimise"),
        ("generate=/nonexistent/x.md", "no such file"),
        ("generate={path}", "generate prompt has unknown variable(s) $code; missing variable(s) $task"),
    ],
)
def test_a_bad_prompt_file_exits_2_saying_why(
    scripted: ScriptedServer, tmp_path: Path, value: str, message: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_text("Fix $code\n")
    out = codemend(scripted, SQUARE, "--prompt-file", value.format(path=path))
    assert out.returncode == 2 and message in " ".join(out.stderr.split()), out.stderr
    assert scripted.requests == []


def test_a_problem_without_tests_is_refused_not_solved(scripted: ScriptedServer, tmp_path: Path) -> None:
    """Issue 26: "0/0 tests ... solved", exit 0. No test is not a pass."""
    problem = json.loads(Path(SQUARE).read_text()) | {"tests": []}
    path = tmp_path / "untested.json"
    path.write_text(json.dumps(problem))
    out = codemend(scripted, str(path))
    assert out.returncode == 2 and "has no tests: nothing would check the answer" in out.stderr, out.stderr
    assert not scripted.requests  # refused before any model call


def test_resume_takes_only_a_trajectory_of_this_problem(scripted: ScriptedServer, tmp_path: Path) -> None:
    """Issue 26: ``--resume`` with another problem's id printed that trajectory's code as the answer;
    ``--resume bogus`` silently started afresh."""
    scripted.queue(fenced(RIGHT))
    first = codemend(scripted, SQUARE, "--run-dir", str(tmp_path), "--json")
    assert first.returncode == 0, first.stderr
    tid = json.loads(first.stdout)["trajectory"]["trajectory_id"]
    other = json.loads(Path(SQUARE).read_text()) | {"id": "cube", "prompt": "Write cube(x)."}
    path = tmp_path / "cube.json"
    path.write_text(json.dumps(other))
    out = codemend(scripted, str(path), "--run-dir", str(tmp_path), "--resume", tid)
    assert out.returncode == 2 and "is of another problem" in out.stderr, out.stderr
    assert out.stdout == ""
    out = codemend(scripted, SQUARE, "--run-dir", str(tmp_path), "--resume", "bogus")
    assert out.returncode == 2 and "holds no trajectory 'bogus'" in out.stderr, out.stderr
    again = codemend(scripted, SQUARE, "--run-dir", str(tmp_path), "--resume", tid)
    assert again.returncode == 0 and again.stdout == RIGHT  # the right one still resumes
    assert len(scripted.requests) == 1


@needs_bandit
def test_constraints_security_keeps_a_passing_insecure_answer_from_being_solved(
    scripted: ScriptedServer,
) -> None:
    scripted.queue(fenced(UNSAFE), fenced(UNSAFE.replace("subprocess.call", "subprocess.run")))
    out = codemend(scripted, SQUARE, "--constraints", "security", "--rounds", "1", "--json")
    assert out.returncode == 1, out.stderr  # every test passes, yet not solved
    assert "0 generate: 2/2 tests, score 0.86" in out.stderr
    assert "security: 1 high, 1 low (bandit " in out.stderr
    result = json.loads(out.stdout)
    assert not result["passed"] and result["stop_reason"] == "max_rounds"
    first = result["trajectory"]["steps"][0]["critique"]
    assert first["constraints"][-1] == {
        "name": "security",
        "satisfied": False,
        "evidence": first["constraints"][-1]["evidence"],
        "required": True,
    }
    assert "(B602, high)" in scripted.requests[1].body["messages"][-1]["content"]
    assert "--constraints" in CliRunner().invoke(main, ["solve", "--help"]).output


def test_an_unknown_constraint_exits_2() -> None:
    out = CliRunner().invoke(main, ["solve", SQUARE, "--constraints", "style"])
    assert out.exit_code == 2 and "'style' is not 'security'" in out.output


def test_feedback_trace_sends_the_trace_in_the_repair_prompt(scripted: ScriptedServer) -> None:
    scripted.queue(fenced(WRONG), fenced(RIGHT))
    out = codemend(scripted, SQUARE, "--feedback", "trace", "--json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)["trajectory"]["steps"][0]["critique"]
    assert first["trace"]["available"] and first["trace"]["test_index"] == 0
    repair_prompt = scripted.requests[1].body["messages"][-1]["content"]
    assert first["trace"]["text"] in repair_prompt
    assert "Where it diverged: the test expected 9, got -9." in repair_prompt
    bad = codemend(scripted, SQUARE, "--feedback", "traces")
    assert bad.returncode == 2 and "'traces' is not one of 'tests', 'trace'" in bad.stderr


def test_constraints_security_without_bandit_records_it_not_available(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    """An interpreter that cannot import bandit (``-S``, and every installed distribution but
    bandit's on the path): the steps say why there is no analysis, and no verdict is made up."""
    site = Path(sysconfig.get_paths()["purelib"])
    shadow = tmp_path / "site-without-bandit"
    shadow.mkdir()
    for entry in site.iterdir():
        if not entry.name.lower().startswith("bandit") and entry.suffix != ".pth":
            (shadow / entry.name).symlink_to(entry)
    scripted.queue(fenced(UNSAFE))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_", "PYTHON"))}
    env |= {"CODEMEND_BASE_URL": scripted.url, "CODEMEND_MODEL": "scripted-model", "COLUMNS": "200"}
    path = [str(ROOT), str(shadow)]
    boot = f"import sys; sys.path[1:1] = {path!r}; from codemend.cli.main import main; main()"
    command = [sys.executable, "-S", "-c", boot, "solve", SQUARE, "--constraints", "security", "--json"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr  # its tests pass; nothing analysed, so nothing holds it back
    why = "bandit is not installed: pip install 'codemend[security]'"
    assert f"security: not available ({why})" in out.stderr
    (step,) = json.loads(out.stdout)["trajectory"]["steps"]
    security = {"available": False, "reason": why, "analyser": "bandit", "findings": []}
    assert step["critique"]["security"] == security
    assert "security" not in [c["name"] for c in step["critique"]["constraints"]]
    assert "security" not in step["rewards"]
