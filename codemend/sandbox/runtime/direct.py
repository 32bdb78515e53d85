"""Direct sessions: assert tests the supervisor checks itself, with no harness process.

A test the host took apart (``wire.DirectCall``, made by ``codemend.sandbox.calls``) is one call
of the entry point with literal arguments, compared by ``==`` with a literal. For a session whose
tests are all such (no setup code, untraced, uncounted), the supervisor plays the harness's part
itself: the candidate starts as for any session (the spare, or one spawned), gets the same
frames the harness would send (the same call, the same sequence numbers, the same write-back
indexes), and the supervisor compares the plain data it returns with the expected value and
builds the verdict the harness would have built (``harness.verdict``), timing each call from
the moment it is sent, as the harness's START would. No test code runs here: the host parsed it,
and what crosses is data. Saving the harness's fork, start and exit is most of a short run's
CPU time.

Whatever the harness would do differently is left to it: an entry point that is a class (its
calls run inside the candidate), a reply larger than ``FRAME_LIMIT`` (decoded here, in a process
with no memory limit of its own), a malformed first frame or write-back list, a comparison that
raises. The session then ends there (``Fallback``), its candidate is killed, and the tests it has
not decided run in harness sessions. Standard library only; runs inside the sandbox.
"""

import json
import os
import select
import time
from typing import TYPE_CHECKING, Any, cast

if __package__:
    from codemend.sandbox.runtime import harness, procs, wire
else:  # inside the sandbox
    import harness  # type: ignore[import-not-found, no-redef]
    import procs  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]

if TYPE_CHECKING:
    from codemend.sandbox.runtime.supervisor import Session, Supervisor

FRAME_LIMIT = 4 << 20  # bytes of a reply decoded here; a larger one goes to the harness


class Fallback(Exception):
    """The harness would not behave as this session does: the tests left need it."""


def eligible(sup: "Supervisor", job: wire.Job, pending: list[int]) -> bool:
    """Whether the supervisor can check ``pending`` itself: each a ``DirectCall``, no setup code,
    the job neither traced nor counted."""
    tests = job["tests"]
    return (
        sup.tracing is None
        and not sup.counted
        and not job.get("setup")
        and bool(job.get("entry_point"))
        and all("call" in tests[i] for i in pending)
    )


def run(s: "Session", job: wire.Job, out: procs.Capture, err: procs.Capture) -> bool:
    """Run the session's tests against its candidate (started by the caller, ``s.chan`` the
    supervisor's end of its channel) until all are decided, the candidate dies or a test
    overruns its time; False when the session fell back (``Fallback``): the tests it has not
    decided need the harness."""
    channel = _Channel(s, out, err)
    try:
        _serve(s, job, channel)
    except Fallback:
        s.current = None  # undecided: neither a timeout nor a crash
        s.abandoned = True
        return False
    return True


def _serve(s: "Session", job: wire.Job, channel: "_Channel") -> None:
    try:
        ready = channel.frame()
    except (OSError, wire.FrameError):  # the harness would die of it, deciding nothing
        raise Fallback from None
    if ready is None:
        return  # the deadline passed while the solution loaded
    now = time.monotonic()
    loaded = _loaded(ready, job)
    if loaded is not None:  # it did not load: every test says why, as the harness's would
        for i in s.pending:
            s.results[i] = {**loaded, "duration_s": round(now - s.started, 6)}
        return
    tests, entry = job["tests"], str(job["entry_point"])
    for seq, i in enumerate(s.pending, start=1):  # the harness's sequence numbers
        now = time.monotonic()
        first = all(s.results[j] is None for j in s.pending)
        s.current = i
        s.restart_clock(now)
        s.phases.mark("harness and candidate start" if first else "between tests", now)
        call = cast(wire.AssertSpec, tests[i])["call"]  # ``eligible``: each has one
        outcome = channel.call([wire.CALL, seq, entry, call["args"], call["kwargs"], call["mutable"]])
        if outcome is None:
            return  # timed out
        verdict, dead = _verdict(outcome, seq, call)
        now = time.monotonic()
        s.results[i] = {**verdict, "duration_s": round(now - s.started, 6)}
        s.current, s.deadline = None, now + s.limit
        s.phases.mark("tests (proxy round trips included)", now)
        if dead:
            return


def _loaded(ready: object, job: wire.Job) -> dict | None:
    """None when the candidate is ready for calls; else the verdict every test gets."""
    if ready == []:  # the harness would die reading its kind
        raise Fallback
    if not (isinstance(ready, list) and ready[0] in (wire.READY, wire.IMPORT_ERROR)):
        return harness.verdict("crashed", detail="the candidate process exited while loading")
    try:
        if ready[0] == wire.IMPORT_ERROR:
            info: list[Any] = [str(x) for x in ready[1:4]] + [bool(ready[4])]
            return harness.exception_verdict("error", info, detail="the solution raised while loading")
        classes = set(ready[2]) if len(ready) > 2 and isinstance(ready[2], list) else set()
        iter(ready[1])  # the harness reads the names: it would die of a frame without them
    except Exception:
        raise Fallback from None
    if job["entry_point"] in classes:  # its calls run inside the candidate
        raise Fallback
    return None


