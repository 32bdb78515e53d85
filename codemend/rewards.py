"""The reward of codemend's ``rl`` export: run a model's reply against the row's tests.

``compute_score`` is verl's custom reward function. verl 0.9.1's ``main_ppo`` reads it from
``reward.custom_reward_function.path=pkg://codemend.rewards`` (``name`` defaults to
``compute_score``); the top-level ``custom_reward_function.path`` key of older verl releases is
ignored there. ``pkg://`` imports this module itself; a file path to ``rewards.py`` loads a second
copy, whose public names are then this module's, so ``use_sandbox`` reaches it either way. verl
passes extra keyword arguments (``reward_router_address``, ``reward_kwargs``); rows that are not
codemend's (their ``data_source`` neither ``codemend`` nor ``codemend/...`` and their ground
truth not in codemend's format) go to verl's own ``default_compute_score``, so a batch may mix
codemend's rows with other data. ``reward_func`` is the same score for TRL's ``GRPOTrainer``,
which passes the dataset's columns as keyword arguments. Both run candidates in codemend's
sandbox: a module-wide ``LocalSandbox`` started on first use and closed at exit, or the one
given to ``use_sandbox``. The module's own sandbox has as many workers as the process is given
CPUs (``codemend.sandbox.budget``: ``CODEMEND_SANDBOX_WORKERS``, else the CPUs Ray assigned to
the reward worker, 1 for an actor that asked for none, else the process's CPU affinity), not
one per core of the machine in each of a trainer's reward workers.

``acompute_score`` is the same reward for verl's async reward loop (``NaiveRewardManager``
awaits a coroutine function and takes a dict): the score with its details (pass fraction, the
first failing test, the first error), any number in flight on one sandbox pool;
``acompute_score_batch`` and ``compute_score_batch`` take lists (the latter for verl's
``BatchRewardManager``). ``reward_func`` goes the same way: the replies queue on one thread per
sandbox worker (``_scorers``), shared by every caller of the process.

The score is the fraction of the tests that pass: 1.0 when all do, 0.0 for a reply with no
usable code or a hostile one (it fails inside the sandbox like any wrong answer). With
a ``Speed`` objective (``extra_info["objective"] == "speed"`` in a speed run's rows, with
``extra_info["cost"]``: ``cpu`` or ``instructions``) it is the correctness-gated speedup reward
instead: 0 unless every test passes, then a bounded function of the speedup over the ground
truth's ``reference_solution``, measured from outside the candidate on the problem's hidden
performance inputs and a freshly generated one — never on inputs the model was shown
(``codemend.optimise``). A broken
``ground_truth`` raises ``UserError``; a sandbox that fails raises ``InfrastructureError`` —
neither is scored as a wrong answer. (The per-step rewards of the repair loop itself are
``codemend.agents.step_rewards``.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codemend.errors import UserError
from codemend.llm import extract_code
from codemend.optimise import (
    Correctness,
    Speed,
    WorkloadCache,
    as_objective,
    measure_speed,
    measured_reward,
    prepare_workload,
)
from codemend.problems import Problem
from codemend.reward_details import RewardDetails, details_of
from codemend.sandbox import Sandbox
from codemend.sandbox.shared import close_shared_sandbox, shared_sandbox, use_shared_sandbox
from codemend.trajectories.ground_truth import GROUND_TRUTH_FORMAT, TRUTH_COLUMNS, from_ground_truth, truth_in

__all__ = [
    "RewardDetails",
    "acompute_score",
    "acompute_score_batch",
    "close_sandbox",
    "compute_score",
    "compute_score_batch",
    "is_codemend_row",
    "objective_of",
    "reward_func",
    "score_details",
    "score_reply",
    "use_sandbox",
]


def use_sandbox(sandbox: Sandbox | None) -> None:
    """Score with ``sandbox`` (the caller closes it); ``None`` goes back to the process's shared
    default (``codemend.sandbox.shared``, which the environments use too)."""
    use_shared_sandbox(sandbox)


def close_sandbox() -> None:
    """Close the shared sandbox if codemend started it (also runs at interpreter exit)."""
    close_shared_sandbox()


def score_reply(
    problem: Problem,
    reply: str,
    sandbox: Sandbox | None = None,
    objective: Correctness | Speed | str = "correctness",
) -> float:
    """The fraction of ``problem``'s tests the code in ``reply`` passes; for ``Speed``, 0 unless
    all pass, then the gated speedup reward against ``problem.reference_solution`` on the hidden
    workload."""
    return score_details(problem, reply, sandbox, objective).score


def score_details(
    problem: Problem,
    reply: str,
    sandbox: Sandbox | None = None,
    objective: Correctness | Speed | str = "correctness",
) -> RewardDetails:
    """``score_reply``'s score with its details: the pass fraction, the first failing test, the
    first error."""
    goal = as_objective(objective)
    tests = len(problem.tests)
    if not isinstance(reply, str) or not reply.strip():
        return RewardDetails(score=0.0, passed=False, pass_fraction=0.0, tests_passed=0, tests=tests,
                             error="the reply is empty")  # fmt: skip
    code = extract_code(reply, entry_point=problem.entry_point, prompt=problem.prompt, lang=problem.language)
    if not code.strip():
        return RewardDetails(score=0.0, passed=False, pass_fraction=0.0, tests_passed=0, tests=tests,
                             error="no code in the reply")  # fmt: skip
    box = sandbox or shared_sandbox()
    elsewhere = box.score_reply(problem, reply, goal)  # a cluster's: the whole score on one node
    if elsewhere is not None:
        done = elsewhere > 0.0 if isinstance(goal, Speed) else elsewhere == 1.0
        return RewardDetails(score=elsewhere, passed=done, pass_fraction=None, tests_passed=None, tests=None)
    report = box.run(problem, code)
    score = report.fraction_passed
    if isinstance(goal, Speed):
        score = _speed_score(box, problem, code, goal) if report.passed else 0.0
    return details_of(score, report)


def _speed_score(box: Sandbox, problem: Problem, code: str, goal: Speed) -> float:
    """The gated speedup reward of ``code``, which passed every test."""
    reference = problem.reference_solution
    if reference is None:
        raise UserError(f"problem {problem.id}: a speed score needs the ground truth's reference_solution")
    work = prepare_workload(box, problem, reference, hidden=True, cache=_workloads)
    return measured_reward(measure_speed(box, work, reference, code, goal), True)


_workloads = WorkloadCache()


def objective_of(extra_info: object) -> Correctness | Speed:
    """The objective a row's ``extra_info`` names: ``objective`` ("correctness" or "speed") and,
    for speed, ``cost`` ("cpu" or "instructions"); anything else is a ``UserError``."""
    if extra_info is None:
        return Correctness()
    if not isinstance(extra_info, dict):
        raise UserError(
            f"extra_info must be a mapping (a codemend `rl` row's), got {type(extra_info).__name__}"
        )
    name = extra_info.get("objective", "correctness")
    if name != "speed":
        return as_objective(name)
    return as_objective({"name": "speed", "cost": extra_info.get("cost", "cpu")})


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    **kwargs: Any,
) -> float | dict[str, Any]:
    """verl's custom reward: ``ground_truth`` is the ``reward_model.ground_truth`` string of a
    codemend ``rl`` row; ``solution_str`` is the decoded response; ``extra_info["objective"] ==
    "speed"`` scores the gated speedup (by ``extra_info["cost"]``, default ``cpu``). Other
    keyword arguments are verl's (``reward_router_address``, ``reward_kwargs``): codemend's rows
    need none of them. A row that is not codemend's is scored by verl's
    ``default_compute_score``, with everything verl passed."""
    if not is_codemend_row(data_source, ground_truth):
        return _verl_default_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    return score_reply(from_ground_truth(ground_truth), solution_str, objective=objective_of(extra_info))


def is_codemend_row(data_source: object, ground_truth: object) -> bool:
    """Whether codemend scores the row: its ``data_source`` is ``codemend`` or ``codemend/...``
    (what ``codemend export --format rl`` writes), or its ground truth is in codemend's format
    (a row whose source the user renamed)."""
    if isinstance(data_source, str) and (data_source == "codemend" or data_source.startswith("codemend/")):
        return True
    return isinstance(ground_truth, str) and f'"format":"{GROUND_TRUTH_FORMAT}"' in ground_truth[:64]


def _verl_default_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: Any, **kwargs: Any
) -> float | dict[str, Any]:
    try:
        from verl.utils.reward_score import default_compute_score
    except ImportError:
        raise UserError(
            f"data_source {data_source!r} is not a codemend row (expected 'codemend' or 'codemend/...' "
            "with a codemend ground_truth), and verl, whose default scorer would take it, is not installed"
        ) from None
    return default_compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)


def reward_func(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """TRL ``GRPOTrainer`` reward: one score per completion, read with the row's
    ``ground_truth`` column (or ``reward_model`` / ``reward_spec``). Completions may be strings
    or conversational (a list of messages; the last assistant message is scored)."""
    truths = _ground_truths(kwargs, len(completions))
    problems = [from_ground_truth(t) for t in truths]
    replies = [_completion_text(c, i) for i, c in enumerate(completions)]
    infos = kwargs.get("extra_info") or [{}] * len(replies)
    objectives = [objective_of(i) for i in infos]
    box = shared_sandbox()
    jobs = zip(problems, replies, objectives, strict=True)
    return [d.score for d in _scorers(box).map(lambda job: score_details(job[0], job[1], box, job[2]), jobs)]


_scorer_pools: dict[int, ThreadPoolExecutor] = {}
_scorer_lock = threading.Lock()


def _scorers(box: Sandbox) -> ThreadPoolExecutor:
    """The threads that score replies on ``box``: one per run it takes at once, shared by every
    caller of this process (``reward_func``, the batch and async forms), so that many replies
    in flight keep its workers busy without a thread per reply; kept for the process's life."""
    width = max(1, box.size)
    with _scorer_lock:
        pool = _scorer_pools.get(width)
        if pool is None:
            pool = _scorer_pools[width] = ThreadPoolExecutor(width, thread_name_prefix="codemend-reward")
        return pool


