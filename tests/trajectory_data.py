"""Realistic trajectories for the store, export and reward tests (fixtures that use them are in
``trajectory_fixtures.py``).

Every test report is produced by running the code in the real sandbox: visible tests for each
step, hidden tests for the final code. Messages are shaped the way the repair loop sends them
(system, task, then each failed attempt and its feedback).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from codemend.problems import AssertTest, IOTest, Problem
from codemend.sandbox import LocalSandbox, TestReport
from codemend.trajectories import (
    Constraint,
    Critique,
    Message,
    RunRecord,
    StepRecord,
    TrajectoryRecord,
    trajectory_id_for,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RUN_ID = "run-0001"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SYSTEM = "You are an expert Python programmer. Reply with one ```python block."

SQUARE = Problem.model_validate(json.loads((EXAMPLES / "square.json").read_text()))
ADD = Problem.model_validate(
    {
        "id": "add",
        "prompt": 'def add(a, b):\n    """Return a + b, using the OFFSET from the setup."""\n',
        "entry_point": "add",
        "time_limit_s": 2,
        "test_setup_code": "OFFSET = 0",
        "tests": [
            {"code": "assert add(1, 2) == 3 + OFFSET"},
            {"code": "assert add(5, 5) == 10"},
            {"code": "assert add(-7, 2) == -5", "visibility": "hidden"},
        ],
    }
)
ECHO_SUM = Problem.model_validate(
    {
        "id": "echo-sum",
        "prompt": "Read two integers from stdin and print their sum.",
        "time_limit_s": 2,
        "tests": [
            {"stdin": "1 2\n", "expected_stdout": "3\n"},
            {"stdin": "40 2\n", "expected_stdout": "42\n"},
            {"stdin": "123456789 987654321\n", "expected_stdout": "1111111110\n", "visibility": "hidden"},
        ],
    }
)
PROBLEMS = (SQUARE, ADD, ECHO_SUM)

FENCE = "```"


def reply_for(code: str) -> str:
    return f"Here is my solution.\n{FENCE}python\n{code.strip()}\n{FENCE}\n"


def describe(test: AssertTest | IOTest) -> str:
    return test.code if isinstance(test, AssertTest) else f"stdin {test.stdin!r} -> {test.expected_stdout!r}"


def task_messages(problem: Problem) -> list[Message]:
    visible = "\n".join(describe(t) for t in problem.visible_tests())
    return [
        Message(role="system", content=SYSTEM),
        Message(role="user", content=f"{problem.prompt}\n\nYour code must pass:\n{visible}"),
    ]


def feedback_for(report: TestReport) -> str:
    lines = [f"{report.n_passed}/{len(report.results)} tests passed."]
    for r in report.results:
        if not r.passed:
            lines.append(
                f"- test {r.index} {r.status}: {r.assertion or r.call or ''} {r.exc_message or ''}".strip()
            )
    return "\n".join(lines)


def critique_for(report: TestReport) -> Critique:
    return Critique(
        constraints=[
            Constraint(name="parses", satisfied=True),
            Constraint(
                name="tests", satisfied=report.passed, evidence=f"{report.n_passed}/{len(report.results)}"
            ),
        ],
        score=report.fraction_passed,
        feedback=feedback_for(report),
    )


@dataclass(frozen=True, slots=True)
class Plan:
    problem: Problem
    sample_index: int
    codes: tuple[str, ...]
    feedback_tests: str = "visible"
    leak_hidden: bool = False  # the repair message quotes the hidden tests (feedback_tests="all")


def build_trajectory(sandbox: LocalSandbox, plan: Plan, run_id: str = RUN_ID) -> TrajectoryRecord:
    problem = plan.problem
    messages = task_messages(problem)
    steps: list[StepRecord] = []
    started = T0 + timedelta(minutes=plan.sample_index)
    for i, code in enumerate(plan.codes):
        report = sandbox.run(problem, code, problem.visible_tests())
        reply = reply_for(code)
        steps.append(
            StepRecord(
                index=i,
                kind="generate" if i == 0 else "repair",
                parent=None if i == 0 else i - 1,
                messages=list(messages),
                reply=reply,
                code=code,
                report=report,
                critique=critique_for(report),
                reward=report.fraction_passed,
                rewards={"tests": report.fraction_passed, "length": -0.001 * len(code)},
                tokens_in=40 + 30 * i,
                tokens_out=len(code) // 4,
                latency_s=0.25 + i / 10,
                started_at=started + timedelta(seconds=i),
                ended_at=started + timedelta(seconds=i, milliseconds=800),
            )
        )
        feedback = critique_for(report).feedback
        if plan.leak_hidden:
            feedback += "\nAlso checked: " + "; ".join(t.code for t in problem.hidden_tests())  # type: ignore[union-attr]
        messages = [
            *messages,
            Message(role="assistant", content=reply),
            Message(role="user", content=feedback),
        ]
        if report.passed:
            break
    final = steps[-1]
    hidden = sandbox.run(problem, final.code or "", problem.hidden_tests())
    assert final.report is not None
    return TrajectoryRecord(
        trajectory_id=trajectory_id_for(run_id, problem.id, plan.sample_index),
        run_id=run_id,
        problem=problem,
        sample_index=plan.sample_index,
        status="solved" if final.report.passed else "unsolved",
        stop_reason="solved" if final.report.passed else "max_rounds",
        final_code=final.code,
        final_reward=hidden.fraction_passed if final.report.passed else final.report.fraction_passed * 0.5,
        hidden_passed=hidden.passed,
        hidden_report=hidden,
        steps=steps,
        tokens_in=sum(s.tokens_in for s in steps),
        tokens_out=sum(s.tokens_out for s in steps),
        wall_s=1.5 * len(steps),
        feedback_tests=plan.feedback_tests,  # type: ignore[arg-type]
    )


PLANS = (
    # square: fails then repaired; solved at once; a passing and a failing first attempt are siblings
    Plan(SQUARE, 0, ("def square(x):\n    return x * 2\n", "def square(x):\n    return x * x\n")),
    Plan(SQUARE, 1, ("def square(x):\n    # squared\n    return x*x\n",)),
    Plan(SQUARE, 2, ("def square(x):\n    return x * x\n",)),
    # add: never solved; solved on visible tests only (the hidden one fails)
    Plan(ADD, 0, ("def add(a, b):\n    return a - b\n", "def add(a, b):\n    return a * b\n")),
    Plan(ADD, 1, ("def add(a, b):\n    return abs(a) + b\n",)),
    # add with hidden-test feedback: its repair prompt must never be exported
    Plan(ADD, 2, ("def add(a, b):\n    return a * 2\n", "def add(a, b):\n    return a + b\n"), "all", True),
    # echo-sum, an I/O problem: fails on the first try, then passes
    Plan(
        ECHO_SUM,
        0,
        ("print(sum(map(int, input().split())) + 1)\n", "print(sum(map(int, input().split())))\n"),
    ),
)


def run_record(run_id: str = RUN_ID) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        created_at=T0,
        codemend_version="0.1.0",
        model="scripted-model",
        endpoint="http://127.0.0.1:9/v1",
        prompt_hashes={"generate": "ab12", "repair": "cd34"},
        settings={"max_rounds": 2, "temperature": 0.8},
    )


# A writer process: one run, N trajectories of 4 big steps each, committed one by one.
WRITER = """
import sys
from codemend.problems import AssertTest, IOTest, Problem
from codemend.trajectories import Outcome, RunRecord, StepRecord, TrajectoryStore
path, run_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
step = StepRecord.model_validate_json(open(sys.argv[4]).read())
problem = Problem.model_validate_json(open(sys.argv[5]).read())
run = RunRecord.model_validate_json(open(sys.argv[6]).read()).model_copy(update={"run_id": run_id})
store = TrajectoryStore(path)
store.start_run(run)
for i in range(n):
    tid = store.start_trajectory(run_id, problem, i)
    for k in range(4):
        store.add_step(tid, step.model_copy(update={"index": k, "reply": step.reply * 200}))
    store.finish_trajectory(tid, Outcome(status="unsolved", stop_reason="max_rounds"))
