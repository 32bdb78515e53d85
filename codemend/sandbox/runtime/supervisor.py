"""The sandbox worker's trusted core: one job at a time from the host, verdicts back.

It never executes candidate or test code. Per job it forks a harness process (test code,
uid A) and asks the zygote for candidate processes (model code, uid B), enforces per-test
wall-clock deadlines, drains and caps their output, kills every process of a finished run and
compares I/O-test output itself. Standard library only: run as ``python -I -S supervisor.py``.
"""

import contextlib
import json
import os
import select
import shutil
import socket
import sys
import time

if __package__:
    from codemend.sandbox.runtime import harness, procs, wire
else:  # inside the sandbox
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness  # type: ignore[import-not-found, no-redef]
    import procs  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]


class Capture:
    """Keeps the first ``limit`` bytes of a stream, counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data, self.total = limit, bytearray(), 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)


class ZygoteGone(Exception):
    """The process that forks candidates is gone: this worker can serve no more jobs."""


class Session:
    """One assertion session: a harness running the pending tests in order against a candidate
    serving calls, and what the supervisor has learnt from them so far."""

    def __init__(self, pending: list[int], results: list[wire.Verdict | None], limit: float) -> None:
        self.pending, self.results, self.limit = pending, results, limit
        self.current: int | None = None  # the test the harness has started and not finished
        self.started = self.deadline = 0.0  # of the current test (or of loading the solution)
        self.timed_out = False
        self.c_died = False  # the candidate's pidfd turned readable while the harness ran
        self.control = bytearray()
        self.path = ""
        self.c_pid = self.c_fd = self.h_pid = self.h_fd = -1
        self.ctl_r = self.out_r = self.err_r = -1

    def restart_clock(self, now: float) -> None:
        self.started, self.deadline = now, now + self.limit

    def on_control(self, chunk: bytes) -> bool:
        """Take the harness's control bytes; False once it said it is done."""
        self.control += chunk
        more = True
        for msg in _frames(self.control):
            now = time.monotonic()
            if msg[0] == wire.START:
                self.current = msg[1]
                self.restart_clock(now)
            elif msg[0] == wire.RESULT and msg[1] in self.pending and self.results[msg[1]] is None:
                self.results[msg[1]] = {**msg[2], "duration_s": round(now - self.started, 6)}
                self.current, self.deadline = None, now + self.limit
            elif msg[0] == wire.DONE:
                more = False
        return more

    def settle_verdicts(self) -> None:
        """Verdicts for the tests the session ended on: timed out, or the harness died."""
        results, current, limit = self.results, self.current, self.limit
        if self.timed_out:
            what = "this test" if current is not None else "loading the solution and the test setup"
            detail = f"no verdict within {limit:g} s of wall-clock time for {what}"
            for i in [current] if current is not None else self.pending:
                if results[i] is None:
                    results[i] = {"status": "timeout", "detail": detail, "duration_s": limit}
        elif current is not None and results[current] is None:
            results[current] = {"status": "crashed", "detail": "the test harness died during this test"}

    def vague_crashes(self) -> list[wire.Verdict]:
        """This session's crashed verdicts that do not say how the candidate ended."""
        mine = [self.results[i] for i in self.pending]
        return [r for r in mine if r is not None and r["status"] == "crashed" and _vague(r.get("detail"))]


class Program:
    """A candidate running an I/O test: its process, its pipes, its report channel."""

    def __init__(
        self, path: str, c_pid: int, c_fd: int, s_end: socket.socket, out_r: int, err_r: int
    ) -> None:
        self.path, self.c_pid, self.c_fd, self.s_end = path, c_pid, c_fd, s_end
        self.out_r, self.err_r = out_r, err_r


