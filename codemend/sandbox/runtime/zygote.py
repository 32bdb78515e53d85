"""The zygote: forks candidate processes on the supervisor's request and reports how each ended.

Forked by the supervisor before any job is read, so a candidate's memory never holds test data.
Per request it answers with the child's pid and a pidfd; when the child ends, with its wait
status (for a contained one, the status its init reported for the candidate), the CPU time of
its process tree from ``wait4``, and for a counted one valgrind's instruction count, read here
from valgrind's own log (``counting``). An assertion session's contained candidate is forked
by one of its pods instead (``pods``, ``wire.in_pod``), which reports the same once nothing of
the candidate is left. Standard library only; runs inside the sandbox.
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
    from codemend.sandbox.runtime import candidate, counting, pods, procs, wire
else:  # inside the sandbox
    import candidate  # type: ignore[import-not-found, no-redef]
    import counting  # type: ignore[import-not-found, no-redef]
    import pods  # type: ignore[import-not-found, no-redef]
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


def zygote(sock: socket.socket, valgrind: str | None, workdir: str) -> None:
    """Serve spawn requests on ``sock`` until it closes; ``valgrind`` runs counted candidates,
    pods (``pods``) keep their directories under ``workdir``."""
    # What this process holds now, every candidate inherits: frozen, the collector of a candidate
    # never walks it, so a candidate copies none of those pages for its garbage collection.
    gc.freeze()
    children: dict[int, Child] = {}  # by pidfd
    logs: dict[int, Child] = {}  # by log fd, until valgrind's log ends
    pool = Pods(workdir)
    while True:
        watched: list[Any] = [sock, *children, *logs, *pool.watched()]
        ready, _, _ = select.select(watched, [], [])
        for fd in ready:
            if fd is sock:
                msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
                if not msg:
                    os._exit(0)
                req: wire.SpawnRequest = json.loads(msg)
                pooled = wire.in_pod(req["mode"], bool(req.get("contain")), bool(req.get("count")))
                if pooled:
                    pid, pidfd = pool.spawn(req, fds)
                else:
                    child = _spawn(req, fds, valgrind)
                    pid = child.pid
                    pidfd = os.pidfd_open(child.pid)  # valid until this process reaps the child
                    children[pidfd] = child
                    if child.log_fd is not None:
                        logs[child.log_fd] = child
                socket.send_fds(sock, [json.dumps([wire.SPAWNED, pid]).encode()], [pidfd])
                if pooled:
                    os.close(pidfd)  # the pod's init reports its end
            elif fd in logs:
                if not logs[fd].read_log():
                    del logs[fd]
            elif fd in children:
                child = children.pop(fd)
                os.close(fd)
                if child.log_fd is not None:
                    logs.pop(child.log_fd, None)
                sock.send(json.dumps(child.ended()).encode())
            else:
                for frame in pool.heard(fd):
                    sock.send(json.dumps(frame).encode())


class Pods:
    """The zygote's pods (``pods``): each runs one candidate at a time; a request goes to an
    idle one, or to a new one when none is idle."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.pods: list[pods.Pod] = []
        self.serial = 0

    def watched(self) -> list[Any]:
        """What to wait on: each pod's socket (its reports) and pidfd (its end)."""
        return [fd for pod in self.pods for fd in (pod.sock, pod.pidfd)]

    def spawn(self, req: wire.SpawnRequest, fds: list[int]) -> tuple[int, int]:
        """Start a candidate in an idle pod (a new one if none is): its pid and a pidfd. A pod
        found gone is dropped and another tried; OSError when no pod can be started (this
        process then ends, and the supervisor with it: the host replaces the worker)."""
        try:
            for _ in range(3):
                pod = next((p for p in self.pods if p.busy is None), None)
                if pod is None:
                    self.serial += 1
                    pod = pods.start(self.workdir, self.serial, req["uid"])
                    self.pods.append(pod)
                try:
                    return pods.spawn(pod, req, fds)
                except OSError:
                    self.pods.remove(pod)
                    os.kill(pod.pid, 9)
                    os.waitpid(pod.pid, 0)
                    pods.close(pod)
            raise OSError("no pod would start a candidate")
        finally:
            for f in fds:
                os.close(f)

    def heard(self, fd: Any) -> list[list[Any]]:
        """The EXITED frames from the pod whose socket or pidfd ``fd`` is (none if it is not one).
        A pidfd is a number: one a gone pod's, closed by a spawn earlier in the same round, may
        name a new pod's by now, so a pod counts as gone only while its pidfd says so."""
        for pod in self.pods:
            if fd is pod.sock:
                return pods.reports(pod)
            if fd == pod.pidfd:
                if not select.select([pod.pidfd], [], [], 0)[0]:
                    return []
                self.pods.remove(pod)
                return pods.gone(pod)
        return []


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
