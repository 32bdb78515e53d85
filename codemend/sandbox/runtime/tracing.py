"""The supervisor's side of a traced job (``job["trace"]``): a pipe per candidate process on
its fd 4, read into one bounded capture, passed back in the reply as plain text.

The supervisor never parses what comes on it: it is the candidate's own output (the tracer in
``tracer.py`` writes it, and so may the candidate), so it only travels back, cut to
``TRACE_BYTES``, and never touches a verdict. Standard library only; runs inside the sandbox.
"""

import contextlib
import fcntl
import os

if __package__:
    from codemend.sandbox.runtime import procs, wire
else:  # inside the sandbox
    import procs  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]

TRACE_BYTES = 256 * 1024
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class Sink:
    """The trace capture of one job: each candidate process gets a fresh pipe as its fd 4, made
    as large as the capture (so writing the trace never waits for a reader), and what is in it is
    taken once the run's processes are gone."""

    def __init__(self, options: dict) -> None:
        self.options = options
        self.capture = procs.Capture(TRACE_BYTES)
        self.read_fd = self.write_fd = -1

    def open(self) -> int:
        """A fresh pipe for the next candidate process: the write end, to hand it as its fd 4."""
        self.collect()
        self.read_fd, self.write_fd = os.pipe()
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: the default size
            fcntl.fcntl(self.write_fd, F_SETPIPE_SZ, TRACE_BYTES)
        return self.write_fd

    def handed(self) -> None:
        """The candidate process has its copy of the write end: close ours."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def collect(self) -> None:
        """Take what is in the pipe (its writers are gone) and close it."""
        self.handed()
        if self.read_fd >= 0:
            self.capture.drain(self.read_fd)
            os.close(self.read_fd)
            self.read_fd = -1

    def reply(self) -> dict:
        """The reply's trace fields (``wire.Reply``)."""
        self.collect()
        return {"trace": self.capture.text(), "trace_truncated": self.capture.truncated}


def sink(job: wire.Job) -> Sink | None:
    """A sink when ``job`` asks for a trace."""
    options = job.get("trace")
    return Sink(options) if isinstance(options, dict) else None


def with_end(sink: Sink | None, mode: str, fds: list[int]) -> list[int]:
    """A Python candidate's fds, with a trace pipe's write end as its fd 4 in a traced job."""
    if sink is None or mode not in (wire.SERVE, wire.PROGRAM):
        return fds
    return [*fds, sink.open()]


def handed(sink: Sink | None) -> None:
    """After a spawn: close the supervisor's copy of the write end."""
    if sink is not None:
        sink.handed()


def collect(sink: Sink | None) -> None:
    """After a run's processes were swept: take what they wrote."""
    if sink is not None:
        sink.collect()


def code_frame(job: wire.Job, sink: Sink | None) -> object:
    """What the candidate is sent first: its code, with the tracer's options when traced."""
    if sink is None:
        return job["code"]
    return {"code": job["code"], "trace": sink.options}
