"""What every worker-pool backend shares: framed workers, dispatch with one retry, reports.

A worker is a supervisor (``runtime/supervisor.py``) reached over a byte stream: the host sends
a job frame and reads a reply frame. Backends differ in how the stream is made (a process's
pipes for ``LocalSandbox``, a container's attach socket for ``DockerSandbox``).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import select
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import ValidationError

from codemend.errors import InfrastructureError, SandboxUnavailable, UserError
from codemend.problems.model import AssertTest, IOTest, Problem
from codemend.records import CompileReport, CostMethod, Trace
from codemend.sandbox.base import Sandbox
from codemend.sandbox.calls import direct_call
from codemend.sandbox.report import Isolation, TestReport, TestResult
from codemend.sandbox.runtime import wire
from codemend.sandbox.toolchains import CompileLimits, toolchain_job
from codemend.sandbox.trace import read_trace, tracer_options

_RESULT_FIELDS = set(TestResult.model_fields) - {"index", "kind", "visibility"}
_instances = itertools.count()
log = logging.getLogger(__name__)
MAX_WORKERS = 128


def uid_block() -> int:
    """The first of ``2 * MAX_WORKERS`` unprivileged uids no account uses, distinct per pool of
    this process (RLIMIT_NPROC counts per uid machine-wide, so two pools must not share them)."""
    block = (os.getpid() * 8 + next(_instances)) % 30_000
    return 1_000_000 + block * 2 * MAX_WORKERS


def worker_argument(uids: list[int] | None, workdir: str, valgrind: str | None = None) -> str:
    """The supervisor's command-line argument: a ``wire.WorkerConfig``, as JSON."""
    config: wire.WorkerConfig = {"uids": uids, "workdir": workdir, "valgrind": valgrind}
    return json.dumps(config)


def _result(index: int, test: AssertTest | IOTest, verdict: object) -> TestResult:
    """A test's result from the supervisor's verdict, which the wire sends without the test's
    index, kind and visibility (the host knows them); ``InfrastructureError`` if it is not one."""
    if not isinstance(verdict, dict):
        raise InfrastructureError(f"sandbox supervisor sent test {index} a verdict that is not an object")
    fields = {k: v for k, v in verdict.items() if k in _RESULT_FIELDS}
    try:
        return TestResult(index=index, kind=test.kind, visibility=test.visibility, **fields)
    except ValidationError as exc:
        raise InfrastructureError(
            f"sandbox supervisor sent test {index} a malformed verdict: {_problems(exc)}"
        ) from None


def _compiled(verdict: object) -> CompileReport | None:
    """The compile report of a reply's ``compile`` verdict (None: a Python run)."""
    if verdict is None:
        return None
    if not isinstance(verdict, dict):
        raise InfrastructureError("sandbox supervisor sent a compile verdict that is not an object")
    try:
        return CompileReport(**{k: v for k, v in verdict.items() if k in CompileReport.model_fields})
    except ValidationError as exc:
        problems = _problems(exc)
        raise InfrastructureError(f"sandbox supervisor sent a malformed compile report: {problems}") from None


def _host_phases(reply: Any, t0: float, sent: float, replied: float) -> dict[str, float]:
    """A reply's phases and the host's: building the job (``t0`` to ``sent``), the frames' trip
    (``sent`` to the supervisor's start, its end to ``replied``: the supervisor's clock is the
    host's, the monotonic clock the namespaces share) and reading the reply."""
    theirs = dict(reply.get("phases") or {})
    first, last = theirs.pop("clock", (sent, replied))
    return {
        "host: build the job": sent - t0,
        "frames: job to supervisor, reply to host": max(0.0, first - sent) + max(0.0, replied - last),
        **{str(k): float(v) for k, v in theirs.items()},
        "host: read the reply": time.monotonic() - replied,
    }


def _problems(exc: ValidationError) -> str:
    """pydantic's complaints, one clause each: field, what is wrong, what came."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {str(e.get('input'))[:100]!r})"
        for e in exc.errors()
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxLimits:
    """Limits beyond each problem's own time and memory limits."""

    nproc: int = 64
    nofile: int = 256
    fsize_mb: int = 16
    output_bytes: int = 64 * 1024
    tmpfs_mb: int = 256
    start_timeout_s: float = 20.0
    job_grace_s: float = 10.0  # beyond the tests' own limits, before a worker counts as lost
    compile: CompileLimits = field(default_factory=CompileLimits)  # other languages than Python


class WorkerLost(Exception):
    """The worker stopped answering or its stream ended."""