_FOREIGN = {"pass_fraction": None, "tests_passed": None, "tests": None, "failing_test": "", "error": ""}


def _as_details(result: float | dict[str, Any]) -> dict[str, Any]:
    """verl's default score of a row that is not codemend's, with the keys codemend's rows have."""
    if isinstance(result, dict):
        return {**_FOREIGN, **result}
    return {**_FOREIGN, "score": float(result), "acc": float(result)}


async def acompute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """``compute_score`` for verl's async reward loop (its ``NaiveRewardManager`` awaits a
    coroutine function and takes a dict): the score and its details (``RewardDetails.as_dict``:
    ``score``, ``acc``, ``pass_fraction``, ``tests_passed``, ``tests``, ``failing_test``,
    ``error``). Any number may be awaited at once: they queue for the sandbox's workers on
    threads of their own (``_scorers``), never blocking the event loop or its default executor.
    Point verl at it with ``reward.custom_reward_function.path=pkg://codemend.rewards`` and
    ``name=acompute_score``."""
    if not is_codemend_row(data_source, ground_truth):
        result = await asyncio.to_thread(
            _verl_default_score, data_source, solution_str, ground_truth, extra_info, **kwargs
        )
        return _as_details(result)
    problem, goal = from_ground_truth(ground_truth), objective_of(extra_info)
    box = shared_sandbox()
    loop = asyncio.get_running_loop()
    details = await loop.run_in_executor(_scorers(box), score_details, problem, solution_str, box, goal)
    return details.as_dict()


