"""The workload a speed measurement runs, and what the model may know of it.

A problem's performance inputs are ``visible`` (quoted in the model's prompts and feedback) or
``hidden`` (the default: only their number and size are ever described). A problem may also give
a generator (``Problem.perf_generator``): source defining ``generate(seed)`` that returns the
arguments of one call of the entry point. Each measurement draws a fresh seed, the generator
runs in the sandbox's trusted harness (never in the candidate), and the expected output comes
from the baseline on the same input; a table of memorised answers then helps only if it holds
every input the generator can make.

Two workloads per problem:

- the **loop's** (``hidden=False``), measured after each correct candidate to give feedback:
  the visible performance inputs and a generated one; with neither, the hidden inputs (their
  values still never shown: feedback names them by size), else the visible tests;
- the **hidden** one (``hidden=True``), which decides rewards, the judge's %Opt and speedups:
  the hidden performance inputs and a generated one; with neither, the loop's workload (the
  measurement then says ``hidden=False`` and the bench summary counts it).

A call's expected output is kept as a SHA-256 digest of its ``repr`` (a large list stays out of
the test code); the harness compares the candidate's digest with it, so the check runs in the
trusted harness, never in the candidate.
"""

from __future__ import annotations

import ast
import secrets
import threading
from dataclasses import dataclass

from codemend.errors import ProblemError
from codemend.languages import mismatch
from codemend.problems import AssertTest, IOTest, PerfTest, Problem
from codemend.records import TestResult
from codemend.sandbox import Sandbox

DIGEST_SETUP = """
import hashlib as _cm_hashlib


def _cm_digest(value):
    return _cm_hashlib.sha256(repr(value).encode()).hexdigest()
"""
GENERATOR_SETUP = """
_CM_PLAIN = (bool, int, float, complex, str, bytes, type(None))


def _cm_plain(value, depth=0):
    if depth > 50:
        raise TypeError("the generated input nests deeper than 50 levels")
    if isinstance(value, _CM_PLAIN):
        return
    if type(value) in (list, tuple, set, frozenset):
        for item in value:
            _cm_plain(item, depth + 1)
        return
    if type(value) is dict:
        for key, item in value.items():
            _cm_plain(key, depth + 1)
            _cm_plain(item, depth + 1)
        return
    raise TypeError(f"the generator returned a {type(value).__name__} object, which is not plain data")


def _cm_generated(seed):
    scope = {"__name__": "perf_generator"}
    exec(compile(_CM_GENERATOR, "perf_generator.py", "exec"), scope)
    args = scope["generate"](seed)
    if type(args) not in (list, tuple):
        raise TypeError(
            f"generate({seed}) returned a {type(args).__name__}, not a list or tuple of the call's arguments"
        )
    _cm_plain(args)
    return args
"""
_CLIPPED = " more characters]"
SEED_BITS = 31


