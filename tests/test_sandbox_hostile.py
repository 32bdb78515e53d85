"""Hostile candidates: every attempt ends as a correct, not-passed verdict, with the host unharmed.

Each test asserts the exact verdict and, where the attack aims at the host, the absence of harm.
The problems' tests expect values the hostile code does not compute, so any "passed" is a forgery.
"""

from __future__ import annotations

import ast
import contextlib
import os
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import make_problem, skip_unless_counting

from codemend.problems import Problem
from codemend.sandbox import DockerSandbox, LocalSandbox, TestReport
from codemend.sandbox.pool import PooledSandbox

TESTS = ("assert f(2) == 4", "assert f(3) == 9")


@pytest.fixture(params=["local", "docker"], scope="module")
def sandbox(request: pytest.FixtureRequest) -> PooledSandbox:
    """Every attack runs against both backends, with the same expected verdicts."""
    return request.getfixturevalue(f"{request.param}_sandbox")  # type: ignore[no-any-return]


def fresh_like(sandbox: PooledSandbox) -> PooledSandbox:
    """A new pool of the same backend, started after the test's own set-up."""
    if isinstance(sandbox, DockerSandbox):
        return DockerSandbox(base_url=sandbox.base_url, image=sandbox.image, workers=1)
    return LocalSandbox(workers=1, isolation="namespaces")


def run(sandbox: PooledSandbox, code: str, *tests: str, limit: float = 2.0) -> TestReport:
    problem = make_problem(*(tests or TESTS), time_limit_s=limit)
    return sandbox.run(problem, textwrap.dedent(code))


def statuses(report: TestReport) -> list[str]:
    return [r.status for r in report.results]


def sandbox_uid_processes(sandbox: PooledSandbox) -> list[int]:
    """Host PIDs owned by this sandbox's harness/candidate uids (zombies excluded), but for the
    workers' spare candidates (``runtime/spares.py``), started for the next run: each the init of
    PID namespaces of its own, a child of the zygote (a fork of the supervisor), and at most one
    child of that init, which has started none. A process the run left would be neither."""
    owned = {uid for slot in range(sandbox.size) for uid in sandbox.uids(slot)}
    found = []
    for entry in os.listdir("/proc"):
        fields = _status(entry) if entry.isdigit() else None
        if fields is None:
            continue
        uid = int(fields["Uid"].split()[0])
        if uid in owned and not fields["State"].strip().startswith("Z"):
            found.append(int(entry))
    return [pid for pid in found if pid not in _spares(found)]


def _status(pid: int | str) -> dict[str, str] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return dict(line.split(":", 1) for line in status.splitlines() if ":" in line)


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        return [int(c) for t in tasks for c in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
    except OSError:
        return []


def _spares(pids: list[int]) -> set[int]:
    spares: set[int] = set()
    for pid in pids:
        fields = _status(pid)
        try:
            parent = Path(f"/proc/{fields['PPid'].strip()}/cmdline").read_bytes() if fields else b""
        except OSError:
            continue
        if fields is None or b"supervisor.py" not in parent:
            continue
        children = _children(pid)
        is_init = fields.get("NSpid", "").split()[-1:] == ["1"]
        if is_init and len(children) <= 1 and not any(_children(c) for c in children):
            spares |= {pid, *children}
    return spares


# -- leaving early ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raise_", "exc_type"),
    [
        ("import sys\nsys.exit(0)", "SystemExit"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("class Escape(BaseException): pass\nraise Escape()", "Escape"),
    ],
)
def test_base_exceptions_at_import_are_errors(sandbox: PooledSandbox, raise_: str, exc_type: str) -> None:
    report = run(sandbox, f"{raise_}\ndef f(x): return x * x")
    assert statuses(report) == ["error", "error"]
    assert report.results[0].exc_type == exc_type
    assert report.results[0].detail == "the solution raised while loading"


def test_os_exit_at_import_is_a_crash(sandbox: PooledSandbox) -> None:
    report = run(sandbox, "import os\nos._exit(0)")
    assert statuses(report) == ["crashed", "crashed"]
    assert report.results[0].detail == "the candidate process exited with status 0"


@pytest.mark.parametrize(
    ("raise_", "exc_type"),
    [
        ("raise SystemExit(0)", "SystemExit"),
        ("import sys; sys.exit(0)", "SystemExit"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("raise GeneratorExit", "GeneratorExit"),
        ("class Escape(BaseException): pass\n    raise Escape()", "Escape"),
    ],
)
def test_base_exceptions_at_call_time_are_errors(sandbox: PooledSandbox, raise_: str, exc_type: str) -> None:
    report = run(sandbox, f"def f(x):\n    {raise_}\n")
    assert statuses(report) == ["error", "error"]
    assert report.results[0].exc_type == exc_type


def test_base_exception_cannot_be_swallowed_by_the_test_code(sandbox: PooledSandbox) -> None:
    report = run(
        sandbox,
        "def f(x):\n    raise SystemExit(0)\n",
        "try:\n    f(2)\nexcept BaseException:\n    pass",
    )
    assert statuses(report) == ["error"]


def test_os_exit_during_a_call_is_a_crash_and_later_tests_still_run(sandbox: PooledSandbox) -> None:
    code = """
    import os
    def f(x):
        if x == 2:
            os._exit(0)
        return x * x
    """
    report = run(sandbox, code)
    assert statuses(report) == ["crashed", "passed"]
    assert report.results[0].detail == "the candidate process exited with status 0"
    assert report.results[0].call == "f(2)"


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.fork()\ndef f(x):\n    return x * x\n",
        "import os\ndef f(x):\n    os.fork()\n    return x * x\n",
    ],
    ids=["at import", "in the call"],
)
def test_a_candidate_that_forks_gets_the_same_verdicts_every_run(sandbox: PooledSandbox, code: str) -> None:
    """Issue 26: the forked copy answered on the channel too, and which test "crashed" (a
    malformed reply) changed from run to run; now only the candidate itself answers."""
    verdicts = [statuses(run(sandbox, code)) for _ in range(5)]
    assert verdicts == [["passed", "passed"]] * 5