async def acompute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """``acompute_score`` over lists (one entry per reply), all in flight at once; the results
    in the same order."""
    infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    _same_lengths(data_sources, solution_strs, ground_truths, infos)
    rows = zip(data_sources, solution_strs, ground_truths, infos, strict=True)
    return list(await asyncio.gather(*(acompute_score(d, s, g, i, **kwargs) for d, s, g, i in rows)))


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """The batch form for callers that hand over lists and wait (verl's ``BatchRewardManager``
    calls it with these keyword arguments): ``acompute_score_batch``'s results, from sync code.
    Must not be called from a running event loop (await ``acompute_score_batch`` there)."""
    batch = acompute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs)
    return asyncio.run(batch)


def _same_lengths(*columns: Sequence[Any]) -> None:
    """A ``UserError`` unless every column has one entry per reply."""
    sizes = [len(c) for c in columns]
    if len(set(sizes)) > 1:
        names = ("data_sources", "solution_strs", "ground_truths", "extra_infos")
        found = ", ".join(f"{n} {k}" for n, k in zip(names, sizes, strict=True))
        raise UserError(f"the batch's lists must have one entry per reply: {found}")


def _ground_truths(columns: dict[str, Any], n: int) -> list[str]:
    """The rows' ground truths, from whichever column the trainer passed; a ``UserError`` saying
    what is expected otherwise (a list of JSON strings, one per completion)."""
    where = next((c for c in TRUTH_COLUMNS if columns.get(c) is not None), None)
    if where is None:
        raise UserError("reward_func needs the `ground_truth` column of a codemend `rl` export")
    given: Any = columns[where]
    pick = None if where == "ground_truth" else "ground_truth"
    if isinstance(given, str | bytes | dict) or not isinstance(given, Sequence):
        raise UserError(
            f"reward_func: `{where}` must be a list with one entry per completion (the dataset column), "
            f"got a {type(given).__name__}"
        )
    truths = []
    for i, item in enumerate(given):
        value = truth_in({where: item})
        if value is None:
            shape = f"a mapping with a `{pick}` string" if pick else "a string (the JSON ground truth)"
            raise UserError(
                f"reward_func: `{where}[{i}]` must be {shape}, got {type(item).__name__}: {item!r:.80}"
            )
        truths.append(value)
    if len(truths) != n:
        raise UserError(f"reward_func got {n} completions but {len(truths)} {where} values")
    return truths