class Supervisor:
    def __init__(self, config: wire.WorkerConfig, zygote: socket.socket, contained: bool) -> None:
        self.uids: list[int] | None = config.get("uids")
        self.workdir: str = config["workdir"]
        self.zygote = zygote
        self.contained = contained
        self.exits: dict[int, int] = {}
        self.serial = 0

    # -- zygote ---------------------------------------------------------------------------
    def _zygote_msg(self) -> tuple[list, list[int]]:
        data, fds, _, _ = socket.recv_fds(self.zygote, 1 << 16, 1)
        msg: list = json.loads(data) if data else [wire.GONE]
        if msg[0] == wire.EXITED:
            self.exits[msg[1]] = msg[2]
        elif msg[0] == wire.GONE:
            raise ZygoteGone("the zygote is gone")
        return msg, fds

    def _spawn(
        self, mode: wire.Mode, fds: list[int], limits: wire.ProcessLimits, cwd: str
    ) -> tuple[int, int]:
        """A candidate process from the zygote: its pid and a pidfd that signals its exit."""
        uid = self.uids[1] if self.uids else None
        req: wire.SpawnRequest = {
            "mode": mode,
            "uid": uid,
            "limits": limits,
            "cwd": cwd,
            "contain": self.contained,
        }
        socket.send_fds(self.zygote, [json.dumps(req).encode()], fds)
        while True:
            msg, pidfds = self._zygote_msg()
            if msg[0] == wire.SPAWNED:
                return int(msg[1]), pidfds[0]

    def _exit_status(self, pid: int, timeout: float = 5.0) -> int | None:
        end = time.monotonic() + timeout
        while pid not in self.exits and time.monotonic() < end:
            if select.select([self.zygote], [], [], max(0.0, end - time.monotonic()))[0]:
                self._zygote_msg()
        return self.exits.pop(pid, None)

    # -- per-run resources ----------------------------------------------------------------
    def _make_dir(self) -> str:
        self.serial += 1
        path = os.path.join(self.workdir, f"run-{os.getpid()}-{self.serial}")
        os.mkdir(path, 0o700)
        if self.uids:
            os.chown(path, self.uids[1], self.uids[1])
        return path

    def _cleanup(self, pidfds: list[int], pids: list[int], path: str | None, grace: float) -> None:
        """Give the run's processes ``grace`` seconds to end by themselves, then sweep."""
        end = time.monotonic() + grace
        waiting = list(pidfds)
        while waiting and (left := end - time.monotonic()) > 0:
            for fd in select.select(waiting, [], [], left)[0]:
                waiting.remove(fd)
        if waiting or not self.contained:  # a contained candidate's namespace dies with its init
            procs.sweep(self.uids, pids)
        if path:
            shutil.rmtree(path, ignore_errors=True)

    # -- jobs -----------------------------------------------------------------------------
    def run(self, job: wire.Job) -> wire.Reply:
        tests = job["tests"]
        results: list[wire.Verdict | None] = [None] * len(tests)
        out, err = Capture(job["output_limit"]), Capture(job["output_limit"])
        pending = [i for i, t in enumerate(tests) if t["kind"] == "assert"]
        while pending:
            self._assert_session(job, pending, results, out, err)
            left = [i for i in pending if results[i] is None]
            if len(left) == len(pending):  # no progress: nothing more can be learned
                for i in left:
                    results[i] = {"status": "crashed", "detail": "the run ended before this test"}
                break
            pending = left
        for i, test in enumerate(tests):
            if test["kind"] == "io":
                results[i] = self._io_test(job, test, err)
        return {
            "results": results,
            "stdout": out.text(),
            "stdout_truncated": out.truncated,
            "stderr": err.text(),
            "stderr_truncated": err.truncated,
        }

    def _limits(self, job: wire.Job, tests: int) -> wire.ProcessLimits:
        return {**job["limits"], "cpu_s": job["time_limit_s"] * (tests + 1)}

    def _assert_session(
        self,
        job: wire.Job,
        pending: list[int],
        results: list[wire.Verdict | None],
        out: Capture,
        err: Capture,
    ) -> None:
        """Run ``pending`` in one harness against one candidate until all are decided, the
        harness or the candidate dies, or a test overruns its time; as many verdicts as that gave."""
        session = Session(pending, results, job["time_limit_s"])
        self._start_session(session, job)
        self._watch_session(session, out, err)
        self._settle_session(session, out, err)

    def _start_session(self, session: Session, job: wire.Job) -> None:
        """Spawn the candidate, send it the code, fork the harness."""
        session.path = self._make_dir()
        h_end, c_end = socket.socketpair()
        session.ctl_r, ctl_w = os.pipe()
        session.out_r, out_w = os.pipe()
        session.err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDWR)
        limits = self._limits(job, len(session.pending))
        fds = [null, out_w, err_w, c_end.fileno()]
        session.c_pid, session.c_fd = self._spawn(wire.SERVE, fds, limits, session.path)
        for fd in (out_w, err_w):
            os.close(fd)
        c_end.close()
        with contextlib.suppress(OSError):
            wire.send_frame(h_end.fileno(), job["code"])
        h_fds = [null, null, null, h_end.fileno(), ctl_w]
        session.h_pid = self._fork_harness(job, session.pending, h_fds, limits)
        h_end.close()
        os.close(ctl_w)
        os.close(null)
        session.h_fd = os.pidfd_open(session.h_pid)

    def _fork_harness(
        self, job: wire.Job, pending: list[int], fds: list[int], limits: wire.ProcessLimits
    ) -> int:
        """The harness process, running ``pending`` with ``fds`` as its fds 0-4."""
        pid = os.fork()
        if pid == 0:
            try:
                uid = self.uids[0] if self.uids else None
                procs.enter(fds, uid, limits, "/")
                harness.main(job, pending)
            except BaseException:
                os._exit(70)
            os._exit(0)
        return pid

    def _watch_session(self, session: Session, out: Capture, err: Capture) -> None:
        """Relay output and verdicts until the harness is done or dead, or a deadline passes."""
        s = session
        watch = {s.ctl_r, s.out_r, s.err_r, s.h_fd, s.c_fd}
        s.restart_clock(time.monotonic())
        while s.h_fd in watch or s.ctl_r in watch:
            remaining = s.deadline - time.monotonic()
            if remaining <= 0:
                s.timed_out = True
                return
            for fd in select.select(list(watch), [], [], remaining)[0]:
                if fd in (s.out_r, s.err_r):
                    chunk = os.read(fd, 1 << 16)
                    (out if fd == s.out_r else err).feed(chunk) if chunk else watch.discard(fd)
                elif fd == s.c_fd:
                    s.c_died = True
                    watch.discard(fd)
                elif fd == s.h_fd:
                    watch.discard(fd)
                elif fd == s.ctl_r:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk or not s.on_control(chunk):
                        watch.discard(fd)

    def _settle_session(self, session: Session, out: Capture, err: Capture) -> None:
        """Decide the tests the session ended on, end its processes, say how a candidate that
        died ended."""
        s = session
        s.settle_verdicts()
        # Did the candidate end before the kill? Its channel closes a moment before its pidfd
        # turns readable, so when the harness saw it go, give that moment.
        vague = bool(s.vague_crashes())
        c_died = s.c_died or bool(select.select([s.c_fd], [], [], 1.0 if vague else 0)[0])
        # After "done" the harness exits and the candidate sees its channel close.
        grace = 0.0 if s.timed_out else 0.5
        self._cleanup([s.c_fd, s.h_fd], [s.c_pid, s.h_pid], s.path, grace)
        os.waitpid(s.h_pid, 0)
        for fd in (s.out_r, s.err_r):  # what is left in the pipes after the kill
            _drain(fd, out if fd == s.out_r else err)
        for fd in (s.ctl_r, s.out_r, s.err_r, s.c_fd, s.h_fd):
            os.close(fd)
        status = self._exit_status(s.c_pid)
        if c_died:  # the harness only saw the channel close; say how the process ended
            why = f"the candidate process {procs.describe(status)}"
            for r in s.vague_crashes():
                r["detail"] = why

    def _io_test(self, job: wire.Job, test: wire.IOSpec, err: Capture) -> wire.Verdict:
        limit = job["time_limit_s"]
        expected = test["expected_stdout"]
        out = Capture(max(job["output_limit"], 2 * len(expected) + 4096))
        program = self._start_program(job, test)
        start = time.monotonic()
        with contextlib.suppress(OSError):
            wire.send_frame(program.s_end.fileno(), job["code"])
        exited = _relay_program(program, out, err, start + limit)
        duration = round(time.monotonic() - start, 6)
        outcome, status = self._settle_program(program, out, err)
        base = {"expected": _clip(expected), "actual": _clip(out.text()), "duration_s": duration}
        if not exited:
            return {**base, "status": "timeout", "detail": f"no exit within {limit:g} s of wall-clock time"}
        return {**base, **_program_verdict(outcome, status, out, expected)}

    def _start_program(self, job: wire.Job, test: wire.IOSpec) -> Program:
        """Spawn the candidate as a program, ``test``'s input on its stdin."""
        path = self._make_dir()
        stdin = os.memfd_create("stdin")
        os.write(stdin, test["stdin"].encode())
        os.lseek(stdin, 0, os.SEEK_SET)
        s_end, c_end = socket.socketpair()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        fds = [stdin, out_w, err_w, c_end.fileno()]
        c_pid, c_fd = self._spawn(wire.PROGRAM, fds, self._limits(job, 0), path)
        for fd in (stdin, out_w, err_w):
            os.close(fd)
        c_end.close()
        return Program(path, c_pid, c_fd, s_end, out_r, err_r)

    def _settle_program(self, program: Program, out: Capture, err: Capture) -> tuple[object, int | None]:
        """End the program's processes; its report (or ``EOF``) and its wait status."""
        p = program
        self._cleanup([p.c_fd], [p.c_pid], p.path, 0.0)
        p.s_end.setblocking(False)
        try:
            outcome = wire.recv_frame(p.s_end.fileno(), limit=1 << 20)
        except (OSError, wire.FrameError):
            outcome = wire.EOF
        p.s_end.close()
        for fd in (p.out_r, p.err_r):
            _drain(fd, out if fd == p.out_r else err)
            os.close(fd)
        os.close(p.c_fd)
        return outcome, self._exit_status(p.c_pid)


