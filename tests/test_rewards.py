"""``codemend.rewards``: the reward of the ``rl`` export, scored in the real sandbox, as verl
(``compute_score``) and TRL GRPO (``reward_func``) call it."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from trajectory_data import ADD, ECHO_SUM, PROBLEMS, SQUARE, reply_for

from codemend import rewards
from codemend.errors import UserError
from codemend.rewards import compute_score, reward_func
from codemend.sandbox import LocalSandbox
from codemend.trajectories import ExportOptions, TrajectoryRecord, export_trajectories
from codemend.trajectories.ground_truth import from_ground_truth, to_ground_truth

pytest_plugins = ["trajectory_fixtures"]

HOSTILE = {
    "exits at import": "import os\n_ = os._exit(0)\ndef square(x):\n    return x * x\n",
    "kills its parent": (
        "import os\n_ = os.kill(os.getppid(), 9), os.kill(os.getpid(), 9)\ndef square(x):\n    return x * x\n"
    ),
    "exits in the call": "def square(x):\n    import os\n    os._exit(0)\n",
    "forges a pass": "import builtins as b\nb.AssertionError = BaseException\ndef square(x):\n    return 0\n",
    "equals anything": "class A:\n    __eq__ = lambda s, o: True\ndef square(x):\n    return A()\n",
    "never returns": "def square(x):\n    while True:\n        pass\n",
    "eats memory": "def square(x):\n    return len('x' * (1 << 40))\n",
}


@pytest.fixture(autouse=True)
def _shared(sandbox: LocalSandbox) -> Iterator[None]:
    rewards.use_sandbox(sandbox)
    yield
    rewards.use_sandbox(None)


def test_ground_truth_round_trips_every_kind_of_test() -> None:
    for problem in PROBLEMS:
        assert from_ground_truth(to_ground_truth(problem)) == problem


def test_passing_partial_and_garbage() -> None:
    truth = to_ground_truth(SQUARE)
    assert compute_score("codemend", reply_for("def square(x):\n    return x * x"), truth) == 1.0
    # x * abs(x): right for 3 and 0.5, wrong for -2 -> 2 of 3 tests (hidden ones count)
    assert compute_score(
        "codemend", reply_for("def square(x):\n    return x * abs(x)"), truth
    ) == pytest.approx(2 / 3)
    assert compute_score("codemend", "I cannot help with that.", truth) == 0.0
    assert compute_score("codemend", "", truth) == 0.0


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_replies_score_zero(name: str) -> None:
    quick = SQUARE.model_copy(update={"time_limit_s": 0.5})
    assert compute_score("codemend", reply_for(HOSTILE[name]), to_ground_truth(quick), {"index": 0}) == 0.0


def test_bodies_setup_code_and_io_programs() -> None:
    # a HumanEval-style bare body goes under the prompt's signature; setup code defines OFFSET
    assert compute_score("codemend", "    return a + b\n", to_ground_truth(ADD)) == 1.0
    io = to_ground_truth(ECHO_SUM)
    assert compute_score("codemend", reply_for("print(sum(map(int, input().split())))"), io) == 1.0
    assert compute_score("codemend", reply_for("print(3)"), io) == pytest.approx(1 / 3)


def test_only_the_models_reply_is_scored() -> None:
    """Issue 26: a conversation without an assistant message scored its user message's code (1.0);
    OpenAI content parts scored 0.0 silently."""
    truth = to_ground_truth(SQUARE)
    right = reply_for("def square(x):\n    return x * x")
    with pytest.raises(UserError, match="completion 0 holds no assistant message"):
        reward_func([[{"role": "user", "content": right}]], ground_truth=[truth])
    parts = [{"role": "assistant", "content": [{"type": "text", "text": right}]}]
    split = [{"type": "text", "text": right[:20]}, {"type": "text", "text": right[20:]}]
    assert reward_func([parts, [{"role": "assistant", "content": split}]], ground_truth=[truth] * 2) == [
        1.0,
        1.0,
    ]
    question = [{"role": "user", "content": right}, {"role": "assistant", "content": "no code"}]
    assert reward_func([question], ground_truth=[truth]) == [0.0]  # the reply, not the question
    for bad in (None, 42, [1, 2]):
        with pytest.raises(UserError, match="completion 0 must be a string or a list of chat messages"):
            reward_func([bad], ground_truth=[truth])


@pytest.mark.parametrize(
    ("columns", "said"),
    [
        ({"ground_truth": "one string"}, "`ground_truth` must be a list with one entry per completion"),
        ({"reward_model": [{}]}, "`reward_model[0]` must be a mapping with a `ground_truth` string"),
        ({"ground_truth": [3]}, "`ground_truth[0]` must be a string"),
    ],
)
def test_malformed_columns_say_what_is_expected(columns: dict[str, object], said: str) -> None:
    with pytest.raises(UserError) as caught:
        reward_func(["x"], **columns)
    assert said in str(caught.value)


def test_extra_info_that_is_not_a_mapping_is_a_user_error() -> None:
    with pytest.raises(UserError, match="extra_info must be a mapping"):
        compute_score("codemend", "x", to_ground_truth(SQUARE), [1])  # type: ignore[arg-type]


def test_broken_ground_truth_is_a_user_error() -> None:
    with pytest.raises(UserError, match="not JSON"):
        compute_score("codemend", "x", "{not json")
    with pytest.raises(UserError, match="format"):
        compute_score("codemend", "x", '{"inputs": ["1"], "outputs": ["1"]}')
    with pytest.raises(UserError, match="does not describe a problem"):
        compute_score("codemend", "x", '{"format": "codemend-tests/1", "id": "x"}')


def test_compute_score_takes_the_keyword_arguments_verl_passes() -> None:
    reply, truth = reply_for("def square(x):\n    return x * x"), to_ground_truth(SQUARE)
    extra = {"reward_router_address": "127.0.0.1:9", "reward_model_tokenizer": None}
    assert compute_score("codemend/humaneval", reply, truth, {"index": 0}, **extra) == 1.0


def test_rows_are_codemends_by_source_or_by_ground_truth() -> None:
    reply, truth = reply_for("def square(x):\n    return x * x"), to_ground_truth(SQUARE)
    assert compute_score("my-renamed-set", reply, truth) == 1.0
    assert rewards.is_codemend_row("codemend/mbpp", None) and rewards.is_codemend_row("codemend", None)
    assert not rewards.is_codemend_row("openai/gsm8k", "72")
    assert not rewards.is_codemend_row("codemendish", '{"format": "other"}')


def test_other_rows_need_verls_own_scorer() -> None:
    if importlib.util.find_spec("verl") is not None:
        pytest.skip("verl is installed here: tests/test_rewards_verl.py scores such rows with it")
    with pytest.raises(UserError, match=r"'openai/gsm8k' is not a codemend row.*verl"):
        compute_score("openai/gsm8k", "#### 72", "72")


def test_loaded_by_file_path_it_is_the_module_itself() -> None:
    """verl's ``custom_reward_function.path=.../rewards.py`` loads a second copy under another
    name; its functions are the module's, so ``use_sandbox`` reaches what verl calls."""
    spec = importlib.util.spec_from_file_location("custom_module_1234", rewards.__file__)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    assert copy.compute_score is rewards.compute_score
    assert copy.use_sandbox is rewards.use_sandbox


