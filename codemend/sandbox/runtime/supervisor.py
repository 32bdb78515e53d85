"""The sandbox worker's trusted core: one job at a time from the host, verdicts back.

It never executes candidate or test code. Per job it forks a harness process (test code,
uid A) and asks the zygote for candidate processes (model code, uid B), enforces per-test
wall-clock deadlines, drains and caps their output, kills every process of a finished run and
compares I/O-test output itself (``io_tests``). Assert tests the host took apart into a call
and a literal it checks itself, with no harness (``direct``): only data crosses. A job with cost
``instructions`` runs each candidate under valgrind and sums their counts (``counting``).
Standard library only: run as ``python -I -S supervisor.py``.
"""

import contextlib
import functools
import gc
import json
import os
import select
import shutil
import signal
import socket
import sys
import time

if __package__:
    from codemend.sandbox.runtime import (
        counting,
        direct,
        harness,
        io_tests,
        procs,
        programs,
        spares,
        wire,
        zygote,
    )
else:  # inside the sandbox
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import counting  # type: ignore[import-not-found, no-redef]
    import direct  # type: ignore[import-not-found, no-redef]
    import harness  # type: ignore[import-not-found, no-redef]
    import io_tests  # type: ignore[import-not-found, no-redef]
    import procs  # type: ignore[import-not-found, no-redef]
    import programs  # type: ignore[import-not-found, no-redef]
    import spares  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]
    import zygote  # type: ignore[import-not-found, no-redef]

if __package__:
    from codemend.sandbox.runtime import tracing
else:  # inside the sandbox
    import tracing  # type: ignore[import-not-found, no-redef]


class ZygoteGone(Exception):
    """The process that forks candidates is gone: this worker can serve no more jobs."""


class Phases:
    """Where a job's time goes on the supervisor's side: seconds per phase, summed over the job's
    sessions (``mark(name)`` ends phase ``name``), for a host that asks (``Job.phases``)."""

    def __init__(self) -> None:
        self.first = self.last = time.monotonic()
        self.spent: dict[str, float] = {}

    def mark(self, name: str, now: float | None = None) -> None:
        """End phase ``name`` at ``now`` (default: the present)."""
        now = time.monotonic() if now is None else now
        self.spent[name] = self.spent.get(name, 0.0) + max(0.0, now - self.last)
        self.last = now

    def report(self) -> dict[str, object]:
        """The phases so far, the rest of the job (I/O tests, the reply) included, and ``clock``:
        when the job started and ended on the monotonic clock the host shares."""
        self.mark("the rest: I/O tests, the reply")
        return {"clock": [self.first, self.last], **self.spent}


class Session:
    """One assertion session: a harness running the pending tests in order against a candidate
    serving calls, and what the supervisor has learnt from them so far."""

    def __init__(
        self, pending: list[int], results: list[wire.Verdict | None], limit: float, phases: Phases
    ) -> None:
        self.pending, self.results, self.limit, self.phases = pending, results, limit, phases
        self.current: int | None = None  # the test the harness has started and not finished
        self.started = self.deadline = 0.0  # of the current test (or of loading the solution)
        self.timed_out = False
        self.c_died = False  # the candidate's pidfd turned readable while the harness ran
        self.control = bytearray()
        self.path = ""
        self.c_pid = self.c_fd = self.h_pid = self.h_fd = -1  # no harness (-1): a direct session
        self.ctl_r = self.out_r = self.err_r = -1
        self.chan: socket.socket | None = None  # the supervisor's end of the candidate's channel
        self.abandoned = False  # a direct session left its tests to the harness (``direct``)

    def restart_clock(self, now: float) -> None:
        """Start timing the current test at ``now``: its deadline is ``now`` plus the time limit."""
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
                first = all(self.results[i] is None for i in self.pending)
                self.phases.mark("harness and candidate start" if first else "between tests", now)
            elif msg[0] == wire.RESULT and msg[1] in self.pending and self.results[msg[1]] is None:
                self.results[msg[1]] = {**msg[2], "duration_s": round(now - self.started, 6)}
                self.current, self.deadline = None, now + self.limit
                self.phases.mark("tests (proxy round trips included)", now)
            elif msg[0] == wire.DONE:
                more = False
        return more

    def settle_verdicts(self) -> None:
        """Verdicts for the tests the session ended on: timed out, or the harness died."""
        results, current, limit = self.results, self.current, self.limit
        if self.abandoned:
            return
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