def _relay_program(program: Program, out: Capture, err: Capture, deadline: float) -> bool:
    """Relay the program's output until it exits; False if ``deadline`` came first."""
    watch = {program.out_r, program.err_r, program.c_fd}
    while watch:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        for fd in select.select(list(watch), [], [], remaining)[0]:
            if fd == program.c_fd:
                watch.discard(fd)
                continue
            chunk = os.read(fd, 1 << 16)
            (out if fd == program.out_r else err).feed(chunk) if chunk else watch.discard(fd)
    return True


def _program_verdict(outcome: object, status: int | None, out: Capture, expected: str) -> wire.Verdict:
    """How a program that exited in time did: from its report, else from its wait status."""
    if isinstance(outcome, list) and outcome and outcome[0] == wire.EXC:
        info = [str(x) for x in outcome[1:4]]
        kind = "memory" if info[0] == "MemoryError" else "error"
        return {"status": kind, "exc_type": info[0], "exc_message": info[1], "traceback": info[2]}
    if isinstance(outcome, list) and outcome[:1] == [wire.EXIT]:
        code = outcome[1]
    elif status is not None and os.WIFEXITED(status):  # e.g. os._exit(): no report, a status
        code = os.waitstatus_to_exitcode(status)
    else:
        return {"status": "crashed", "detail": f"the program {procs.describe(status)}"}
    if code != 0:
        return {"status": "error", "detail": f"the program exited with status {code}"}
    if out.truncated:
        return {"status": "failed", "detail": "output exceeded the capture limit"}
    passed = _normalise(out.text()) == _normalise(expected)
    return {"status": "passed" if passed else "failed"}


