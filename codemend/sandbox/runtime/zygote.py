"""The zygote: forks candidate processes on the supervisor's request and reports how each ended.

Forked by the supervisor before any job is read, so a candidate's memory never holds test data.
Per request it answers with the child's pid and a pidfd; when the child ends, with its wait
status (for a contained one, the status its init reported for the candidate), the CPU time of
its process tree from ``wait4``, and for a counted one valgrind's instruction count, read here
from valgrind's own log (``counting``). Standard library only; runs inside the sandbox.
"""

import functools
import gc
import json
import os
import select
import socket
import sys
from typing import Any

if __package__:
    from codemend.sandbox.runtime import candidate, counting, procs, wire
else:  # inside the sandbox
    import candidate  # type: ignore[import-not-found, no-redef]
    import counting  # type: ignore[import-not-found, no-redef]
    import procs  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]

COUNTED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "counted.py")


class Child:
    """A candidate process: its pid, its init's report pipe (contained), valgrind's log (counted)."""

    def __init__(self, pid: int, report: int | None, log_fd: int | None) -> None:
        self.pid, self.report, self.log_fd = pid, report, log_fd
        self.log = counting.Log()

    def read_log(self) -> bool:
        """Take what valgrind wrote; False at the end of its log."""
        assert self.log_fd is not None
        chunk = os.read(self.log_fd, 1 << 16)
        self.log.feed(chunk)
        return bool(chunk)

    def ended(self) -> list[Any]:
        """Reap the child: the EXITED frame (see ``wire``)."""
        _, status, usage = os.wait4(self.pid, 0)  # usage: the child's tree, reaped children included
        cpu = round(usage.ru_utime + usage.ru_stime, 6)
        if self.report is not None:
            os.set_blocking(self.report, False)
            try:
                data = os.read(self.report, 4)
                status = int.from_bytes(data, "little") if len(data) == 4 else status
            except OSError:
                pass
            os.close(self.report)
        count: int | None = None
        error: str | None = None
        if self.log_fd is not None:
            procs.drain(self.log_fd, self.log.feed)  # valgrind is gone: nothing else holds the other end
            os.close(self.log_fd)
            exited = os.WIFEXITED(status)  # a signal (a kill included) leaves no count
            if not self.log.started() and exited:
                error = f"valgrind did not start the candidate: {self.log.text() or procs.describe(status)}"
            count = self.log.count() if exited else None
        return [wire.EXITED, self.pid, status, cpu, count, error]


def zygote(sock: socket.socket, valgrind: str | None) -> None:
    """Serve spawn requests on ``sock`` until it closes; ``valgrind`` runs counted candidates."""
    # What this process holds now, every candidate inherits: frozen, the collector of a candidate
    # never walks it, so a candidate copies none of those pages for its garbage collection.
    gc.freeze()
    children: dict[int, Child] = {}  # by pidfd
    logs: dict[int, Child] = {}  # by log fd, until valgrind's log ends
    while True:
        watched: list[Any] = [sock, *children, *logs]
        ready, _, _ = select.select(watched, [], [])
        for fd in ready:
            if fd is sock:
                msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
                if not msg:
                    os._exit(0)
                child = _spawn(json.loads(msg), fds, valgrind)
                pidfd = os.pidfd_open(child.pid)  # valid until this process reaps the child
                children[pidfd] = child
                if child.log_fd is not None:
                    logs[child.log_fd] = child
                socket.send_fds(sock, [json.dumps([wire.SPAWNED, child.pid]).encode()], [pidfd])
            elif fd in logs:
                if not logs[fd].read_log():
                    del logs[fd]
            elif fd in children:
                child = children.pop(fd)
                os.close(fd)
                if child.log_fd is not None:
                    logs.pop(child.log_fd, None)
                sock.send(json.dumps(child.ended()).encode())


def _spawn(req: wire.SpawnRequest, fds: list[int], valgrind: str | None) -> Child:
    """Start the candidate with ``fds`` as its 0-3 (a counted one gets valgrind's log as 4)."""
    log_fd = None
    if req.get("count"):
        ours, theirs = socket.socketpair()  # a socket: not reopenable through /proc/self/fd
        log_fd = ours.detach()
        fds = [*fds, theirs.detach()]
    report: int | None = None
    if req.get("contain"):
        report, report_w = os.pipe()
        start = functools.partial(_candidate, req, [*fds, report_w], valgrind)
        pid = procs.spawn_contained(req["uid"], start)
        os.close(report_w)
    else:
        pid = os.fork()
        if pid == 0:
            _candidate(req, fds, valgrind)
    for f in fds:
        os.close(f)
    return Child(pid, report, log_fd)


def _candidate(req: wire.SpawnRequest, fds: list[int], valgrind: str | None) -> None:
    """The candidate's process; contained, ``fds`` ends with its init's report pipe."""
    try:
        # The candidate holds no secret (the zygote never saw a test), so it may stay dumpable.
        contained, counted, limits = bool(req.get("contain")), bool(req.get("count")), req["limits"]
        procs.enter(fds, req["uid"], limits, req["cwd"], dumpable=True, nproc=not contained)
        if contained:
            nproc = limits["nproc"] if limits is not None else None  # None: a spare's, set with its job
            exe = req["mode"] == wire.EXEC
            procs.contain(nproc, req["cwd"], len(fds) - 1, single=counted, proc_self=exe)
        if counted and valgrind is not None:
            argv = counting.argv(valgrind, sys.executable, COUNTED, req["mode"])
            os.execve(argv[0], argv, counting.environment(dict(os.environ), req["cwd"]))
        if req["mode"] == wire.EXEC:
            _exec(req["argv"], req["cwd"])
        if req["mode"] == wire.SERVE:
            candidate.serve(procs.settle if limits is None else None)
        else:
            candidate.run_program()
    except BaseException:
        os._exit(70)
    os._exit(0)


def _exec(argv: list[str], cwd: str) -> None:
    """Become a toolchain's command (a compiler, a compiled program, a runtime). Its temporary
    files go to its own directory (the only writable one), and glibc keeps two malloc arenas, so
    a runtime's threads do not each reserve 64 MB of its address space."""
    env = {**os.environ, "TMPDIR": cwd, "MALLOC_ARENA_MAX": "2"}
    try:
        os.execve(argv[0], argv, env)
    except OSError as exc:
        os.write(2, f"cannot run {argv[0]}: {exc.strerror}\n".encode())
        os._exit(127)
