"""``codemend.optimise.measure_speed`` on the real sandbox: known pairs told apart under load,
the workload from the reference, and candidates that try to look fast without being fast."""

from __future__ import annotations

import math

import pytest
from optimise_helpers import cpu_burner, example, fast_solution

from codemend.errors import ProblemError
from codemend.optimise import Speed, measure_speed, measured_reward, optimised, prepare_workload
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

# The cheating tests ask for strong evidence (a real 5x gain gives p < 1e-6 here), so a cheat
# that costs what the reference costs is called "faster" by chance less than once in 1,000.
STRICT = Speed(repetitions=10, alpha=0.001)


@pytest.fixture(scope="module")
def dedupe() -> Problem:
    return example("dedupe")


def test_the_workload_expects_what_the_reference_gives(sandbox: LocalSandbox, dedupe: Problem) -> None:
    work = prepare_workload(sandbox, dedupe, dedupe.reference_solution or "", hidden=True, seed=1)
    assert len(work.tests) == len(dedupe.perf_tests) + 1 == len(work.inputs)  # and a generated one
    assert work.hidden and work.seed == 1
    assert work.inputs == ["a hidden call (48 characters)", "a freshly generated input"]
    assert sandbox.run(work.problem, fast_solution("dedupe"), work.tests).passed
    wrong = "def dedupe(xs):\n    return sorted(set(xs))\n"
    assert not sandbox.run(work.problem, wrong, work.tests).passed


def test_a_stdin_workload_comes_from_the_reference_program(sandbox: LocalSandbox) -> None:
    problem = example("distinct_count")
    work = prepare_workload(sandbox, problem, problem.reference_solution or "", hidden=True)
    assert work.tests[0].kind == "io" and work.tests[0].expected_stdout == "3000\n"
    m = measure_speed(sandbox, work, problem.reference_solution or "", fast_solution("distinct_count"))
    assert m.verdict == "faster" and optimised(m, True)


def test_a_baseline_that_fails_its_workload_is_the_problems_error(
    sandbox: LocalSandbox, dedupe: Problem
) -> None:
    broken = "def dedupe(xs):\n    raise ValueError('no')\n"
    with pytest.raises(ProblemError, match="problem dedupe: the baseline gives no usable output") as caught:
        prepare_workload(sandbox, dedupe, broken, hidden=True)
    assert "ValueError: no" in str(caught.value)  # the exception itself, not only "error"


def test_quadratic_and_linear_are_told_apart_under_background_load(
    sandbox: LocalSandbox, dedupe: Problem
) -> None:
    reference = dedupe.reference_solution or ""
    work = prepare_workload(sandbox, dedupe, reference, hidden=True)
    with cpu_burner(2):
        faster = measure_speed(sandbox, work, reference, fast_solution("dedupe"))
        slower = measure_speed(sandbox, work, fast_solution("dedupe"), reference)
    assert faster.method == "cpu" and faster.contained
    assert faster.verdict == "faster" and faster.p_faster is not None and faster.p_faster < 0.05
    assert faster.speedup is not None and faster.speedup > 2
    assert len(faster.baseline_s) == len(faster.candidate_s) == 10 and faster.warmup == 1
    assert slower.verdict == "slower" and slower.p_slower is not None and slower.p_slower < 0.05


def test_a_fast_but_wrong_candidate_gets_reward_zero(sandbox: LocalSandbox, dedupe: Problem) -> None:
    reference = dedupe.reference_solution or ""
    work = prepare_workload(sandbox, dedupe, reference, hidden=True)
    m = measure_speed(sandbox, work, reference, "def dedupe(xs):\n    return sorted(set(xs))\n")
    assert m.verdict == "incorrect" and m.failing_input == work.inputs[0]
    assert m.failure == "failed: a wrong result"
    assert measured_reward(m, True) == 0.0 and not optimised(m, True)