def _vague(detail: str | None) -> bool:
    return detail is None or detail.startswith(("the candidate process exited", "the test harness died"))


def _normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _drain(fd: int, capture: Capture) -> None:
    os.set_blocking(fd, False)
    try:
        while chunk := os.read(fd, 1 << 16):
            capture.feed(chunk)
    except BlockingIOError:
        pass


def _frames(buf: bytearray) -> list:
    """Pop the complete frames at the head of ``buf``."""
    found = []
    while len(buf) >= 4:
        size = int.from_bytes(buf[:4], "big")
        if len(buf) < 4 + size:
            break
        found.append(json.loads(bytes(buf[4 : 4 + size])))
        del buf[: 4 + size]
    return found


def main() -> None:
    config: wire.WorkerConfig = json.loads(sys.argv[1])
    procs.set_dumpable(False)  # inherited by the zygote; the harness sets it again itself
    uids = config.get("uids")
    why_not = procs.probe_containment(uids[1] if uids else None) if config.get("contain", True) else "off"
    host_in, host_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if os.fork() == 0:  # the zygote: forked before any job exists in this memory
        parent.close()
        for fd in (host_in, host_out):
            os.close(fd)
        procs.zygote(child)
    child.close()
    supervisor = Supervisor(config, parent, contained=why_not is None)
    hello: wire.Hello = {
        "hello": 1,
        "pid": os.getpid(),
        "uid_split": bool(uids),
        "contained": why_not is None,
        "containment_error": why_not,
    }
    wire.send_frame(host_out, hello)
    while True:
        job = wire.recv_frame(host_in)
        if job is wire.EOF:
            break
        reply: wire.Reply | wire.Failure
        try:
            reply = supervisor.run(job)  # type: ignore[arg-type]
        except ZygoteGone:  # the host sees this worker's stream end, replaces it, and goes on
            os._exit(1)
        except Exception as exc:  # a bug here is infrastructure: say so, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        wire.send_frame(host_out, reply)


if __name__ == "__main__":
    main()
