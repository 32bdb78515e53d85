"""Hidden-test scoring after the fact: the answer per round as the graph picks it, the judge on
the real sandbox, and the crash-tolerant ``hidden.jsonl``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from codemend.benchmarks.hidden import HiddenJudge, HiddenLog, HiddenVerdicts, by_round
from codemend.benchmarks.spec import feedback_view
from codemend.problems import Problem, load_problem
from codemend.sandbox import DockerSandbox, LocalSandbox
from codemend.trajectories import StepRecord, TrajectoryRecord

ROOT = Path(__file__).resolve().parent.parent
SQUARE = load_problem(ROOT / "examples" / "square.json")  # visible: square(3), square(-2); hidden: 0.5
RIGHT = "def square(x):\n    return x * x\n"
HALF = "def square(x):\n    return 9\n"  # one visible test of two
VISIBLE_ONLY = "def square(x):\n    return int(x * x)\n"  # both visible, not the hidden 0.5
NONE = "def square(x):\n    return None\n"


def step(sandbox: LocalSandbox, index: int, code: str | None) -> StepRecord:
    report = sandbox.run(SQUARE, code, SQUARE.visible_tests()) if code is not None else None
    reward = report.fraction_passed if report is not None else None
    kind = "repair" if index else "generate"
    return StepRecord(index=index, kind=kind, messages=[], code=code, report=report, reward=reward)


def trajectory(steps: list[StepRecord], problem: Problem = SQUARE) -> TrajectoryRecord:
    return TrajectoryRecord(
        trajectory_id="r:square:0",
        run_id="r",
        problem=problem,
        status="unsolved",
        stop_reason="max_rounds",
        steps=steps,
    )


def test_the_answer_after_each_round_is_the_one_the_graph_would_pick(sandbox: LocalSandbox) -> None:
    # round 1 is worse than round 0 on the visible tests: a run stopped then returns round 0's code
    steps = [step(sandbox, 0, HALF), step(sandbox, 1, NONE), step(sandbox, 2, VISIBLE_ONLY)]
    assert by_round(steps, [True, False, False], rounds=3) == [True, True, False, False]
    # no code extracted: no answer, not a pass
    assert by_round([step(sandbox, 0, None)], [None], rounds=1) == [False, False]


def test_judge_scores_every_distinct_candidate_on_the_original_hidden_tests(sandbox: LocalSandbox) -> None:
    steps = [step(sandbox, 0, VISIBLE_ONLY), step(sandbox, 1, RIGHT), step(sandbox, 2, None)]
    shown_all = feedback_view(SQUARE, "all")  # what a --feedback-tests all run stores

    async def go() -> HiddenVerdicts:
        judge = HiddenJudge(sandbox, [SQUARE], rounds=2)
        return await judge.judge(trajectory(steps, shown_all))

    verdicts = asyncio.run(go())
    assert verdicts.steps == [False, True, None] and verdicts.by_round == [False, True, True]
    assert verdicts.error is None


def test_a_failing_sandbox_is_an_error_not_a_verdict() -> None:
    broken = DockerSandbox(image="none", base_url="unix:///nonexistent.sock", workers=1)
    steps = [StepRecord(index=0, kind="generate", messages=[], code=RIGHT)]

    async def go() -> HiddenVerdicts:
        return await HiddenJudge(broken, [SQUARE], rounds=0).judge(trajectory(steps))

    verdicts = asyncio.run(go())
    assert verdicts.error is not None and "SandboxUnavailable" in verdicts.error and verdicts.by_round == []


def test_log_survives_a_line_cut_short(tmp_path: Path) -> None:
    log = HiddenLog(tmp_path)
    first = HiddenVerdicts(trajectory_id="t1", steps=[True], by_round=[True])
    log.append(first)
    with log.path.open("a") as fh:
        fh.write('{"trajectory_id": "t2", "ste')  # SIGKILL mid-write
    second = HiddenVerdicts(trajectory_id="t2", steps=[False], by_round=[False])
    log.append(second)
    assert log.read() == {"t1": first, "t2": second}
