"""Pods: namespaces that outlive their candidates, one candidate at a time.

A contained candidate used to get user, mount and PID namespaces of its own, and an init in
them: a clone, the id maps, the mounts, a fork, and all of it torn down again, about 2.5 ms of
a core per candidate. An assertion session's candidate (``wire.in_pod``) now runs in a pod
instead: the zygote starts a pod once, as it started a candidate's namespaces (``procs.
spawn_contained``: the candidates' uid mapped onto itself), and the pod's init sets them up as
``procs.contain`` did (private mounts, only the pod's own directory writable, a /proc of the
pod's own, no capability, not dumpable). Then, per request, the init forks the candidate (its
fds, session, limits and rlimits as ``procs.enter`` sets them), answers with its pid and a
pidfd, and waits. When the candidate ends, the init kills and reaps whatever is left in the
namespace (``procs.end_namespace``), empties its directory, and only then reports the
candidate's wait status and the CPU time of its tree: the next candidate it forks finds no
process and no file of the one before, as a fresh namespace would. A directory it cannot empty
ends the pod (the zygote removes it from outside).

A pod runs one candidate at a time, so the spare candidate (``spares``) and the session's run in
two pods, which see neither each other's processes nor each other's directory. A pod killed from
outside (a sweep of the candidates' uid after a timeout) takes its candidate with it; the zygote
reports that candidate's end with the pod's status and starts pods again as they are needed.
Standard library only; runs inside the sandbox.
"""

import contextlib
import functools
import json
import os
import resource
import shutil
import signal
import socket
import stat
from typing import Any

if __package__:
    from codemend.sandbox.runtime import candidate, procs, wire
else:  # inside the sandbox
    import candidate  # type: ignore[import-not-found, no-redef]
    import procs  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]

_SOCKET = 3  # the pod init's end of its socket to the zygote
_STATM = 4  # its own /proc/self/statm, opened before its /proc is replaced


class Pod:
    """The zygote's handle on a pod: its init's pid and pidfd, the socket to it, its directory,
    and the candidate it runs (its pid in the zygote's namespace), if any."""

    def __init__(self, pid: int, pidfd: int, sock: socket.socket, path: str) -> None:
        self.pid, self.pidfd, self.sock, self.path = pid, pidfd, sock, path
        self.busy: int | None = None
        self.charged = 0.0  # CPU seconds reported for its candidates so far


def start(workdir: str, serial: int, uid: int | None) -> Pod:
    """Start a pod whose candidates run as ``uid`` (None: as this process) in a directory of its
    own under ``workdir``."""
    path = os.path.join(workdir, f"pod-{os.getpid():07d}-{serial:06d}")
    os.mkdir(path, 0o700)
    if uid is not None:
        os.chown(path, uid, uid)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        pid = procs.spawn_contained(uid, functools.partial(_init, theirs.fileno(), path, uid))
    except OSError:
        ours.close()
        shutil.rmtree(path, ignore_errors=True)
        raise
    finally:
        theirs.close()
    return Pod(pid, os.pidfd_open(pid), ours, path)


def spawn(pod: Pod, req: wire.SpawnRequest, fds: list[int]) -> tuple[int, int]:
    """Have ``pod`` fork a candidate for ``req`` with ``fds`` as its fds 0..n-1: its pid in this
    process's namespace and a pidfd. OSError: the pod is gone (the caller stops using it)."""
    socket.send_fds(pod.sock, [json.dumps(req).encode()], fds)
    data, pidfds, _, _ = socket.recv_fds(pod.sock, 1 << 10, 1)
    if not data or not pidfds:
        raise OSError("the pod did not start the candidate")
    pid = _pid_here(pidfds[0])
    if pid <= 0:  # ended already, before it read a byte: as if the pod had gone
        os.close(pidfds[0])
        raise OSError("the pod's candidate ended at once")
    pod.busy = pid
    return pid, pidfds[0]


def _pid_here(pidfd: int) -> int:
    """The pid, in this process's namespace, of the process ``pidfd`` refers to (-1 once it
    ended, 0 outside this namespace): its ``Pid`` in ``/proc/self/fdinfo``."""
    with open(f"/proc/self/fdinfo/{pidfd}") as info:
        for line in info:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    return 0