class CountingFailed(Exception):
    """valgrind did not run a counted candidate: this worker's fault, not the candidate's."""


class Supervisor:
    def __init__(
        self, config: wire.WorkerConfig, zygote: socket.socket, contained: bool, counting_error: str | None
    ) -> None:
        self.uids: list[int] | None = config.get("uids")
        self.workdir: str = config["workdir"]
        self.zygote = zygote
        self.contained = contained
        self.counting_error = counting_error  # why instructions cannot be counted here, or None
        self.exits: dict[int, int] = {}
        self.cpu: dict[int, float] = {}  # CPU seconds of each ended candidate's process tree
        self.counts: dict[int, tuple[int | None, str | None]] = {}  # counted: (count, why no run)
        self.run_cpu = 0.0  # of the current job's candidates, as their exits are collected
        self.counted = False  # the current job's candidates run under valgrind
        self.run_count: int | None = 0  # their instructions; None once one left no count
        self.serial = 0
        self.phases = Phases()
        self.tracing: tracing.Sink | None = None  # the current job asks for a trace (``tracing``)
        self.spare: spares.Spare | None = None  # the next session's candidate, started early

    # -- zygote ---------------------------------------------------------------------------
    def zygote_msg(self) -> tuple[list, list[int]]:
        """The zygote's next message (a spare's SPAWNED is taken here: it answers in order, and
        the spare's request, when unanswered, came before any other)."""
        data, fds, _, _ = socket.recv_fds(self.zygote, 1 << 16, 1)
        msg: list = json.loads(data) if data else [wire.GONE]
        if msg[0] == wire.SPAWNED and self.spare is not None and self.spare.pid < 0:
            self.spare.pid, self.spare.pidfd = int(msg[1]), fds[0]
            return [_SPARE_SPAWNED], []
        if msg[0] == wire.EXITED:
            self.exits[msg[1]] = msg[2]
            self.cpu[msg[1]] = float(msg[3]) if len(msg) > 3 else 0.0
            self.counts[msg[1]] = (msg[4], msg[5]) if len(msg) > 5 else (None, None)
        elif msg[0] == wire.GONE:
            raise ZygoteGone("the zygote is gone")
        return msg, fds

    def spawn(
        self,
        mode: wire.Mode,
        fds: list[int],
        limits: wire.ProcessLimits,
        cwd: str,
        argv: list[str] | None = None,
    ) -> tuple[int, int]:
        """A candidate process from the zygote (``argv``: the command an ``EXEC`` one becomes):
        its pid and a pidfd that signals its exit."""
        req = self.request(mode, limits, cwd, count=self.counted and mode != wire.EXEC)
        if argv is not None:
            req["argv"] = argv
        fds = tracing.with_end(self.tracing, mode, fds)
        socket.send_fds(self.zygote, [json.dumps(req).encode()], fds)
        tracing.handed(self.tracing)
        while True:
            msg, pidfds = self.zygote_msg()
            if msg[0] == wire.SPAWNED:
                return int(msg[1]), pidfds[0]

    def request(
        self, mode: wire.Mode, limits: wire.ProcessLimits | None, cwd: str, *, count: bool
    ) -> wire.SpawnRequest:
        """A spawn request for the zygote (``limits`` None: a spare's, see ``spares``)."""
        uid = self.uids[1] if self.uids else None
        contain = self.contained
        return {"mode": mode, "uid": uid, "limits": limits, "cwd": cwd, "contain": contain, "count": count}

    def exit_status(self, pid: int, timeout: float = 5.0, *, charge: bool = True) -> int | None:
        """Wait up to ``timeout`` seconds for the zygote to report ``pid``'s end: its wait status
        (None if none came); with ``charge``, its CPU time and instruction count are added to the
        run's, and a failed count raises ``CountingFailed``."""
        end = time.monotonic() + timeout
        while pid not in self.exits and time.monotonic() < end:
            if select.select([self.zygote], [], [], max(0.0, end - time.monotonic()))[0]:
                self.zygote_msg()
        cpu = self.cpu.pop(pid, 0.0)
        count, failed = self.counts.pop(pid, (None, None))
        if not charge:
            return self.exits.pop(pid, None)
        self.run_cpu += cpu
        if failed is not None:
            raise CountingFailed(failed)
        if self.run_count is not None:  # a candidate whose end was not reported left no count
            self.run_count = None if count is None else self.run_count + count
        return self.exits.pop(pid, None)

    def first_frame(self, job: wire.Job) -> object:
        """What a candidate is sent first: the code, with the tracer's options in a traced job."""
        return tracing.code_frame(job, self.tracing)

    # -- per-run resources ----------------------------------------------------------------
    def make_dir(self) -> str:
        """A fresh run directory (names of one length), owned by the candidates' uid when there is one."""
        self.serial += 1
        # Of one length: a counted candidate's count must not depend on its directory's name.
        path = os.path.join(self.workdir, f"run-{os.getpid():07d}-{self.serial:012d}")
        os.mkdir(path, 0o700)
        if self.uids:
            os.chown(path, self.uids[1], self.uids[1])
        return path

    def cleanup(
        self,
        pidfds: list[int],
        pids: list[int],
        path: str | None,
        grace: float,
        *,
        collect: bool = True,
        in_pod: bool = False,
    ) -> None:
        """Give the run's processes ``grace`` seconds to end by themselves, then sweep; then,
        with ``collect``, take their trace (a caller whose candidate ran in a pod does that once
        the pod reported its end: until then a process the candidate forked may still write).

        ``in_pod``: the first pidfd and pid are a candidate's in a pod (``pods``). It is killed
        through its pidfd, and its pod's init, which reaps it, kills and reaps what it left: the
        CPU time of all of it is counted (a sweep of the candidates' uid would kill the init
        too, and the kernel reaps a dead init's namespace uncounted), and the pod stays. The
        sweep is then for the other processes (the harness's uid)."""
        end = time.monotonic() + grace
        waiting = list(pidfds)
        while waiting and (left := end - time.monotonic()) > 0:
            for fd in select.select(waiting, [], [], left)[0]:
                waiting.remove(fd)
        # A contained candidate's namespace dies with its init; what a candidate in a pod left,
        # its init kills before it reports the end (``pods``).
        if in_pod and waiting:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfds[0], signal.SIGKILL)
            if len(pids) > 1:
                procs.sweep(self.uids[:1] if self.uids else None, pids[1:])
        elif waiting or not self.contained:
            procs.sweep(self.uids, pids)
        if path:
            shutil.rmtree(path, ignore_errors=True)
        if collect:
            tracing.collect(self.tracing)  # the run's processes are gone: what they wrote is all there

    # -- jobs -----------------------------------------------------------------------------
    def run(self, job: wire.Job) -> wire.Reply:
        """Run a job: its assert tests in sessions (one after a crash goes on with the tests left),
        then its I/O tests; the reply with every verdict and the captured output."""
        tests = job["tests"]
        self.phases = Phases()
        results: list[wire.Verdict | None] = [None] * len(tests)
        self.run_cpu, self.run_count = 0.0, 0
        self.counted = job.get("cost") == "instructions"
        self.tracing = tracing.sink(job)
        if self.counted and self.counting_error is not None:
            raise CountingFailed(f"this worker cannot count instructions: {self.counting_error}")
        out, err = procs.Capture(job["output_limit"]), procs.Capture(job["output_limit"])
        if "toolchain" in job:
            return self._run_programs(job, out, err)
        pending = [i for i, t in enumerate(tests) if t["kind"] == "assert"]
        harnessed = False  # a direct session fell back: the rest run in the harness
        while pending:
            fell_back = False
            if not harnessed and direct.eligible(self, job, pending):
                fell_back = harnessed = not self._direct_session(job, pending, results, out, err)
            else:
                self._assert_session(job, pending, results, out, err)
            left = [i for i in pending if results[i] is None]
            if len(left) == len(pending) and not fell_back:  # no progress: nothing more can be learned
                for i in left:
                    results[i] = {"status": "crashed", "detail": "the run ended before this test"}
                break
            pending = left
        for i, test in enumerate(tests):
            if test["kind"] == "io":
                results[i] = io_tests.run(self, job, test, err)
        return self._reply(results, out, err)

    def _reply(
        self, results: list[wire.Verdict | None], out: procs.Capture, err: procs.Capture
    ) -> wire.Reply:
        """The reply to a job: its verdicts, the output captured, the candidates' cost."""
        return {
            "results": results,
            "stdout": out.text(),
            "stdout_truncated": out.truncated,
            "stderr": err.text(),
            "stderr_truncated": err.truncated,
            "cpu_s": round(self.run_cpu, 6),
            "instructions": self.run_count if self.counted else None,
        }

    def _run_programs(self, job: wire.Job, out: procs.Capture, err: procs.Capture) -> wire.Reply:
        """A job in another language: compile once (``programs``), then run the build on each
        I/O test, its output compared here; every test fails alike when the code did not compile."""
        tool = job["toolchain"]
        compiled, path = programs.build(self, job, tool)
        try:
            if compiled["status"] == "ok":
                argv = programs.fill(tool["run"], path)
                tests = [t for t in job["tests"] if t["kind"] == "io"]
                results: list[wire.Verdict | None] = [
                    io_tests.run(self, job, test, err, argv=argv) for test in tests
                ]
            else:
                results = [programs.failed_test(compiled) for _ in job["tests"]]
        finally:
            programs.unseal(path)
            shutil.rmtree(path, ignore_errors=True)
        return {**self._reply(results, out, err), "compile": compiled}

    def process_limits(self, job: wire.Job, tests: int) -> wire.ProcessLimits:
        """The harness's limits, running ``tests`` tests (the candidate's: ``candidate_limits``)."""
        return {**job["limits"], "cpu_s": job["time_limit_s"] * (tests + 1)}

    def candidate_limits(self, job: wire.Job, tests: int) -> wire.ProcessLimits:
        """The candidate's limits: a counted one's CPU time scaled as its wall-clock time is
        (``wire.time_limit``), and its address space with valgrind's own on top."""
        limits = self.process_limits(job, tests)
        if not self.counted:
            return limits
        cpu = limits["cpu_s"] * wire.COUNTED_TIME_FACTOR + wire.COUNTED_START_S
        return {**limits, "cpu_s": cpu, "memory_mb": limits["memory_mb"] + wire.COUNTED_MEMORY_MB}

    def _assert_session(
        self,
        job: wire.Job,
        pending: list[int],
        results: list[wire.Verdict | None],
        out: procs.Capture,
        err: procs.Capture,
    ) -> None:
        """Run ``pending`` in one harness against one candidate until all are decided, the
        harness or the candidate dies, or a test overruns its time; as many verdicts as that gave."""
        session = Session(pending, results, wire.time_limit(job), self.phases)
        self._start_session(session, job)
        self._watch_session(session, out, err)
        self.phases.mark("after the last test: the harness exits")
        self._settle_session(session, out, err)

    def _direct_session(
        self,
        job: wire.Job,
        pending: list[int],
        results: list[wire.Verdict | None],
        out: procs.Capture,
        err: procs.Capture,
    ) -> bool:
        """``_assert_session`` with the supervisor in the harness's place (``direct``); False
        when it fell back: the tests it left undecided need a harness session."""
        session = Session(pending, results, wire.time_limit(job), self.phases)
        took_spare = self._start_candidate(session, job)
        if took_spare:
            self.prepare_spare()
        self.phases.mark(DIRECT_PHASE)
        session.restart_clock(time.monotonic())
        kept = direct.run(session, job, out, err)
        self.phases.mark("after the last test: the harness exits")
        self._settle_session(session, out, err)
        return kept

    def _start_candidate(self, session: Session, job: wire.Job) -> bool:
        """Take the spare candidate or spawn one, send it the code (``session.chan``: the
        supervisor's end of its channel); whether it was the spare."""
        limits = self.candidate_limits(job, len(session.pending))
        spare = self._take_spare(job)
        if spare is not None:
            session.chan = spare.channel  # in a pod: no run directory of its own
            session.out_r, session.err_r = spare.out_r, spare.err_r
            session.c_pid, session.c_fd = spare.pid, spare.pidfd
            first: object = {"code": job["code"], "limits": limits}
            self.phases.mark("candidate: the spare, or one spawned by the zygote")
        else:
            session.path = "" if wire.in_pod(wire.SERVE, self.contained, self.counted) else self.make_dir()
            session.chan, c_end = socket.socketpair()
            session.out_r, out_w = os.pipe()
            session.err_r, err_w = os.pipe()
            null = os.open(os.devnull, os.O_RDWR)
            fds = [null, out_w, err_w, c_end.fileno()]
            session.c_pid, session.c_fd = self.spawn(wire.SERVE, fds, limits, session.path)
            self.phases.mark("candidate: the spare, or one spawned by the zygote")
            for fd in (null, out_w, err_w):
                os.close(fd)
            c_end.close()
            first = self.first_frame(job)
        with contextlib.suppress(OSError):
            wire.send_frame(session.chan.fileno(), first)
        return spare is not None

    def _start_session(self, session: Session, job: wire.Job) -> None:
        """Start the candidate (``_start_candidate``), fork the harness."""
        took_spare = self._start_candidate(session, job)
        assert session.chan is not None
        null = os.open(os.devnull, os.O_RDWR)
        session.ctl_r, ctl_w = os.pipe()
        h_fds = [null, null, null, session.chan.fileno(), ctl_w]
        limits = self.process_limits(job, len(session.pending))
        session.h_pid = self._fork_harness(job, session.pending, h_fds, limits)
        session.chan.close()
        session.chan = None
        os.close(ctl_w)
        os.close(null)
        session.h_fd = os.pidfd_open(session.h_pid)
        if took_spare:  # the next one starts on a core this session leaves idle
            self.prepare_spare()
        self.phases.mark("code sent, harness fork")

    def prepare_spare(self) -> None:
        """Start the next session's candidate now, where one can be used (``spares``); none
        when the system refuses (the session then spawns its candidate)."""
        if self.spare is None:
            with contextlib.suppress(OSError):
                self.spare = spares.prepare(self)

    def _take_spare(self, job: wire.Job) -> spares.Spare | None:
        """The spare, for a session of ``job`` that can use it (a dead one is discarded)."""
        spare = self.spare
        if spare is None or not spares.usable(self, spare, job):
            return None
        self.spare = None
        if spares.alive(spare):
            return spare
        spares.discard(self, spare)
        return None

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

    def _watch_session(self, session: Session, out: procs.Capture, err: procs.Capture) -> None:
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

    def _settle_session(self, session: Session, out: procs.Capture, err: procs.Capture) -> None:
        """Decide the tests the session ended on, end its processes, say how a candidate that
        died ended."""
        s = session
        s.settle_verdicts()
        if s.chan is not None:  # a direct session's: the candidate reads its end and exits
            s.chan.close()
            s.chan = None
        # Did the candidate end before the kill? Its channel closes a moment before its pidfd
        # turns readable, so when the harness saw it go, give that moment.
        vague = bool(s.vague_crashes())
        c_died = s.c_died or bool(select.select([s.c_fd], [], [], 1.0 if vague else 0)[0])
        # After "done" the harness exits and the candidate sees its channel close (a counted
        # one then has valgrind write its count: killed, it would leave none).
        grace = wire.COUNTED_START_S if self.counted else 0.5
        if s.timed_out or s.abandoned:
            grace = 0.0
        harnessed = s.h_pid >= 0
        pidfds, pids = ([s.c_fd, s.h_fd], [s.c_pid, s.h_pid]) if harnessed else ([s.c_fd], [s.c_pid])
        in_pod = wire.in_pod(wire.SERVE, self.contained, self.counted)
        self.cleanup(pidfds, pids, s.path, grace, collect=False, in_pod=in_pod)
        self.phases.mark("end of run: candidate exits, directory removed")
        if harnessed:
            os.waitpid(s.h_pid, 0)
        try:
            status = self.exit_status(s.c_pid)  # reported once none of the candidate's processes is left
        finally:
            for fd in (s.out_r, s.err_r):  # what is left in the pipes after the kill
                (out if fd == s.out_r else err).drain(fd)
            tracing.collect(self.tracing)
            for fd in (s.ctl_r, s.out_r, s.err_r, s.c_fd, s.h_fd):
                if fd >= 0:
                    os.close(fd)
        self.phases.mark("exit status and CPU time (zygote)")
        if c_died:  # the harness only saw the channel close; say how the process ended
            why = f"the candidate process {procs.describe(status)}"
            for r in s.vague_crashes():
                r["detail"] = why