def _verdict(reply: object, seq: int, call: wire.DirectCall) -> tuple[dict, bool]:
    """The verdict of one call's reply, as ``harness.Proxies.call`` and ``run_test`` make it, and
    whether the candidate is gone (the session ends)."""
    shown = call["shown"]
    if isinstance(reply, _Gone):
        return _crashed(shown, reply.why), True
    if reply is wire.EOF:
        return _crashed(shown, "exited during the call"), True
    if not (isinstance(reply, list) and len(reply) >= 2 and reply[1] == seq):
        return _crashed(shown, "sent a malformed reply"), True
    kind = reply[0]
    if kind == wire.OK and len(reply) == 4:
        after = reply[3]
        if type(after) is not list or not all(type(p) is list and len(p) == 2 for p in after):
            raise Fallback  # the harness's write-back would raise in the test
        result = reply[2]
        try:
            expected = wire.decode(json.dumps(call["expected"]).encode(), plain=True)
            passed = bool(expected == result) if call["swap"] else bool(result == expected)
        except Exception:
            raise Fallback from None
        if passed:
            return harness.verdict("passed"), False
        fields = {"assertion": call["assertion"], "expected": call["expected_shown"]}
        return harness.verdict("failed", call=shown, **fields, actual=harness.short(result)), False
    if kind == wire.EXC and len(reply) == 6:
        info: list[Any] = [str(x) if i < 3 else bool(x) for i, x in enumerate(reply[2:])]
        if not info[3] and info[0] == "AssertionError":  # raised in the test, caught as a failed assert
            return harness.verdict("failed", call=shown, exc_message=info[1][:300]), False
        return harness.exception_verdict("error", info, call=shown), False
    if kind == wire.UNPLAIN and len(reply) == 3:
        actual = f"<a {reply[2]} object: only plain data can be checked>"
        return harness.verdict("failed", call=shown, actual=actual), False
    return _crashed(shown, "sent an unknown reply"), True


def _crashed(shown: str, why: str) -> dict:
    return harness.verdict("crashed", call=shown, detail=f"the candidate process {why}")


class _Gone:
    """The call could not be made or its reply read: ``why``, as the harness says it."""

    def __init__(self, why: str) -> None:
        self.why = why


class _Channel:
    """The supervisor's end of the candidate's channel, non-blocking: frames sent and read
    within the session's deadline, the candidate's output drained meanwhile."""

    def __init__(self, s: "Session", out: procs.Capture, err: procs.Capture) -> None:
        assert s.chan is not None
        self.s, self.out, self.err = s, out, err
        self.fd = s.chan.fileno()
        os.set_blocking(self.fd, False)
        self.buf = bytearray()
        self.eof = False
        self.watch = {s.out_r, s.err_r, s.c_fd}

    def call(self, msg: list) -> object:
        """Send ``msg``, read the reply: a frame, ``wire.EOF``, ``_Gone``, or None when the
        deadline passed (``s.timed_out``)."""
        try:
            data = memoryview(wire.frame(msg))
            while data:
                try:
                    data = data[os.write(self.fd, data) :]
                except BlockingIOError:
                    if not self._wait(writing=True):
                        return None
        except (OSError, wire.FrameError) as exc:
            return _Gone(f"broke the protocol: {exc}")
        try:
            return self.frame()
        except (OSError, wire.FrameError) as exc:
            return _Gone(f"broke the protocol: {exc}")

    def frame(self) -> object:
        """The next frame (decoded as plain values), ``wire.EOF``, or None when the deadline
        passed; ``FrameError`` as ``wire.recv_frame`` raises it; ``Fallback`` past ``FRAME_LIMIT``."""
        while True:
            if len(self.buf) >= 4:
                size = wire.frame_size(bytes(self.buf[:4]))
                if size > wire.MAX_FRAME:
                    raise wire.FrameError(f"frame of {size} bytes exceeds {wire.MAX_FRAME}")
                if size > FRAME_LIMIT:
                    raise Fallback
                if len(self.buf) >= 4 + size:
                    body = bytes(self.buf[4 : 4 + size])
                    del self.buf[: 4 + size]
                    return wire.decode(body, plain=True)
            if self.eof:
                if len(self.buf) < 4:  # as ``recv_frame``: a header cut short is the end
                    return wire.EOF
                raise wire.FrameError("stream ended inside a frame")
            if not self._wait(writing=False):
                return None

    def _wait(self, *, writing: bool) -> bool:
        """Wait until the channel can be written (or read), relaying output and noting the
        candidate's end meanwhile; False once the deadline passed."""
        s = self.s
        while True:
            remaining = s.deadline - time.monotonic()
            if remaining <= 0:
                s.timed_out = True
                return False
            reads = [*self.watch] + ([] if writing else [self.fd])
            readable, writable, _ = select.select(reads, [self.fd] if writing else [], [], remaining)
            for fd in readable:
                if fd in (s.out_r, s.err_r):
                    chunk = os.read(fd, 1 << 16)
                    (self.out if fd == s.out_r else self.err).feed(chunk) if chunk else self.watch.discard(fd)
                elif fd == s.c_fd:
                    s.c_died = True
                    self.watch.discard(fd)
            if writing and writable:
                return True
            if not writing and self.fd in readable:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if chunk:
                    self.buf += chunk
                else:
                    self.eof = True
                return True