def _content_text(content: Any, where: str) -> str:
    """A message's content: a string, or OpenAI content parts (their text parts, joined)."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif not (isinstance(part, dict) and isinstance(part.get("type"), str)):
                raise UserError(f"reward_func: {where} has a content part that is not one: {part!r:.80}")
        return "".join(texts)
    raise UserError(
        f"reward_func: {where}'s content must be a string or content parts, got {type(content).__name__}"
    )


def _completion_text(completion: Any, index: int = 0) -> str:
    """The model's reply in a completion: the string itself, or the last assistant message of a
    conversation (never a message of another role: a user message holding code is not a reply).
    Anything else is a ``UserError``."""
    where = f"completion {index}"
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, Sequence) and all(isinstance(m, dict) for m in completion):
        replies = [m for m in completion if m.get("role", "assistant") == "assistant"]
        if not replies:
            raise UserError(
                f"reward_func: {where} holds no assistant message: nothing of the model's to score"
            )
        return _content_text(replies[-1].get("content"), where)
    raise UserError(
        f"reward_func: {where} must be a string or a list of chat messages, got {type(completion).__name__}"
    )


if __name__ != "codemend.rewards":
    # Loaded by file path (verl's ``reward.custom_reward_function.path=.../codemend/rewards.py``):
    # this is a second copy of the module. Its public names become the package module's, so that
    # ``codemend.rewards.use_sandbox(...)`` reaches the function verl calls, and one sandbox serves.
    import importlib

    _package = importlib.import_module("codemend.rewards")
    globals().update({name: getattr(_package, name) for name in __all__})