def test_thread_that_exits_the_process_is_a_crash(sandbox: PooledSandbox) -> None:
    code = """
    import os, threading, time
    def f(x):
        threading.Thread(target=lambda: os._exit(0)).start()
        time.sleep(1)
        return x * x
    """
    assert statuses(run(sandbox, code)) == ["crashed", "crashed"]


# -- objects that lie ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "class Liar:\n    def __eq__(self, o): return True\n    __hash__ = None\ndef f(x): return Liar()",
        "import unittest.mock\ndef f(x): return unittest.mock.ANY",
        "class Liar:\n    def __eq__(self, o): return True\ndef f(x): return [Liar()]",
    ],
    ids=["always-equal", "mock-any", "nested"],
)
def test_objects_that_compare_equal_to_everything_fail(sandbox: PooledSandbox, code: str) -> None:
    report = run(sandbox, code)
    assert statuses(report) == ["failed", "failed"]
    assert report.results[0].actual is not None and "only plain data" in report.results[0].actual


@pytest.mark.parametrize(
    ("code", "actual"),
    [
        ("class I(int):\n    def __eq__(self, o): return True\n    def __int__(self): return 4\n", "0"),
        ("class I(str):\n    def __eq__(self, o): return True\n    def __str__(self): return '4'\n", "''"),
        (
            "class I(list):\n    def __eq__(self, o): return True\n"
            "    def __iter__(self): return iter([4])\n",
            "[]",
        ),
    ],
    ids=["int-subclass", "str-subclass", "list-subclass"],
)
def test_subclasses_that_lie_are_judged_by_their_real_contents(
    sandbox: PooledSandbox, code: str, actual: str
) -> None:
    report = run(sandbox, code + "def f(x):\n    return I()\n")
    assert statuses(report) == ["failed", "failed"]
    assert report.results[0].actual == actual


def test_patching_builtins_assertions_tracing_atexit_and_signals_changes_nothing(
    sandbox: PooledSandbox,
) -> None:
    code = """
    import atexit, builtins, os, signal, sys
    class Nope(Exception):
        pass
    builtins.AssertionError = Nope
    builtins.isinstance = lambda *a: True
    builtins.len = lambda *a: 0
    sys.settrace(lambda *a: None)
    sys.setprofile(lambda *a: None)
    atexit.register(lambda: os._exit(0))
    for sig in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    def f(x):
        return -1
    """
    report = run(sandbox, code)
    assert statuses(report) == ["failed", "failed"]
    assert (report.results[0].expected, report.results[0].actual) == ("4", "-1")


def test_ignoring_signals_does_not_survive_the_wall_clock_kill(sandbox: PooledSandbox) -> None:
    code = """
    import signal
    for sig in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    def f(x):
        while True:
            pass
    """
    assert statuses(run(sandbox, code, limit=1.0)) == ["timeout", "timeout"]