def fresh_seed() -> int:
    """A random seed for a generated input (``SEED_BITS`` bits, from the OS's randomness)."""
    return secrets.randbits(SEED_BITS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    problem: Problem
    """The problem as the measured runs see it (with the digest helper in its setup)."""
    tests: list[AssertTest | IOTest]
    inputs: list[str]
    """What each test feeds the code, for feedback and records: the call itself when visible,
    else only its size."""
    hidden: bool
    """Every input is one the model is never shown (hidden or freshly generated)."""
    seed: int | None = None
    """The generator's seed for this workload's generated input."""


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, whitespace collapsed, cut to ``limit`` characters with ``...``."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(test: PerfTest) -> str:
    if test.visibility == "hidden":
        return hidden_label(test)
    return short(test.call) if test.call is not None else f"stdin {short(test.stdin or '', 60)!r}"


def hidden_label(test: PerfTest) -> str:
    """A hidden input described by its size only."""
    if test.call is not None:
        return f"a hidden call ({len(test.call)} characters)"
    return f"a hidden stdin ({len(test.stdin or '')} characters)"


GENERATED_LABEL = "a freshly generated input"


def describe_hidden(problem: Problem) -> str:
    """What the model may be told of the workload it is not shown."""
    hidden = [t for t in problem.perf_tests if t.visibility == "hidden"]
    parts = []
    if hidden:
        sizes = ", ".join(str(len(t.call or t.stdin or "")) for t in hidden[:5])
        parts.append(f"{len(hidden)} hidden input(s) larger than the tests' (their text: {sizes} characters)")
    if problem.perf_generator is not None:
        parts.append("inputs generated afresh for every measurement")
    return " and ".join(parts)


def _setup(problem: Problem, generated: bool) -> str:
    if problem.language != "python":  # programs take stdin inputs only: no harness code
        return ""
    parts = [problem.test_setup_code, DIGEST_SETUP]
    if generated and problem.perf_generator is not None:
        parts += [f"_CM_GENERATOR = {problem.perf_generator!r}", GENERATOR_SETUP]
    return "\n".join(p for p in parts if p)


def _probe(test: PerfTest) -> AssertTest | IOTest:
    if test.call is not None:
        return AssertTest(code=f"assert _cm_digest({test.call}) == None")
    return IOTest(stdin=test.stdin or "", expected_stdout="\x00")


def _generated_call(problem: Problem, seed: int) -> str:
    return f"{problem.entry_point}(*_cm_generated({seed}))"


class WorkloadCache:
    """Expected outputs of a problem's fixed performance inputs, computed once per baseline
    (thread-safe; generated inputs are never cached: each measurement draws its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fixed: dict[tuple[str, str, str, bool], list[AssertTest | IOTest]] = {}

    def fixed(
        self, sandbox: Sandbox, problem: Problem, baseline: str, hidden: bool
    ) -> list[AssertTest | IOTest]:
        """Tests for ``problem``'s fixed hidden (or visible) performance inputs, each expecting
        ``baseline``'s output there; ``ProblemError`` when the baseline gives no usable output."""
        key = (problem.id, problem.model_dump_json(), baseline, hidden)
        with self._lock:
            found = self._fixed.get(key)
        if found is None:
            chosen = [t for t in problem.perf_tests if (t.visibility == "hidden") == hidden]
            found = _resolve(sandbox, problem, baseline, chosen, [_label(t) for t in chosen])
            with self._lock:
                self._fixed[key] = found
        return found


def _resolve(
    sandbox: Sandbox, problem: Problem, baseline: str, perf: list[PerfTest], labels: list[str]
) -> list[AssertTest | IOTest]:
    """Tests that check each of ``perf`` against what ``baseline`` gives (run here, once)."""
    if not perf:
        return []
    measured = problem.model_copy(update={"test_setup_code": _setup(problem, True)})
    report = sandbox.run(measured, baseline, [_probe(t) for t in perf])
    resolved: list[AssertTest | IOTest] = []
    for test, result, label in zip(perf, report.results, labels, strict=True):
        if test.expected_stdout is not None:
            resolved.append(IOTest(stdin=test.stdin or "", expected_stdout=test.expected_stdout))
            continue
        actual = result.actual
        if result.status != "failed" or actual is None or actual.endswith(_CLIPPED):
            raise ProblemError(problem.id, f"the baseline gives no usable output on {label}: {_why(result)}")
        if test.call is not None:
            resolved.append(
                AssertTest(code=f"assert _cm_digest({test.call}) == {ast.literal_eval(actual)!r}")
            )
        else:
            resolved.append(IOTest(stdin=test.stdin or "", expected_stdout=actual))
    return resolved


def _why(result: TestResult) -> str:
    """The reason a probe gave no output, with the exception when there was one."""
    parts: list[str] = [result.status]
    if result.exc_type:
        parts.append(f"{result.exc_type}: {result.exc_message or ''}".strip())
    elif result.exc_message:
        parts.append(result.exc_message)
    if result.detail:
        parts.append(result.detail)
    return "; ".join(parts)


def _generated(sandbox: Sandbox, problem: Problem, baseline: str, seed: int) -> AssertTest:
    call = _generated_call(problem, seed)
    probe = PerfTest(call=call, visibility="hidden")
    measured = problem.model_copy(update={"test_setup_code": _setup(problem, True)})
    (result,) = sandbox.run(measured, baseline, [_probe(probe)]).results
    actual = result.actual
    if result.status != "failed" or actual is None or actual.endswith(_CLIPPED):
        what = f"the input generator or the baseline failed on seed {seed}: {_why(result)}"
        raise ProblemError(problem.id, what)
    return AssertTest(code=f"assert _cm_digest({call}) == {ast.literal_eval(actual)!r}")


_CACHE = WorkloadCache()


def prepare_workload(
    sandbox: Sandbox,
    problem: Problem,
    baseline: str,
    *,
    hidden: bool = False,
    seed: int | None = None,
    cache: WorkloadCache | None = None,
) -> Workload:
    """The measured tests of ``problem`` (see the module docstring), their expected outputs
    from ``baseline``; ``seed`` (default: a fresh one) draws the generated input.
    ``ProblemError`` if the baseline or the generator fails on them."""
    other = mismatch(baseline, problem.language)
    if other is not None:
        raise ProblemError(problem.id, f"the baseline must be in the problem's language: {other}")
    store = cache or _CACHE
    fixed = store.fixed(sandbox, problem, baseline, hidden)
    has_generator = problem.perf_generator is not None and problem.entry_point is not None
    others = any((t.visibility == "hidden") != hidden for t in problem.perf_tests)
    if not fixed and not has_generator and others:
        # the loop with only hidden inputs: measured on them, described by their size only;
        # the score with only visible ones: measured on those (and the measurement says so)
        return prepare_workload(sandbox, problem, baseline, hidden=not hidden, seed=seed, cache=store)
    chosen = [t for t in problem.perf_tests if (t.visibility == "hidden") == hidden]
    labels = [_label(t) for t in chosen]
    tests = list(fixed)
    drawn: int | None = None
    if has_generator:
        drawn = fresh_seed() if seed is None else seed
        tests.append(_generated(sandbox, problem, baseline, drawn))
        labels.append(GENERATED_LABEL)
    measured = problem.model_copy(update={"test_setup_code": _setup(problem, drawn is not None)})
    if tests:
        return Workload(problem=measured, tests=tests, inputs=labels, hidden=hidden, seed=drawn)
    visible = problem.visible_tests()
    if not visible:
        raise ProblemError(problem.id, "no performance inputs and no visible tests to time")
    labels = [
        short(t.code) if isinstance(t, AssertTest) else f"stdin {short(t.stdin, 60)!r}" for t in visible
    ]
    return Workload(problem=problem, tests=visible, inputs=labels, hidden=False)