DIRECT_PHASE = "code sent, no harness (direct)"  # a direct session's, in place of the harness's fork
_SPARE_SPAWNED = "spare spawned"  # what ``zygote_msg`` returns for the spare's SPAWNED


def _vague(detail: str | None) -> bool:
    return detail is None or detail.startswith(("the candidate process exited", "the test harness died"))


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
    """The worker's entry: probe containment and counting, fork the zygote, say hello to the host,
    then serve jobs from stdin until it closes."""
    config: wire.WorkerConfig = json.loads(sys.argv[1])
    procs.default_signals()
    procs.set_dumpable(False)  # inherited by the zygote; the harness sets it again itself
    uids = config.get("uids")
    why_not = procs.probe_containment(uids[1] if uids else None) if config.get("contain", True) else "off"
    if why_not is None:  # inherited by the zygote, so its candidates skip a mount bound to fail
        procs.FRESH_PROC = procs.probe_fresh_proc(uids[1] if uids else None)
    valgrind = config.get("valgrind")
    counting_error = counting.unavailable(valgrind, why_not)
    if counting_error is None and valgrind is not None:
        check = functools.partial(counting.unreachable, valgrind, sys.executable, zygote.COUNTED)
        counting_error = procs.probe_as(uids[1] if uids else None, check)
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
        zygote.zygote(child, valgrind if counting_error is None else None, config["workdir"])
    child.close()
    supervisor = Supervisor(config, parent, why_not is None, counting_error)
    hello: wire.Hello = {
        "hello": 1,
        "pid": os.getpid(),
        "uid_split": bool(uids),
        "contained": why_not is None,
        "containment_error": why_not,
        "counting_error": counting_error,
    }
    wire.send_frame(host_out, hello)
    gc.freeze()  # each harness is a fork of this process: its collector leaves these pages alone
    supervisor.prepare_spare()
    while True:
        job = wire.recv_frame(host_in)
        if job is wire.EOF:
            break
        reply: wire.Reply | wire.Failure
        try:
            reply = supervisor.run(job)  # type: ignore[arg-type]
            if supervisor.tracing is not None:
                reply.update(supervisor.tracing.reply())  # type: ignore[typeddict-item]
        except ZygoteGone:  # the host sees this worker's stream end, replaces it, and goes on
            os._exit(1)
        except Exception as exc:  # a bug here is infrastructure: say so, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        if isinstance(job, dict) and job.get("phases") and "results" in reply:
            reply["phases"] = supervisor.phases.report()
        wire.send_frame(host_out, reply)
        supervisor.prepare_spare()  # where the last job used none: for the next one


if __name__ == "__main__":
    main()