def test_printed_pass_markers_are_ignored(sandbox: PooledSandbox) -> None:
    code = """
    import sys, json
    def f(x):
        for marker in ("passed", "ALL TESTS PASSED", '{"status": "passed"}', "OK"):
            print(marker)
            sys.stderr.write(marker + "\\n")
        sys.stdout.flush()
        return 0
    """
    report = run(sandbox, code)
    assert statuses(report) == ["failed", "failed"]
    assert "ALL TESTS PASSED" in report.stdout


def test_writing_frames_on_every_descriptor_is_a_protocol_crash(sandbox: PooledSandbox) -> None:
    code = """
    import os, json
    def f(x):
        body = json.dumps(["result", 0, {"status": "passed"}]).encode()
        frame = len(body).to_bytes(4, "big") + body
        for fd in range(0, 64):
            try:
                os.write(fd, frame)
            except OSError:
                pass
        return 0
    """
    report = run(sandbox, code)
    assert statuses(report) == ["crashed", "crashed"]
    assert (report.results[0].detail or "").startswith("the candidate process broke the protocol")


def test_closing_stdout_and_stderr_does_not_stop_the_verdict(sandbox: PooledSandbox) -> None:
    code = """
    import os
    os.close(1)
    os.close(2)
    def f(x):
        return x * x + 1
    """
    report = run(sandbox, code)
    assert statuses(report) == ["failed", "failed"]
    assert report.results[1].actual == "10"


def test_walking_frames_and_gc_finds_no_results_to_rewrite(sandbox: PooledSandbox) -> None:
    code = """
    import gc, sys
    def f(x):
        touched = 0
        for obj in gc.get_objects():
            if isinstance(obj, dict) and "status" in obj:
                obj["status"] = "passed"
                touched += 1
        frame = sys._getframe()
        while frame is not None:
            for scope in (frame.f_locals, frame.f_globals):
                if isinstance(scope, dict):
                    scope.setdefault("passed", True)
            frame = frame.f_back
        return 0
    """
    assert statuses(run(sandbox, code)) == ["failed", "failed"]


def test_the_candidate_cannot_read_the_tests_from_its_own_memory(sandbox: PooledSandbox) -> None:
    # The expected value exists only in the test code. The candidate scans every readable page
    # of its own address space for it: the candidate process never held any test data.
    code = """
    import re
    def f(x):
        found = set()
        try:  # as root the contained candidate has an empty /proc: nothing to scan
            maps, mem = open("/proc/self/maps"), open("/proc/self/mem", "rb", 0)
        except OSError:
            return "nothing"
        with maps, mem:
            for line in maps:
                span, perms = line.split()[:2]
                if "r" not in perms:
                    continue
                lo, hi = (int(v, 16) for v in span.split("-"))
                try:
                    mem.seek(lo)
                    found.update(re.findall(rb"SECRET-[0-9]{6}", mem.read(hi - lo)))
                except (OSError, ValueError, OverflowError):
                    pass
        return sorted(v.decode() for v in found)[0] if found else "nothing"
    """
    report = run(sandbox, code, "assert f(1) == 'SECRET-' + '271828'", "assert f(2) == 'SECRET-314159'")
    assert statuses(report) == ["failed", "failed"]
    assert report.results[1].actual == "'nothing'"


# -- resource attacks ---------------------------------------------------------------------


def test_fork_bomb_ends_as_a_timeout_and_leaves_no_process(sandbox: PooledSandbox) -> None:
    code = """
    import os
    def f(x):
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """
    report = run(sandbox, code, limit=1.0)
    assert statuses(report) == ["timeout", "timeout"]
    assert sandbox_uid_processes(sandbox) == []


def test_memory_bomb_is_a_memory_verdict_and_the_next_test_runs(sandbox: PooledSandbox) -> None:
    code = """
    def f(x):
        if x == 2:
            hog = bytearray(64 * 1024**3)
            return len(hog)
        return x * x
    """
    assert statuses(run(sandbox, code)) == ["memory", "passed"]


def test_growing_memory_until_refused_is_a_memory_verdict(sandbox: PooledSandbox) -> None:
    code = """
    def f(x):
        hog = []
        while True:
            hog.append(bytearray(16 * 1024**2))
    """
    assert statuses(run(sandbox, code, limit=5.0)) == ["memory", "memory"]


