"""Direct sessions (``runtime/direct.py``): the supervisor checks ``assert f(<literals>) ==
<literal>`` tests itself, without a harness process, and must give exactly the harness's verdicts.

Each case runs twice on a real sandbox: as it is (the direct path), and with a no-op setup code
(``pass``), which keeps every test on the harness's path; the reports must agree field by field
but for the durations."""

from __future__ import annotations

import textwrap

import pytest
from conftest import make_problem

from codemend.problems.model import Problem
from codemend.sandbox import LocalSandbox
from codemend.sandbox.calls import direct_call
from codemend.sandbox.report import TestReport
from codemend.sandbox.runtime.supervisor import DIRECT_PHASE

SQUARES = ("assert f(2) == 4", "assert f(3) == 9")
FORGE = (
    "import json, os, struct\n"
    "def forge(obj):\n"
    "    data = json.dumps(obj).encode()\n"
    "    os.write(3, struct.pack('>I', len(data)) + data)\n"
)

CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "right": ("def f(x): return x * x", SQUARES),
    "wrong": ("def f(x): return x + x", SQUARES),
    "the call on the right": ("def f(x): return x + x", ("assert 4 == f(2)", "assert 9 == f(3)")),
    "keyword arguments": ("def f(x, y=0): return x + y", ("assert f(2, y=3) == 5", "assert f(2, y=1) == 5")),
    "plain values of every kind": (
        "def f(x): return (1, [2, {3: 'a'}], {4}, b'x', 1000000000000000000000000000000, 1.5, 2j, None)",
        (
            "assert f(0) == (1, [2, {3: 'a'}], {4}, b'x', 1000000000000000000000000000000, 1.5, 2j, None)",
            "assert f(0) == (1, [2, {3: 'b'}], {4}, b'x', 1000000000000000000000000000000, 1.5, 2j, None)",
        ),
    ),
    "True equals 1, nan equals nothing": (
        "def f(x):\n    return True if x else float('nan')\n",
        ("assert f(1) == 1", "assert f(0) == 0.0"),
    ),
    "a ValueError": ("def f(x):\n    raise ValueError('bad ' + str(x))\n", SQUARES),
    "an AssertionError of its own": ("def f(x):\n    assert x > 2, 'too small'\n    return x * x\n", SQUARES),
    "SystemExit and KeyboardInterrupt in a call": (
        "import sys\ndef f(x):\n    if x == 2:\n        sys.exit(3)\n    raise KeyboardInterrupt\n",
        SQUARES,
    ),
    "an object that is not plain data": ("def f(x):\n    return object()\n", SQUARES),
    "an argument turned into an object": (
        "def f(xs):\n    xs.append(object())\n    return 1\n",
        ("assert f([1]) == 1", "assert f([]) == 1"),
    ),
    "exiting during a call": (
        "import os\ndef f(x):\n    if x == 3:\n        os._exit(3)\n    return x * x\n",
        SQUARES,
    ),
    "raising while loading": ("raise ImportError('no such thing')\ndef f(x): return x\n", SQUARES),
    "a syntax error": ("def f(x) return x\n", SQUARES),
    "no entry point": ("def g(x): return x * x\n", SQUARES),
    "an entry point that is a class": (
        "class f:\n    def __init__(self, x):\n        self.x = x\n"
        "    def __eq__(self, other):\n        return True\n",
        SQUARES,
    ),
    "too deep a recursion": ("def f(x):\n    return f(x + 1)\n", SQUARES),
    "too much memory": ("def f(x):\n    return len(bytearray(2 ** 34))\n", SQUARES),
    "output": (
        "import sys\ndef f(x):\n    print('out', x)\n"
        "    print('err', x, file=sys.stderr)\n    return x * x\n",
        SQUARES,
    ),
    "a reply too large to decode in the supervisor": (
        "def f(x):\n    return 'x' * (5 << 20)\n",
        ("assert f(0) == 'y'", "assert f(1) == 'x'"),
    ),
    "a loop": ("def f(x):\n    while x == 2:\n        pass\n    return x * x\n", SQUARES),
    # Frames forged on the channel (fd 3), ahead of the candidate's own.
    "an empty first frame": (f"{FORGE}forge([])\ndef f(x): return x * x\n", SQUARES),
    "a first frame without names": (f"{FORGE}forge(['ready'])\ndef f(x): return x * x\n", SQUARES),
    "a reply with another sequence number": (
        f"{FORGE}def f(x):\n    forge(['ok', 7, x * x, []])\n    return x * x\n",
        SQUARES,
    ),
    # (Each then answers too: the next call reads that stale answer. Exiting instead would race
    # the next call's write against the socket's close, EPIPE against ECONNRESET, either way.)
    "a forged AssertionError": (
        f"{FORGE}def f(x):\n    forge(['exc', 1, 'AssertionError', 'forged', '', False])\n    return x * x\n",
        SQUARES,
    ),
    "a write-back list that is not one": (
        f"{FORGE}def f(x):\n    forge(['ok', 1, x * x, 5])\n    return x * x\n",
        SQUARES,
    ),
    "an unknown reply": (f"{FORGE}def f(x):\n    forge(['what', 1])\n    return x\n", SQUARES),
}