_SLOW = """def _slow(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out
"""
_INPUT = "[(i * 7919) % 3000 for i in range(8000)]"

CHEATS = {
    # the work done while importing, the call only hands back the answer
    "precomputes at import": f"{_SLOW}_ANSWER = _slow({_INPUT})\n\n"
    "def dedupe(xs):\n    return list(_ANSWER)\n",
    # a cache kept in every place a process could write, read back on the next repetition
    "memoises across repetitions": _SLOW
    + """
import json, os
_PLACES = ["memo.json", "/tmp/memo.json", os.path.expanduser("~/memo.json"), "/dev/shm/memo.json"]

def dedupe(xs):
    for path in _PLACES:
        try:
            with open(path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            pass
    out = _slow(xs)
    for path in _PLACES:
        try:
            with open(path, "w") as fh:
                json.dump(out, fh)
        except OSError:
            pass
    return out
""",
    # a detached grandchild does the work and outlives the call
    "spawns a helper process": _SLOW
    + """
import os, pickle, time

def dedupe(xs):
    r, w = os.pipe()
    if os.fork() == 0:
        if os.fork() == 0:
            os.setsid()
            data = pickle.dumps(_slow(xs))
            os.write(w, len(data).to_bytes(8, "big"))
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
            time.sleep(60)
        os._exit(0)
    os.wait()
    size = int.from_bytes(os.read(r, 8), "big")
    data = b""
    while len(data) < size:
        data += os.read(r, size - len(data))
    return pickle.loads(data)
""",
    # profilers and tracers switched off: nothing in the process measures it anyway
    "disables tracing": "import sys, threading\nsys.settrace(None)\nsys.setprofile(None)\n"
    "threading.settrace(None)\nthreading.setprofile(None)\n" + _SLOW + "dedupe = _slow\n",
}


@pytest.mark.parametrize("how", list(CHEATS))
def test_a_cheating_candidate_gets_no_speedup_credit(
    sandbox: LocalSandbox, dedupe: Problem, how: str
) -> None:
    # without the generator, so that each cheat stays correct on the one input it is timed on
    fixed = dedupe.model_copy(update={"perf_generator": None})
    reference = dedupe.reference_solution or ""
    work = prepare_workload(sandbox, fixed, reference, hidden=True)
    m = measure_speed(sandbox, work, reference, CHEATS[how], STRICT)
    assert m.verdict in ("same", "slower"), (m.verdict, m.speedup, m.p_faster)
    assert m.credited_speedup <= 1.0 and not optimised(m, True)
    assert measured_reward(m, True) <= 0.5


def test_the_strict_settings_still_see_a_real_speedup(sandbox: LocalSandbox, dedupe: Problem) -> None:
    reference = dedupe.reference_solution or ""
    work = prepare_workload(sandbox, dedupe, reference, hidden=True)
    honest = measure_speed(sandbox, work, reference, fast_solution("dedupe"), STRICT)
    assert honest.verdict == "faster" and honest.p_faster is not None and honest.p_faster < STRICT.alpha


def _binomial_tail(n: int, p: float, k: int) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_identical_programs_are_called_faster_at_most_five_percent_of_the_time(sandbox: LocalSandbox) -> None:
    """H0: the false-positive rate is at most alpha = 5%. Over 100 trials under background load,
    fail only on a count of "faster" verdicts that a 5% rate would give less than once in 1,000."""
    code = "def work(n):\n    return n if n < 2 else work(n - 1) + work(n - 2)\n"
    problem = Problem.model_validate(
        {
            "id": "identical",
            "prompt": "",
            "entry_point": "work",
            "tests": [{"code": "assert work(10) == 55"}],
            "perf_tests": [{"call": "work(20)"}],
        }
    )
    work = prepare_workload(sandbox, problem, code, hidden=True)
    trials, settings = 100, Speed(repetitions=6, alpha=0.05)
    limit = next(k for k in range(trials + 1) if _binomial_tail(trials, 0.05, k) < 0.001)
    with cpu_burner(2):
        verdicts = [measure_speed(sandbox, work, code, code, settings).verdict for _ in range(trials)]
    assert "incorrect" not in verdicts
    assert verdicts.count("faster") < limit, (verdicts.count("faster"), limit)