def test_trl_reward_func_reads_the_dataset_columns() -> None:
    truths = [to_ground_truth(SQUARE), to_ground_truth(SQUARE), to_ground_truth(ECHO_SUM)]
    completions = [
        [{"role": "assistant", "content": reply_for("def square(x):\n    return x * x")}],
        [{"role": "assistant", "content": "no code"}],
        [{"role": "assistant", "content": reply_for("print(sum(map(int, input().split())))")}],
    ]
    assert reward_func(completions, ground_truth=truths, prompts=[[]] * 3) == [1.0, 0.0, 1.0]
    as_text = [c[0]["content"] for c in completions]
    assert reward_func(as_text, reward_model=[{"style": "rule", "ground_truth": t} for t in truths]) == [
        1.0,
        0.0,
        1.0,
    ]
    with pytest.raises(UserError, match="ground_truth"):
        reward_func(as_text, prompts=[[]] * 3)
    with pytest.raises(UserError, match="3 completions but 2"):
        reward_func(as_text, ground_truth=truths[:2])


def test_scores_rows_of_the_rl_export(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    out = tmp_path / "rl.parquet"
    export_trajectories(records, ExportOptions(format="rl", out=out))
    rows = pq.read_table(out).to_pylist()
    answers = {
        "square": "def square(x):\n    return x * x",
        "add": "def add(a, b):\n    return a + b",
        "echo-sum": "print(sum(map(int, input().split())))",
    }
    for row in rows:
        reply = reply_for(answers[row["extra_info"]["task_id"]])
        args = (row["data_source"], reply, row["reward_model"]["ground_truth"], row["extra_info"])
        assert compute_score(*args) == 1.0


def test_default_sandbox_starts_lazily_and_closes_at_exit() -> None:
    code = (
        "from codemend.rewards import compute_score\n"
        "from codemend.trajectories.ground_truth import to_ground_truth\n"
        "from codemend.problems import load_problem\n"
        "print(compute_score('codemend', 'def square(x):\\n    return x * x\\n',"
        " to_ground_truth(load_problem('examples/square.json'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1.0\n"


# -- the async and batch forms (verl's async reward loop, verl's and TRL's batches) -----------


def _details(code: str) -> dict[str, object]:
    reply = reply_for(code) if code.startswith("def") else code
    return asyncio.run(rewards.acompute_score("codemend", reply, to_ground_truth(SQUARE)))


def test_acompute_score_returns_the_score_with_its_details() -> None:
    right = _details("def square(x):\n    return x * x")
    assert right == {
        "score": 1.0, "acc": 1.0, "pass_fraction": 1.0, "tests_passed": 3, "tests": 3,
        "failing_test": "", "error": "",
    }  # fmt: skip
    wrong = _details("def square(x):\n    return x + x")
    assert (wrong["score"], wrong["acc"], wrong["tests_passed"], wrong["tests"]) == (0.0, 0.0, 0, 3)
    assert wrong["failing_test"] == "visible test 0: failed (assert square(3) == 9: expected 9, got 6)"
    partial = _details("def square(x):\n    return x * abs(x)")
    assert partial["score"] == pytest.approx(2 / 3) and partial["acc"] == 0.0
    assert partial["failing_test"] == "visible test 1: failed (assert square(-2) == 4: expected 4, got -4)"
    raising = _details("def square(x):\n    return 1 / 0")
    assert raising["score"] == 0.0 and raising["error"] == "ZeroDivisionError: division by zero"
    assert _details("")["error"] == "the reply is empty"
    prose = _details("I cannot help with that.")
    assert prose["score"] == 0.0 and prose["error"].startswith("SyntaxError: invalid syntax")


def test_a_failing_hidden_test_is_named_by_its_place_not_its_code() -> None:
    reply = reply_for("def square(x):\n    return x * x if x >= 1 or x <= -1 or x == 0 else 0")
    details = rewards.score_details(SQUARE, reply)
    assert details.failing_test == "hidden test 2: failed"
    assert "0.5" not in details.failing_test and details.pass_fraction == pytest.approx(2 / 3)


def test_many_replies_in_flight_keep_their_order_and_the_loop_free() -> None:
    """A batch far wider than the pool (2 workers): right, wrong, hostile and raising replies,
    all awaited at once; each result is what the synchronous score says, in order, and the event
    loop went on running while they were in flight."""
    codes = [
        "def square(x):\n    return x * x",
        "def square(x):\n    return x + x",
        HOSTILE["never returns"],
        HOSTILE["forges a pass"],
        "def square(x):\n    raise ValueError('no')",
    ]
    replies = [reply_for(codes[i % len(codes)]) for i in range(30)]
    truths = [to_ground_truth(SQUARE)] * len(replies)
    ticks = 0

    async def run() -> list[dict[str, object]]:
        nonlocal ticks
        sources = ["codemend"] * len(replies)
        batch = asyncio.ensure_future(rewards.acompute_score_batch(sources, replies, truths))
        while not batch.done():
            ticks += 1
            await asyncio.sleep(0.01)
        return batch.result()

    results = asyncio.run(run())
    assert [r["score"] for r in results] == [[1.0, 0.0, 0.0, 0.0, 0.0][i % len(codes)] for i in range(30)]
    assert [r["error"] for r in results[:5]] == [
        "", "", results[2]["error"], "", "ValueError: no",
    ]  # fmt: skip
    assert results[2]["failing_test"].endswith("timeout") and "wall-clock" in str(results[2]["error"])
    assert ticks > 1


def test_the_sync_batch_and_trl_agree_with_the_async_form() -> None:
    replies = [reply_for("def add(a, b):\n    return a + b"), reply_for("def add(a, b):\n    return a - b")]
    truths = [to_ground_truth(ADD)] * 2
    batch = rewards.compute_score_batch(["codemend"] * 2, replies, truths, [{}, None])
    assert [b["score"] for b in batch] == [1.0, 0.0]
    assert reward_func(replies, ground_truth=truths) == [1.0, 0.0]
    with pytest.raises(UserError, match="one entry per reply: data_sources 1, solution_strs 2"):
        rewards.compute_score_batch(["codemend"], replies, truths)


def test_an_async_row_of_other_data_needs_verls_own_scorer() -> None:
    with pytest.raises(UserError, match="not a codemend row"):
        asyncio.run(rewards.acompute_score("openai/gsm8k", "#### 72", "72"))