def reports(pod: Pod) -> list[list[Any]]:
    """What the pod said since it was last heard: the EXITED frame (see ``wire``) of the
    candidate it ran, once it has ended; nothing when the pod is gone (``gone`` then reports)."""
    frames = []
    while True:
        try:
            data = pod.sock.recv(1 << 10, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break
        if not data:
            break
        status, cpu = json.loads(data)
        pod.charged += cpu
        frames.append([wire.EXITED, pod.busy, status, cpu, None, None])
        pod.busy = None
    return frames


def gone(pod: Pod) -> list[list[Any]]:
    """Reap a pod that ended and remove its directory: the EXITED frames it had still to be
    heard for, and, for a candidate it ran when it ended, one with the pod's wait status and
    the CPU time not yet reported for its tree."""
    frames = reports(pod)
    _, status, usage = os.wait4(pod.pid, 0)
    if pod.busy is not None:
        cpu = max(0.0, usage.ru_utime + usage.ru_stime - pod.charged)
        frames.append([wire.EXITED, pod.busy, status, round(cpu, 6), None, None])
        pod.busy = None
    close(pod)
    return frames


def close(pod: Pod) -> None:
    """Let go of a pod (it sees its socket close and exits, or has) and remove its directory
    (what cannot be removed stays in the worker's own /tmp, which goes with the worker)."""
    pod.sock.close()
    os.close(pod.pidfd)
    with contextlib.suppress(RecursionError):
        shutil.rmtree(pod.path, ignore_errors=True)


# -- inside the pod ---------------------------------------------------------------------------


def _init(fd: int, path: str, uid: int | None) -> None:
    """The pod's init (PID 1 of its namespaces): set them up, then fork one candidate per
    request until the zygote closes the socket. Never returns."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        procs.enter([null, null, null, fd], uid, None, path)
        statm = os.open("/proc/self/statm", os.O_RDONLY)
        if statm != _STATM:
            os.dup2(statm, _STATM)
            os.close(statm)
        procs.enclose(path)
        # As PID 1 it gets no signal from its namespace that it does not handle: so none.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        sock = socket.socket(fileno=_SOCKET)
        while True:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
            if not data:
                os._exit(0)
            status, cpu = _run(json.loads(data), fds, path, sock)
            clean = _empty(path)
            sock.send(json.dumps([status, round(cpu, 6)]).encode())
            if not clean:
                os._exit(0)
    except BaseException:
        os._exit(70)


def _run(req: wire.SpawnRequest, fds: list[int], path: str, sock: socket.socket) -> tuple[int, float]:
    """Fork the candidate, send the zygote its pid and pidfd, wait until it ended and nothing
    else is left in the namespace: its wait status and the CPU time of its tree."""
    base = int(os.pread(_STATM, 256, 0).split()[0]) * os.sysconf("SC_PAGE_SIZE")  # the child's, at the fork
    before = _children_cpu()
    pid = os.fork()
    if pid == 0:
        _candidate(req, fds, path, base)
    for f in fds:
        os.close(f)
    pidfd = os.pidfd_open(pid)
    socket.send_fds(sock, [json.dumps([pid]).encode()], [pidfd])
    os.close(pidfd)
    while True:
        try:
            ended, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        if ended == pid:
            break
    procs.end_namespace()
    return status, _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _candidate(req: wire.SpawnRequest, fds: list[int], path: str, base: int) -> None:
    """The candidate, forked by the pod's init: its role (``procs.enter``), RLIMIT_NPROC counted
    in the pod's user namespace, then serving the harness (a spare: limits with its code)."""
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        limits = req["limits"]
        procs.enter(fds, None, limits, path, dumpable=True, nproc=False, base=base)
        if limits is not None:
            procs.limit_processes(limits["nproc"])
        candidate.serve(functools.partial(procs.settle, base=base) if limits is None else None)
    except BaseException:
        os._exit(70)
    os._exit(0)


def _empty(path: str) -> bool:
    """Remove everything in ``path`` (the candidate's directory: it may have taken the write or
    search permission off what it made, all of it its own); whether ``path`` is empty after."""
    try:
        for _ in range(3):
            os.chmod(path, 0o700)  # the candidate may have taken its own directory's permissions
            entries = os.listdir(path)
            if not entries:
                return True
            for name in entries:
                full = os.path.join(path, name)
                with contextlib.suppress(OSError):
                    if stat.S_ISDIR(os.lstat(full).st_mode):
                        shutil.rmtree(full, onerror=_writable)
                    else:
                        os.unlink(full)
        return not os.listdir(path)
    except (OSError, RecursionError):  # a tree deeper than ``rmtree`` walks: the pod ends
        return False


def _writable(func: Any, path: str, _exc: Any) -> None:
    """``rmtree``'s error handler: give the owner back its permissions, then try again."""
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(path), 0o700)
        if stat.S_ISDIR(os.lstat(path).st_mode):
            os.chmod(path, 0o700)
            shutil.rmtree(path, onerror=_gave_up)
        else:
            func(path)


def _gave_up(*_: Any) -> None:
    """A second failure: ``_empty`` sees what is left and the pod ends."""