# -- instructions: counted under valgrind, exact -------------------------------------------------
COUNTED = Speed(cost="instructions")
SMALL = (
    "def dedupe(xs):\n    out = []\n    for x in xs:\n        if x not in out:\n            out.append(x)\n"
    "    return out\n"
)


def small_dedupe() -> Problem:
    """dedupe on inputs small enough to count quickly under valgrind."""
    return Problem.model_validate(
        {
            "id": "dedupe-small",
            "prompt": "",
            "entry_point": "dedupe",
            "tests": [{"code": "assert dedupe([3, 1, 3]) == [3, 1]"}],
            "reference_solution": SMALL,
            "perf_tests": [{"call": "dedupe([(i * 7919) % 300 for i in range(1500)])"}],
            "perf_generator": "import random\n\ndef generate(seed):\n"
            "    rng = random.Random(seed)\n    return [[rng.randrange(300) for _ in range(1500)]]\n",
        }
    )


@pytest.mark.slow
def test_identical_programs_count_exactly_the_same_under_load(sandbox: LocalSandbox) -> None:
    """The A/A check by instructions: no false "faster", whatever the machine does meanwhile."""
    from conftest import skip_unless_counting

    skip_unless_counting(sandbox)
    problem = small_dedupe()
    with cpu_burner(1):
        found = []
        for seed in (1, 2, 3):
            work = prepare_workload(sandbox, problem, SMALL, hidden=True, seed=seed)
            found.append(measure_speed(sandbox, work, SMALL, SMALL, COUNTED))
    assert [m.verdict for m in found] == ["same"] * 3
    assert all(m.baseline_instructions == m.candidate_instructions for m in found)
    assert all(m.method == "instructions" and m.speedup == 1.0 and m.hidden for m in found)
    work = prepare_workload(sandbox, problem, SMALL, hidden=True, seed=1)
    again = measure_speed(sandbox, work, SMALL, SMALL, COUNTED)
    assert again.baseline_instructions == found[0].baseline_instructions  # the same inputs, the same count


@pytest.mark.slow
def test_counted_real_speedups_and_cheats(sandbox: LocalSandbox) -> None:
    from conftest import skip_unless_counting

    skip_unless_counting(sandbox)
    problem = small_dedupe()
    work = prepare_workload(sandbox, problem, SMALL, hidden=True, seed=5)
    fast = measure_speed(sandbox, work, SMALL, fast_solution("dedupe"), COUNTED)
    assert fast.verdict == "faster" and (fast.speedup or 0) > 2 and measured_reward(fast, True) > 0.5
    assert fast.startup_instructions and fast.candidate_instructions and fast.baseline_instructions
    precompute = (
        SMALL.replace("def dedupe", "def _slow")
        + "_TABLE = {}\n"
        + "def dedupe(xs):\n    key = tuple(xs)\n    if key not in _TABLE:\n        _TABLE[key] = _slow(xs)\n"
        + "    return list(_TABLE[key])\n"
    )
    cheats = {
        "memoises within its process": precompute,  # one process per measurement: nothing to reuse
        "forks a helper": "import os\n" + SMALL.replace("    out = []", "    os.fork()\n    out = []"),
        "kills itself after answering": "import atexit, os, signal\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGKILL))\n" + SMALL,
    }
    for how, code in cheats.items():
        m = measure_speed(sandbox, work, SMALL, code, COUNTED)
        assert m.verdict in ("same", "slower", "incorrect"), (how, m.verdict, m.speedup)
        assert measured_reward(m, True) <= 0.5, how