class Worker(ABC):
    """A supervisor at the other end of a byte stream, one job at a time."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.lost = False  # stopped after it was lost; its slot needs a fresh worker

    @abstractmethod
    def _open(self) -> None:
        """Start the supervisor and connect the stream (raise ``SandboxUnavailable``)."""

    @abstractmethod
    def _fileno(self) -> int: ...

    @abstractmethod
    def _recv(self) -> bytes | None:
        """Reply bytes available now: b"" at the end of the stream, None when what arrived was
        not part of the reply stream (e.g. a container's stderr)."""

    @abstractmethod
    def _send(self, data: bytes) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Stop the supervisor and release everything it holds."""

    def stderr_tail(self) -> str:
        """What the supervisor said on its error stream lately, for error messages (here: nothing)."""
        return ""

    def start(self, timeout: float) -> wire.Hello:
        """Start the supervisor and wait ``timeout`` seconds for its hello; ``SandboxUnavailable``
        (with its stderr) when none comes."""
        self._open()
        try:
            hello = self._read(time.monotonic() + timeout)
            if not isinstance(hello, dict) or "hello" not in hello:
                raise WorkerLost(f"its first frame is not a hello: {str(hello)[:200]}")
        except WorkerLost as exc:
            tail = self.stderr_tail()
            self.stop()
            raise SandboxUnavailable(f"sandbox worker did not start: {exc}\n{tail}") from None
        return cast(wire.Hello, hello)

    def request(self, job: wire.Job, timeout: float) -> wire.Reply | wire.Failure:
        """Send ``job`` and wait ``timeout`` seconds for its reply; ``WorkerLost`` when the stream fails
        or no reply comes in time."""
        body = json.dumps(job, separators=(",", ":")).encode()
        try:
            self._send(len(body).to_bytes(4, "big") + body)
        except OSError as exc:
            raise WorkerLost(f"cannot send the job: {exc}") from None
        return self._read(time.monotonic() + timeout)

    def _read(self, deadline: float) -> Any:
        """The next frame from the supervisor, decoded (a ``Hello``, a ``Reply`` or a ``Failure``).

        ``WorkerLost`` when no frame can be had: no reply before ``deadline``, the stream ended or
        failed (e.g. a reset socket), or what came is not a frame (oversized, not JSON); after
        that the stream cannot be trusted to be in step, so the worker is done."""
        while True:
            if len(self._buf) >= 4:
                size = int.from_bytes(self._buf[:4], "big")
                if size > wire.MAX_FRAME:
                    raise WorkerLost(f"reply frame of {size} bytes")
                if len(self._buf) >= 4 + size:
                    body = bytes(self._buf[4 : 4 + size])
                    del self._buf[: 4 + size]
                    try:
                        return json.loads(body)
                    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, too deep
                        raise WorkerLost(f"undecodable reply frame ({exc}): {body[:200]!r}") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerLost("no reply before the deadline")
            try:
                chunk = self._recv() if select.select([self._fileno()], [], [], remaining)[0] else None
            except OSError as exc:
                raise WorkerLost(f"cannot read from the worker: {exc}") from None
            if chunk == b"":
                raise WorkerLost("the worker's stream ended")
            if chunk:
                self._buf += chunk


class PooledSandbox(Sandbox):
    """A pool of ``workers`` supervisors; a job goes to an idle one, a lost worker is replaced
    and its job tried once more, then its tests are ``crashed``; the batch goes on."""

    def __init__(self, *, workers: int | None, limits: SandboxLimits | None) -> None:
        self.size = min(workers or os.cpu_count() or 1, MAX_WORKERS)
        self.limits = limits or SandboxLimits()
        self.isolation: Isolation | None = None
        self.contained: bool | None = None  # each candidate in namespaces of its own (hello)
        self.counting_error: str | None = "the sandbox's workers have not started"  # (hello)
        self._containment_warned = False
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self._uid_base = uid_block()

    def uids(self, slot: int) -> list[int]:
        """The uids worker ``slot`` runs its harness and its candidates under, ``[harness,
        candidate]``: unprivileged, and distinct for every slot of every pool of this process."""
        return [self._uid_base + 2 * slot, self._uid_base + 2 * slot + 1]

    def note_containment(self, hello: wire.Hello) -> None:
        """Record whether the worker contains its candidates (say once why not, if not) and
        whether it can count their instructions."""
        self.contained = bool(hello.get("contained"))
        self.counting_error = hello.get("counting_error", "the sandbox's worker cannot count instructions")
        if not self.contained and not self._containment_warned:
            self._containment_warned = True
            log.info(
                "%s sandbox: candidates are not contained in namespaces of their own here (%s); "
                "the worker's other layers still apply",
                self.name,
                hello.get("containment_error") or "not reported",
            )

    def check_language(self, language: str) -> None:
        """Raise ``InfrastructureError`` when this backend cannot build and run ``language``
        (here: every language whose toolchain is installed; see ``codemend.languages``)."""

    @abstractmethod
    def _launch(self, slot: int) -> Worker:
        """A started worker for ``slot`` (raise ``SandboxUnavailable``); sets ``isolation``."""

    def start(self) -> None:
        """Start the workers; raise ``SandboxUnavailable`` if they cannot start (then none is left
        running, and the next call tries again)."""
        with self._lock:
            if self._all:
                return
            try:
                for slot in range(self.size):
                    self._all.append(self._launch(slot))  # in place: finalizers may hold this list
            except BaseException:
                for w in self._all:
                    w.stop()
                self._all.clear()
                raise
            for w in self._all:
                self._idle.put(w)

    def close(self) -> None:
        """Stop every worker; the next run starts fresh ones."""
        with self._lock:
            for w in self._all:
                w.stop()
            self._all.clear()
            self._idle = queue.Queue()

    def _job(
        self, problem: Problem, code: str, tests: Sequence[AssertTest | IOTest], cost: CostMethod = "cpu"
    ) -> wire.Job:
        limits = self.limits
        job: wire.Job = {
            "code": code,
            "entry_point": problem.entry_point,
            "setup": problem.test_setup_code,
            "tests": [self._spec(problem, t) for t in tests],
            "time_limit_s": problem.time_limit_s,
            "output_limit": limits.output_bytes,
            "limits": {
                "memory_mb": problem.memory_limit_mb,
                "nproc": limits.nproc,
                "nofile": limits.nofile,
                "fsize_mb": limits.fsize_mb,
            },
            "cost": cost,
        }
        toolchain, built = toolchain_job(problem, code, limits.compile)
        if toolchain is not None:
            job["toolchain"], job["code"] = toolchain, built
        return job

    @staticmethod
    def _spec(problem: Problem, test: AssertTest | IOTest) -> wire.TestSpec:
        """A test as it crosses; an assert test the supervisor can check without a harness
        carries its call taken apart (``calls``), where no setup code runs before it."""
        spec = cast(wire.TestSpec, test.model_dump())
        if spec["kind"] == "assert" and not spec["in_child"] and not problem.test_setup_code:
            call = direct_call(spec["code"], problem.entry_point)
            if call is not None:
                spec["call"] = call
        return spec

    def run(
        self,
        problem: Problem,
        code: str,
        tests: Sequence[AssertTest | IOTest] | None = None,
        *,
        cost: CostMethod = "cpu",
        phases: dict[str, float] | None = None,
    ) -> TestReport:
        """Run ``tests`` (default: all the problem's) against ``code`` on an idle worker, starting the
        pool first if needed; ``UserError`` for a ``cost`` it cannot measure, ``InfrastructureError``
        when the supervisor fails (a lost worker is replaced and the job tried once more).

        ``phases`` (for ``perf/`` scripts): a dict that receives where the run's time went, in
        seconds per phase, the host's (building the job, the frames' trip both ways, reading the
        reply) and the supervisor's (``runtime/supervisor.py``'s ``Phases``); they add up to the
        run's wall-clock time."""
        t0 = time.monotonic()
        selected = list(problem.tests if tests is None else tests)
        self.check_language(problem.language)
        self.start()
        why = self.cost_unavailable(cost)
        if why is not None:
            raise UserError(f"cost {cost}: {why}")
        if cost == "instructions" and problem.language != "python":
            raise UserError(f"cost {cost}: instructions are counted for Python candidates only")
        job = self._job(problem, code, selected, cost)
        if phases is not None:
            job["phases"] = True
        timeout = self.limits.job_grace_s + (len(selected) + 1) * (wire.time_limit(job) + 2.0)
        if "toolchain" in job:
            timeout += job["toolchain"]["compile_time_s"] + 2.0
        started = time.monotonic()
        reply = self._dispatch(job, timeout)
        replied = time.monotonic()
        if isinstance(reply, dict) and "error" in reply:
            raise InfrastructureError(f"sandbox supervisor failed: {reply['error']}")
        report = self._report(selected, reply, replied - started)
        if phases is not None:
            phases.update(_host_phases(reply, t0, started, replied))
        return report

    def trace(self, problem: Problem, code: str, test: AssertTest | IOTest) -> Trace:
        """``Sandbox.trace`` on an idle worker: one job with ``test`` alone and the tracer's
        options; the reply's trace text (the candidate's, cut by the supervisor) is read by
        ``read_trace``. A supervisor error or a worker lost twice is a trace not available."""
        self.start()
        job = self._job(problem, code, [test])
        job["trace"] = tracer_options(problem.time_limit_s)
        timeout = self.limits.job_grace_s + 2 * (wire.time_limit(job) + 2.0)
        started = time.monotonic()
        reply = self._dispatch(job, timeout)
        try:
            if isinstance(reply, dict) and "error" in reply:
                raise InfrastructureError(f"sandbox supervisor failed: {reply['error']}")
            report = self._report([test], reply, time.monotonic() - started)
        except InfrastructureError as exc:
            return Trace(available=False, reason=f"the traced run failed in the sandbox: {exc}")
        text, cut = reply.get("trace"), reply.get("trace_truncated") is True
        return read_trace(text if isinstance(text, str) else None, cut, report.results[0])

    def _report(self, tests: list[AssertTest | IOTest], reply: Any, duration: float) -> TestReport:
        """The report of a ``Reply``. A reply that is not one (a field missing, a verdict too few,
        a verdict of unknown status...) is an ``InfrastructureError`` saying what is wrong: the
        supervisor's own fault, which must not pass for a verdict on the candidate."""
        if not isinstance(reply, dict):
            raise InfrastructureError(f"sandbox supervisor replied with a non-object: {reply!r:.200}")
        missing = sorted(wire.Reply.__required_keys__ - set(reply))
        if missing:
            raise InfrastructureError(f"sandbox supervisor sent a reply without {', '.join(missing)}")
        verdicts = reply["results"]
        if not isinstance(verdicts, list) or len(verdicts) != len(tests):
            count = len(verdicts) if isinstance(verdicts, list) else type(verdicts).__name__
            raise InfrastructureError(f"sandbox supervisor sent {count} verdicts for {len(tests)} tests")
        results = [_result(i, t, r) for i, (t, r) in enumerate(zip(tests, verdicts, strict=True))]
        compiled = _compiled(reply.get("compile"))
        assert self.isolation is not None
        try:
            return TestReport(
                results=results,
                stdout=reply["stdout"],
                stderr=reply["stderr"],
                stdout_truncated=reply["stdout_truncated"],
                stderr_truncated=reply["stderr_truncated"],
                duration_s=round(duration, 6),
                backend=self.name,
                isolation=self.isolation,
                cpu_s=reply.get("cpu_s"),
                instructions=reply.get("instructions"),
                compile=compiled,
            )
        except ValidationError as exc:
            problems = _problems(exc)
            raise InfrastructureError(f"sandbox supervisor sent a malformed reply: {problems}") from None

    def _lost_twice(self, job: wire.Job, why: str) -> wire.Reply:
        """The reply for a job whose worker was lost on both tries: every test ``crashed``.

        A run that keeps killing its worker is the likeliest cause, and one sample must never
        cost a batch its other verdicts; a worker that cannot be started again raises
        ``SandboxUnavailable`` from ``_launch`` instead."""
        crashed = {"status": "crashed", "detail": f"the run's sandbox worker was lost twice: {why}"}
        return {
            "results": [crashed for _ in job["tests"]],
            "stdout": "",
            "stderr": "",
            "stdout_truncated": False,
            "stderr_truncated": False,
        }

    def _dispatch(self, job: wire.Job, timeout: float) -> wire.Reply | wire.Failure:
        for attempt in (1, 2):
            worker = self._take()
            try:
                reply = worker.request(job, timeout)
            except WorkerLost as exc:
                tail = worker.stderr_tail()
                worker.stop()
                worker.lost = True
                self._replace(self._all.index(worker))
                if attempt == 2:
                    log.warning("sandbox worker lost twice on one run: %s\n%s", exc, tail)
                    return self._lost_twice(job, str(exc))
                continue
            self._idle.put(worker)
            return reply
        raise AssertionError("unreachable")

    def _take(self) -> Worker:
        """An idle, live worker. A slot whose worker was lost and could not be replaced then is
        started again first: ``SandboxUnavailable`` at once if it still cannot be."""
        while True:
            worker = self._idle.get()
            if not worker.lost:
                return worker
            self._replace(self._all.index(worker))

    def _replace(self, slot: int) -> None:
        """Start a fresh worker in ``slot``, whose worker is lost, and make it idle. If it cannot
        start, the lost one goes back to the idle queue before ``SandboxUnavailable`` propagates,
        so no later run waits for a worker that will never come back."""
        try:
            self._all[slot] = self._launch(slot)
        finally:
            self._idle.put(self._all[slot])
