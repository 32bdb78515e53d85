"""I/O tests, run by the supervisor: the candidate as a program on the test's stdin, its output
compared here, never in a process that ran candidate or test code.

The candidate comes from the zygote like any other; the supervisor lends its run directories,
its spawning and its sweep. Standard library only; runs inside the sandbox.
"""

import contextlib
import os
import select
import socket
import time
from typing import TYPE_CHECKING

if __package__:
    from codemend.sandbox.runtime import procs, values, wire
else:  # inside the sandbox
    import procs  # type: ignore[import-not-found, no-redef]
    import values  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]

if TYPE_CHECKING:
    from codemend.sandbox.runtime.supervisor import Supervisor


class Program:
    """A candidate running an I/O test: its process, its pipes, its report channel."""

    def __init__(
        self, path: str, c_pid: int, c_fd: int, s_end: socket.socket | None, out_r: int, err_r: int
    ) -> None:
        self.path, self.c_pid, self.c_fd, self.s_end = path, c_pid, c_fd, s_end
        self.out_r, self.err_r = out_r, err_r


def run(
    sup: "Supervisor", job: wire.Job, test: wire.IOSpec, err: procs.Capture, argv: list[str] | None = None
) -> wire.Verdict:
    """The verdict on ``test``; what the program writes to stderr goes to ``err``. ``argv``: a
    built program in another language (``programs``), run as that command with no channel, so
    how it ended is its wait status alone; otherwise the Python candidate runs the job's code."""
    limit = wire.time_limit(job)
    expected = test["expected_stdout"]
    out = procs.Capture(max(job["output_limit"], 2 * len(expected) + 4096))
    program = _start(sup, job, test, argv)
    kept = len(err.data)  # where this test's stderr starts in what ``err`` keeps
    start = time.monotonic()
    if program.s_end is not None:
        with contextlib.suppress(OSError):
            wire.send_frame(program.s_end.fileno(), sup.first_frame(job))
    exited = _relay(program, out, err, start + limit)
    duration = round(time.monotonic() - start, 6)
    outcome, status = _settle(sup, program, out, err)
    base = {"expected": _clip(expected), "actual": _clip(out.text()), "duration_s": duration}
    if "call" in test:
        base["call"] = _clip(test["call"])
    if not exited:
        return {**base, "status": "timeout", "detail": f"no exit within {limit:g} s of wall-clock time"}
    verdict = _verdict(outcome, status, out, expected, test.get("result_type"))
    if argv is not None and verdict["status"] in ("error", "crashed"):  # no traceback: its stderr
        verdict["traceback"] = _clip(err.data[kept:].decode("utf-8", "replace"))
    return {**base, **verdict}


def _start(sup: "Supervisor", job: wire.Job, test: wire.IOSpec, argv: list[str] | None) -> Program:
    """Spawn the candidate as a program, ``test``'s input on its stdin."""
    path = sup.make_dir()
    stdin = os.memfd_create("stdin")
    os.write(stdin, test["stdin"].encode())
    os.lseek(stdin, 0, os.SEEK_SET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    limits = sup.candidate_limits(job, 0)
    if argv is not None:
        limits = {**limits, "memory_mb": job["toolchain"]["memory_mb"]}
        c_pid, c_fd = sup.spawn(wire.EXEC, [stdin, out_w, err_w], limits, path, argv)
        s_end = None
    else:
        s_end, c_end = socket.socketpair()
        c_pid, c_fd = sup.spawn(wire.PROGRAM, [stdin, out_w, err_w, c_end.fileno()], limits, path)
        c_end.close()
    for fd in (stdin, out_w, err_w):
        os.close(fd)
    return Program(path, c_pid, c_fd, s_end, out_r, err_r)


def _relay(program: Program, out: procs.Capture, err: procs.Capture, deadline: float) -> bool:
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


def _settle(
    sup: "Supervisor", program: Program, out: procs.Capture, err: procs.Capture
) -> tuple[object, int | None]:
    """End the program's processes; its report (or ``EOF``) and its wait status."""
    p = program
    sup.cleanup([p.c_fd], [p.c_pid], p.path, 0.0)
    outcome: object = wire.EOF
    if p.s_end is not None:
        p.s_end.setblocking(False)
        try:
            outcome = wire.recv_frame(p.s_end.fileno(), limit=1 << 20)
        except (OSError, wire.FrameError):
            outcome = wire.EOF
        p.s_end.close()
    for fd in (p.out_r, p.err_r):
        (out if fd == p.out_r else err).drain(fd)
        os.close(fd)
    os.close(p.c_fd)
    return outcome, sup.exit_status(p.c_pid)


def _verdict(
    outcome: object, status: int | None, out: procs.Capture, expected: str, kind: str | None = None
) -> wire.Verdict:
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
    if kind is not None:
        return _call_verdict(bytes(out.data), expected, kind)
    passed = _normalise(out.text()) == _normalise(expected)
    return {"status": "passed" if passed else "failed"}


def _call_verdict(data: bytes, expected: str, kind: str) -> wire.Verdict:
    """A driver's output against a call test's expected value, both decoded by the result type
    here, never in the candidate's process; output that does not decode fails."""
    want = values.decode(expected.encode(), kind)
    try:
        got = values.decode(data, kind)
    except values.Malformed as exc:
        detail = f"the driver's output is not a {kind}: {exc}"
        return {"status": "failed", "expected": _clip(values.shown(want)), "detail": detail}
    passed = values.same(got, want, kind)
    verdict = {"status": "passed" if passed else "failed", "expected": _clip(values.shown(want))}
    return {**verdict, "actual": _clip(values.shown(got))}


def _normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"