@pytest.mark.parametrize(
    "body",
    [
        "while True:\n        pass",
        "import time\n    time.sleep(3600)",
        "return sum(range(10**15))",
        "import re\n    return re.match(r'(a+)+$', 'a' * 64 + 'b')",
    ],
    ids=["loop", "sleep", "c-loop", "regex-backtracking"],
)
def test_loops_and_sleeps_are_timeouts(sandbox: PooledSandbox, body: str) -> None:
    report = run(sandbox, f"def f(x):\n    {body}\n", limit=1.0)
    assert statuses(report) == ["timeout", "timeout"]
    assert report.results[0].detail == "no verdict within 1 s of wall-clock time for this test"


def test_a_hang_at_import_is_a_timeout(sandbox: PooledSandbox) -> None:
    report = run(sandbox, "import time\ntime.sleep(3600)\ndef f(x): return x * x", limit=1.0)
    assert statuses(report) == ["timeout", "timeout"]


def test_output_flood_is_capped_and_the_verdict_stands(sandbox: PooledSandbox) -> None:
    code = """
    import sys
    def f(x):
        chunk = "y" * 65536
        for _ in range(2000):
            sys.stdout.write(chunk)
            sys.stderr.write(chunk)
        return x * x
    """
    report = run(sandbox, code, limit=10.0)
    assert statuses(report) == ["passed", "passed"]
    assert report.stdout_truncated and report.stderr_truncated
    assert len(report.stdout) == sandbox.limits.output_bytes


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def f(x):\n    return f(x)", "error"),
        ("import sys\nsys.setrecursionlimit(10**7)\ndef f(x):\n    return list(map(f, [x]))", "crashed"),
    ],
    ids=["recursion-error", "stack-overflow"],
)
def test_deep_recursion(sandbox: PooledSandbox, code: str, expected: str) -> None:
    report = run(sandbox, code, limit=5.0)
    assert statuses(report) == [expected, expected]


# -- the host -----------------------------------------------------------------------------


def test_killing_the_parent_and_everything_else_harms_nothing(sandbox: PooledSandbox) -> None:
    code = """
    import os, signal
    def f(x):
        for pid in (os.getppid(), 1, -1):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.killpg(0, signal.SIGKILL)
        except OSError:
            pass
        return 0
    """
    report = run(sandbox, code)
    assert statuses(report) in (["failed", "failed"], ["crashed", "crashed"])
    healthy = run(sandbox, "def f(x): return x * x")
    assert statuses(healthy) == ["passed", "passed"]