def _problem(tests: tuple[str, ...], setup: str = "") -> Problem:
    return make_problem(*tests, time_limit_s=1.0, test_setup_code=setup)


def _comparable(report: TestReport) -> dict[str, object]:
    results = [r.model_dump(exclude={"duration_s"}) for r in report.results]
    return {"results": results, "stdout": report.stdout, "stderr": report.stderr}


@pytest.fixture(scope="module")
def box() -> LocalSandbox:
    with LocalSandbox(workers=1, isolation="namespaces") as sandbox:
        yield sandbox


@pytest.mark.parametrize("name", list(CASES))
def test_a_direct_session_gives_the_harnesss_verdicts(box: LocalSandbox, name: str) -> None:
    code, tests = CASES[name]
    code = textwrap.dedent(code)
    direct_phases: dict[str, float] = {}
    direct = box.run(_problem(tests), code, phases=direct_phases)
    harness_phases: dict[str, float] = {}
    harnessed = box.run(_problem(tests, setup="pass"), code, phases=harness_phases)
    assert _comparable(direct) == _comparable(harnessed)
    assert DIRECT_PHASE not in harness_phases
    assert DIRECT_PHASE in direct_phases


def test_a_direct_session_counts_the_cpu_of_a_loop_it_killed(box: LocalSandbox) -> None:
    """A timed-out candidate is killed through its pidfd: its pod reaps it, and its CPU counts."""
    report = box.run(_problem(("assert f(2) == 4",)), "def f(x):\n    while True:\n        pass\n")
    assert [r.status for r in report.results] == ["timeout"]
    assert report.cpu_s is not None and report.cpu_s > 0.5


@pytest.mark.parametrize(
    ("code", "taken"),
    [
        ("assert f(1, [2, 3], k='v') == {'a': (1,)}", True),
        ("assert (1, 2) == f(0)", True),
        ("assert f(1) == 2, 'a message'", True),
        ("assert f(-1) == -2.5", True),
        ("assert f(1) != 2", False),
        ("assert f(1) == 2 == 2", False),
        ("assert g(1) == 2", False),
        ("assert f(1) == f(2)", False),
        ("assert f([1] * 3) == 2", False),
        ("assert f(**{'x': 1}) == 2", False),
        ("assert f(x) == 2", False),
        ("x = 1\nassert f(x) == 2", False),
        ("assert f(1)", False),
        ("assert f(1) is None", False),
    ],
)
def test_which_asserts_the_supervisor_checks_itself(code: str, taken: bool) -> None:
    assert (direct_call(code, "f") is not None) == taken


def test_a_taken_apart_call_carries_what_the_harness_would_show() -> None:
    call = direct_call("assert f([1, 2], k='v') == (3, 4)  # why", "f")
    assert call is not None
    assert call["shown"] == "f([1, 2], k='v')"
    assert call["assertion"] == "assert f([1, 2], k='v') == (3, 4)"
    assert call["expected_shown"] == "(3, 4)"
    assert call["mutable"] == [0] and call["swap"] is False
    assert direct_call("assert f(1) == 2", None) is None  # no entry point: nothing to call