print("done", flush=True)
"""


# The same through AsyncTrajectoryStore: 16 solvers always in flight, steps written behind.
ASYNC_WRITER = """
import asyncio, random, sys
from codemend.problems import Problem
from codemend.trajectories import AsyncTrajectoryStore, Outcome, RunRecord, StepRecord, TrajectoryStore
path, run_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
step = StepRecord.model_validate_json(open(sys.argv[4]).read())
problem = Problem.model_validate_json(open(sys.argv[5]).read())
run = RunRecord.model_validate_json(open(sys.argv[6]).read()).model_copy(update={"run_id": run_id})

async def solver(store, first):
    for i in range(first, n, 16):
        tid = await store.start_trajectory(run_id, problem, i)
        for k in range(4):
            await store.add_step(tid, step.model_copy(update={"index": k, "reply": step.reply * 200}))
            await asyncio.sleep(random.uniform(0.001, 0.02))
        await store.finish_trajectory(tid, Outcome(status="unsolved", stop_reason="max_rounds"))

async def main():
    store = AsyncTrajectoryStore(TrajectoryStore(path))
    await store.start_run(run)
    await asyncio.gather(*(solver(store, w) for w in range(16)))
    await store.close()

asyncio.run(main())
print("done", flush=True)
"""


def writer_args(tmp_path: Path, step: StepRecord, run: RunRecord) -> list[str]:
    (tmp_path / "step.json").write_text(step.model_dump_json())
    (tmp_path / "problem.json").write_text(SQUARE.model_dump_json())
    (tmp_path / "run.json").write_text(run.model_dump_json())
    return [str(tmp_path / n) for n in ("step.json", "problem.json", "run.json")]