def test_files_outside_the_working_dir_are_untouched(sandbox: PooledSandbox, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    tmp_path.chmod(0o777)
    victim.chmod(0o666)
    host_tmp_before = set(os.listdir("/tmp"))
    stdlib = os.path.dirname(os.__file__)
    code = f"""
    import os
    def f(x):
        here = os.getcwd()
        wrote = []
        targets = [{str(victim)!r}, "/etc/passwd", os.path.expanduser("~/.bashrc")]
        for top in ("/", "/tmp", "/etc", "/codemend", "/root", "/home", "/work", "/var", {stdlib!r}):
            for root, dirs, files in os.walk(top):
                if root.startswith((here, "/proc", "/sys", "/dev")) or root.count("/") > 4:
                    dirs[:] = []
                    continue
                targets += [os.path.join(root, name) for name in files]
                targets.append(os.path.join(root, "codemend-escape.txt"))
        for path in targets[:20000]:
            try:
                with open(path, "a") as fh:
                    fh.write("pwned")
                wrote.append(path)
            except OSError:
                pass
        with open("scratch.txt", "w") as fh:
            fh.write("fine")
        return [p for p in wrote if not p.startswith(here + "/")]
    """
    report = run(sandbox, code, "assert f(0) == ['x']", limit=20.0)
    assert statuses(report) == ["failed"]
    assert report.results[0].actual == "[]"
    assert victim.read_text() == "original"
    assert "codemend-escape.txt" not in set(os.listdir("/tmp")) - host_tmp_before
    assert "pwned" not in Path(os.__file__).read_text()


def test_no_connection_reaches_a_listener_on_the_host_loopback(sandbox: PooledSandbox) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(listener.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    code = f"""
    import socket
    def f(x):
        for host in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
            try:
                socket.create_connection((host, {port}), timeout=0.3).sendall(b"hi")
                return "connected"
            except OSError:
                pass
        return "isolated"
    """
    report = run(sandbox, code, "assert f(0) == 'connected'")
    thread.join()
    listener.close()
    assert statuses(report) == ["failed"]
    assert report.results[0].actual == "'isolated'"
    assert accepted == []


def test_host_secrets_are_not_visible(sandbox: PooledSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers already running were started with a scrubbed environment; start a fresh sandbox
    # after setting the secret to make sure it does not leak at start-up either.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-123")
    code = """
    import glob, os
    def f(x):
        seen = [repr(dict(os.environ))]
        for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
            try:
                with open(path, "rb") as fh:
                    seen.append(fh.read().decode("latin-1"))
            except OSError:
                pass
        text = "\\n".join(seen)
        return "leaked" if "sk-host-secret" in text else sorted(os.environ)
    """
    with fresh_like(sandbox) as fresh:
        report = run(fresh, code, "assert f(0) == 'leaked'")
    assert statuses(report) == ["failed"]
    assert report.results[0].actual == "['HOME', 'LANG', 'PATH']"


def test_a_spare_candidate_gets_its_jobs_limits(local_sandbox: LocalSandbox) -> None:
    """On one worker every run after the first is served by the spare started during the one
    before (``runtime/spares.py``): the job's memory, file size and process limits hold there,
    as in a candidate started for its job."""
    with LocalSandbox(workers=1, isolation="namespaces") as box:
        assert statuses(run(box, "def f(x): return x * x")) == ["passed", "passed"]
        bomb = "def f(x):\n    if x == 2:\n        b = bytearray(2 ** 34)\n    return x * x\n"
        assert statuses(run(box, bomb)) == ["memory", "passed"]
        write = """
        def f(x):
            with open("big", "wb") as out:
                for _ in range(1024):
                    out.write(b"x" * (1 << 20))
            return x * x
        """
        report = run(box, write, "assert f(2) == 4")
        assert statuses(report) == ["error"] and report.results[0].exc_message == "[Errno 27] File too large"
        forks = """
        import os
        def f(x):
            made = 0
            try:
                for _ in range(200):
                    if os.fork() == 0:
                        import time
                        time.sleep(5)
                        os._exit(0)
                    made += 1
            except OSError:
                pass
            return made
        """
        report = run(box, forks, "assert f(0) == 'x'", limit=5.0)
        assert statuses(report) == ["failed"]
        assert report.results[0].actual is not None and int(report.results[0].actual) < 64


def test_a_spare_killed_between_runs_is_replaced(local_sandbox: LocalSandbox) -> None:
    """A spare that died while it waited (killed here from outside, as a sweep would) costs the
    next run nothing: it gets a fresh candidate and its verdicts, and a spare again after it.
    (A kill still on its way when the run takes the spare is the race any candidate killed from
    outside right after its start runs; the supervisor's own sweeps end their processes first.)"""
    with LocalSandbox(workers=1, isolation="namespaces") as box:
        assert statuses(run(box, "def f(x): return x * x")) == ["passed", "passed"]
        root = os.geteuid() == 0  # unprivileged, candidates run as this user
        owned = {uid for slot in range(box.size) for uid in box.uids(slot)} if root else {os.getuid()}
        mine = [int(p) for p in os.listdir("/proc") if p.isdigit() and _owned_by(int(p), owned)]
        spares = _spares(mine)
        assert spares  # the next run's candidate, waiting for it
        for pid in spares:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        for _ in range(1000):  # until they have ended (a wait, not a time limit)
            if not any(_owned_by(pid, owned) for pid in spares):
                break
            time.sleep(0.01)
        assert statuses(run(box, "def f(x): return x * x")) == ["passed", "passed"]
        assert statuses(run(box, "def f(x): return x + x")) == ["passed", "failed"]
        assert sandbox_uid_processes(box) == []


def test_a_run_finds_nothing_an_earlier_run_left_in_its_directory(local_sandbox: LocalSandbox) -> None:
    """Candidates of one worker take turns in its pods (``runtime/pods.py``), whose directory
    outlives them: whatever a run left there (files it made unreadable, a directory it locked,
    a fifo, a link out) is gone before the next candidate in that pod starts."""
    mess = """
    import os
    def f(x):
        with open("kept", "w") as out:
            out.write("x")
        os.makedirs("locked/deeper")
        with open("locked/deeper/answer", "w") as out:
            out.write("42")
        os.chmod("locked/deeper/answer", 0)
        os.chmod("locked/deeper", 0)
        os.chmod("locked", 0o500)
        os.mkfifo("pipe")
        os.symlink("/", "root")
        os.chmod(".", 0)
        return x * x
    """
    look = "import os\ndef f(x):\n    return sorted(os.listdir('.')), os.getcwd()\n"
    where = set()
    with LocalSandbox(workers=1, isolation="namespaces") as box:
        for _ in range(3):  # through each of the worker's pods more than once
            assert statuses(run(box, mess, "assert f(2) == 4")) == ["passed"]
            for _ in range(3):
                report = run(box, look, "assert f(0) == 'x'")
                listed, cwd = ast.literal_eval(report.results[0].actual or "")
                assert listed == []
                where.add(cwd)
    assert len(where) <= 2  # emptied, the pods were kept: none had to be replaced


def test_a_tree_too_deep_to_remove_ends_its_pod_and_nothing_else(local_sandbox: LocalSandbox) -> None:
    """A directory 1,500 levels deep is more than the pod's init removes (``rmtree`` recurses):
    the pod ends, the worker starts another, and the next runs find an empty directory."""
    deep = """
    import os
    def f(x):
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        return x * x
    """
    look = "import os\ndef f(x):\n    return sorted(os.listdir('.'))\n"
    with LocalSandbox(workers=1, isolation="namespaces") as box:
        for _ in range(2):
            assert statuses(run(box, deep, "assert f(2) == 4", limit=10.0)) == ["passed"]
            for _ in range(2):
                assert statuses(run(box, look, "assert f(0) == []")) == ["passed"]


def test_a_candidates_memory_limit_counts_from_what_it_already_maps(local_sandbox: LocalSandbox) -> None:
    """The address-space limit is the problem's budget above the candidate's start-up size (the
    pod's init measures it at the fork, where the candidate may have no /proc to read it from),
    for a candidate started for its run and for a spare alike."""
    code = "import resource\ndef f(x):\n    return resource.getrlimit(resource.RLIMIT_AS)[0] - (256 << 20)\n"
    problem = make_problem("assert f(0) == 0", time_limit_s=2.0, memory_limit_mb=256)
    with LocalSandbox(workers=1, isolation="namespaces") as box:
        for _ in range(3):  # the first run's candidate is started for it, the others are spares
            report = box.run(problem, code)
            assert statuses(report) == ["failed"]
            start_up = int(report.results[0].actual or "0")
            assert 10 << 20 < start_up < 1 << 30, start_up  # a Python process maps more than 10 MB


def _owned_by(pid: int, uids: set[int]) -> bool:
    fields = _status(pid)
    return fields is not None and int(fields["Uid"].split()[0]) in uids and "Z" not in fields["State"]


def test_a_daemonised_grandchild_does_not_outlive_the_run(sandbox: PooledSandbox) -> None:
    code = """
    import os, time
    def f(x):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(3600)
            os._exit(0)
        return x * x
    """
    assert statuses(run(sandbox, code)) == ["passed", "passed"]
    assert sandbox_uid_processes(sandbox) == []


# -- trusted processes, from inside the candidate ----------------------------------------


def test_the_candidate_sees_no_process_but_its_own_tree(sandbox: PooledSandbox) -> None:
    code = """
    import os
    def f(x):
        mine = {os.getpid(), os.getppid()}
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
        return others
    """
    report = run(sandbox, code, "assert f(0) == 'x'")
    assert statuses(report) == ["failed"]
    if isinstance(sandbox, LocalSandbox):  # Docker's seccomp refuses nested namespaces
        assert report.results[0].actual == "[]"


def test_stopping_every_visible_process_harms_nothing(sandbox: PooledSandbox) -> None:
    code = """
    import os, signal
    def f(x):
        for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()] + [os.getppid(), 1, -1]:
            if pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGSTOP)
                except OSError:
                    pass
        return 0
    """
    assert statuses(run(sandbox, code)) == ["failed", "failed"]
    assert statuses(run(sandbox, "def f(x): return x * x")) == ["passed", "passed"]


def test_scanning_other_processes_finds_no_test(sandbox: PooledSandbox) -> None:
    # The expected values exist only in the test code, held by trusted processes.
    code = """
    import os, re
    def f(x):
        found = set()
        for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
            for name in ("environ", "cmdline"):
                try:
                    with open(f"/proc/{pid}/{name}", "rb") as fh:
                        found.update(re.findall(rb"SECRET-[0-9]{6}", fh.read()))
                except OSError:
                    pass
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with open(f"/proc/{pid}/fd/{fd}", "rb") as fh:
                        found.update(re.findall(rb"SECRET-[0-9]{6}", fh.read(1 << 20)))
            except OSError:
                pass
            try:
                with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
                    for line in maps:
                        lo, hi = (int(v, 16) for v in line.split()[0].split("-"))
                        try:
                            mem.seek(lo)
                            found.update(re.findall(rb"SECRET-[0-9]{6}", mem.read(hi - lo)))
                        except (OSError, ValueError, OverflowError):
                            pass
            except OSError:
                pass
        return sorted(v.decode() for v in found)[0] if found else "nothing"
    """
    tests = ("assert f(1) == 'SECRET-' + '271828'", "assert f(2) == 'SECRET-314159'")
    report = run(sandbox, code, *tests, limit=10.0)
    assert statuses(report) == ["failed", "failed"]
    assert report.results[1].actual == "'nothing'"


def test_ptrace_attach_on_every_pid_fails(sandbox: PooledSandbox) -> None:
    code = """
    import ctypes, os
    def f(x):
        libc = ctypes.CDLL(None, use_errno=True)
        attached = []
        seen = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        for pid in [*seen, os.getppid(), 1, *range(2, 64)]:
            if pid != os.getpid() and libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
                attached.append(pid)
        return attached
    """
    report = run(sandbox, code, "assert f(0) == 'x'")
    assert statuses(report) == ["failed"]
    assert report.results[0].actual == "[]"
    assert statuses(run(sandbox, "def f(x): return x * x")) == ["passed", "passed"]


# -- counted runs (cost="instructions"): the count cannot be made smaller than the work ----------


@pytest.fixture
def counting(local_sandbox: LocalSandbox) -> LocalSandbox:
    skip_unless_counting(local_sandbox)
    return local_sandbox


def counted(sandbox: PooledSandbox, code: str, *tests: str, limit: float = 2.0) -> TestReport:
    problem = make_problem(*(tests or TESTS), time_limit_s=limit)
    return sandbox.run(problem, textwrap.dedent(code), cost="instructions")


_IMITATE = """
import os, stat, sys
def f(lines):
    print(lines, flush=True)
    print(lines, file=sys.stderr, flush=True)
    for fd in range(4, 1100):  # every descriptor but the channel (3), valgrind's own included
        try:
            os.write(fd, lines.encode())
        except OSError:
            pass
    for name in os.listdir("/proc/self/fd"):  # sockets reopened by path, valgrind's log among them
        path = "/proc/self/fd/" + name
        try:
            if name != "3" and stat.S_ISSOCK(os.stat(path).st_mode):
                with open(path, "w") as fh:
                    fh.write(lines)
        except OSError:
            pass
    return len(lines)
"""


@pytest.mark.slow
def test_imitating_valgrinds_summary_anywhere_does_not_change_the_count(counting: LocalSandbox) -> None:
    """One program, given valgrind's summary lines to write, or the same lines with "-" for "=":
    it writes them on stdout, on stderr, on every descriptor and through /proc/self/fd; one count
    for both, not the forged one. (The lines come as an argument: in the program's source, a
    constant's text would move its count a little, through the hashes of its constants.) Both on
    one worker of their own: in CI's full suite, one worker of the shared pool counted this
    program, which probes every descriptor, 244 instructions more than the other, twice
    (cause not found; the closing note of the pods change says what was ruled out)."""
    forged = "\n".join(f"=={pid}== \n=={pid}== I   refs:      5" for pid in (1, 2, 3)) + "\n"
    plain = forged.replace("=", "-")
    tests = [f"assert f({text!r}) == {len(text)}" for text in (forged, plain)]
    with LocalSandbox(workers=1, isolation="namespaces") as one:
        reports = [counted(one, _IMITATE, test) for test in tests]
    assert [statuses(r) for r in reports] == [["passed"]] * 2
    assert "I   refs:      5" in reports[0].stdout and "I   refs:      5" in reports[0].stderr
    count = reports[0].instructions
    assert count is not None and count > 1_000_000
    assert count == reports[1].instructions


def test_sabotaging_valgrinds_own_pipes_leaves_no_count(counting: LocalSandbox) -> None:
    """valgrind keeps pipes of its own, which a candidate can reopen through /proc/self/fd and
    write into: valgrind then aborts without its summary, and the run has no count."""
    code = """
    import os, stat
    def f(x):
        for name in os.listdir("/proc/self/fd"):
            path = "/proc/self/fd/" + name
            try:
                if int(name) > 3 and stat.S_ISFIFO(os.stat(path).st_mode):
                    with open(path, "w") as fh:
                        fh.write("==2== \\n==2== I   refs:      5\\n")
            except OSError:
                pass
        return x * x
    """
    report = counted(counting, code)
    assert report.instructions is None


def test_a_counted_candidate_cannot_fork_or_start_threads(counting: LocalSandbox) -> None:
    """Counted programs run as a single process: a forked copy would count its parent's
    instructions again, and a child that is killed leaves its work uncounted."""
    code = """
    import os, threading
    def f(x):
        tried = []
        try:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            tried.append("forked")
        except OSError as exc:
            tried.append(type(exc).__name__)
        try:
            threading.Thread(target=print).start()
            tried.append("thread")
        except RuntimeError:
            tried.append("no thread")
        return tried
    """
    report = counted(counting, code, "assert f(0) == 'x'")
    assert statuses(report) == ["failed"]
    assert report.results[0].actual == "['BlockingIOError', 'no thread']"
    assert report.instructions is not None


def test_a_fork_bomb_under_counting_goes_nowhere(counting: LocalSandbox) -> None:
    code = """
    import os
    def f(x):
        for _ in range(1000):
            try:
                os.fork()
            except OSError:
                pass
        return x * x
    """
    report = counted(counting, code)
    assert statuses(report) == ["passed", "passed"]
    assert report.instructions is not None
    assert sandbox_uid_processes(counting) == []


def test_a_candidate_that_kills_itself_after_answering_leaves_no_count(counting: LocalSandbox) -> None:
    """Its answers stand, but a process killed by a signal leaves no summary: no count at all."""
    code = """
    import os, signal
    def f(x):
        os._exit = lambda status: os.kill(os.getpid(), signal.SIGKILL)  # instead of exiting
        return x * x
    """
    report = counted(counting, code)
    assert statuses(report) == ["passed", "passed"]
    assert report.instructions is None


def test_a_program_that_execs_an_uncounted_one_leaves_no_count(counting: LocalSandbox) -> None:
    """valgrind does not follow exec: the work of the new program would go uncounted, so the run
    has no count (its answer stands)."""
    problem = Problem.model_validate(
        {"id": "io", "prompt": "", "tests": [{"stdin": "3\n", "expected_stdout": "6\n"}]}
    )
    code = "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', 'print(2 * int(input()))'])\n"
    report = counting.run(problem, code, cost="instructions")
    assert statuses(report) == ["passed"]
    assert report.instructions is None


@pytest.mark.slow
def test_a_counted_infinite_loop_is_a_timeout_without_a_count(counting: LocalSandbox) -> None:
    report = counted(counting, "def f(x):\n    while True:\n        pass\n", "assert f(2) == 4", limit=0.1)
    assert statuses(report) == ["timeout"]
    assert report.instructions is None


def test_a_counted_candidate_still_has_its_memory_limit(counting: LocalSandbox) -> None:
    """valgrind's allowance on top of the problem's budget does not make room for 8 GB."""
    code = """
    def f(x):
        if x == 2:
            hog = bytearray(8 * 1024**3)
            return len(hog)
        return x * x
    """
    report = counted(counting, code)
    assert statuses(report) == ["memory", "passed"]
    assert report.instructions is not None  # the MemoryError was caught: the process went on


@pytest.mark.slow
def test_counted_runs_keep_the_sandboxs_other_guarantees(counting: LocalSandbox, tmp_path: Path) -> None:
    """No network, nothing writable outside the run's directory, no secret in the environment, no
    other process in sight, output capped."""
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    tmp_path.chmod(0o777)
    victim.chmod(0o666)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    code = f"""
    import os, socket, sys
    def f(x):
        seen = {{}}
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=0.5)
            seen["net"] = "connected"
        except OSError:
            seen["net"] = "isolated"
        wrote = []
        for path in ({str(victim)!r}, "/etc/passwd", "/tmp/codemend-escape.txt", "/codemend/wire.py"):
            try:
                with open(path, "a") as fh:
                    fh.write("pwned")
                wrote.append(path)
            except OSError:
                pass
        seen["wrote"] = wrote
        seen["env"] = sorted(k for k in os.environ if k not in ("LD_PRELOAD",))
        seen["pids"] = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
        sys.stdout.write("y" * 200_000)
        return seen
    """
    try:
        report = counted(counting, code, "assert f(0) == 'x'", limit=5.0)
    finally:
        listener.close()
    assert statuses(report) == ["failed"]
    seen = report.results[0].actual or ""
    assert "'net': 'isolated'" in seen and "'wrote': []" in seen, seen
    assert "'env': ['HOME', 'LANG', 'PATH', 'PYTHONHASHSEED', 'TMPDIR']" in seen, seen
    assert "'pids': []" in seen or "'pids': ['1']" in seen, seen
    assert report.stdout_truncated and len(report.stdout) == counting.limits.output_bytes
    assert victim.read_text() == "original"
    assert report.instructions is not None
