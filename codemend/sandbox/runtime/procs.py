"""Process plumbing for the supervisor: entering a role, limits, killing, the zygote.

Standard library only; runs inside the sandbox.
"""

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import select
import signal
import socket
from typing import Any

if __package__:
    from codemend.sandbox.runtime import candidate
else:  # inside the sandbox
    import candidate  # type: ignore[import-not-found, no-redef]

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
MAX_FD = 4096


def _prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


def vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap(res: int, value: int) -> None:
    """Set soft = hard = ``value``, never above the inherited hard limit."""
    _, hard = resource.getrlimit(res)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(res, (value, value))


def enter(fds: list[int], uid: int | None, limits: dict, cwd: str, *, dumpable: bool = False) -> None:
    """Become a sandboxed role in a freshly forked child: fds 0..n-1, own session, limits.

    A non-dumpable process cannot be traced or have its memory read by same-uid processes.
    """
    os.setsid()
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(len(fds), MAX_FD)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, int(dumpable))  # a uid change cleared it; set it either way
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _cap(resource.RLIMIT_AS, vm_size() + limits["memory_mb"] * 1024 * 1024)
    _cap(resource.RLIMIT_CPU, int(limits["cpu_s"]) + 1)
    _cap(resource.RLIMIT_FSIZE, limits["fsize_mb"] * 1024 * 1024)
    _cap(resource.RLIMIT_NOFILE, limits["nofile"])
    _cap(resource.RLIMIT_CORE, 0)
    if uid is not None:  # as root RLIMIT_NPROC is not enforced; per uid it is
        _cap(resource.RLIMIT_NPROC, limits["nproc"])
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": cwd})


def sweep(uids: list[int] | None, pgids: list[int]) -> None:
    """Leave no process of a finished run: SIGKILL every live process of the run's uids in
    this PID namespace (fork bombs and daemons included), or, without uids, the run's groups."""
    if uids is None:
        for pgid in pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        return
    for uid in _live(uids):
        pid = os.fork()
        if pid == 0:
            try:
                os.setuid(uid)
                for _ in range(10_000):  # a fork bomb may add processes while a pass runs
                    os.kill(-1, signal.SIGKILL)
                    if not _live([uid], os.getpid()):
                        break
            except BaseException:
                pass
            os._exit(0)
        os.waitpid(pid, 0)


def _live(uids: list[int], exclude: int = 0) -> set[int]:
    """Which of ``uids`` own a live process (zombies do not count), ``exclude`` aside."""
    wanted = {str(u) for u in uids}
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == exclude:
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except (OSError, ValueError):
            continue
        uid = fields.get("Uid", "").split()[:1]
        if uid and uid[0] in wanted and fields.get("State", "").split()[:1] != ["Z"]:
            found.add(int(uid[0]))
    return found


def describe(status: int | None) -> str:
    if status is None:
        return "ended in an unknown way"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        hint = {"SIGXCPU": " (CPU time limit)", "SIGSEGV": " (e.g. recursion too deep)"}.get(name, "")
        return f"was killed by {name}{hint}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def zygote(sock: socket.socket) -> None:
    """Fork candidate processes on request. Started before any job is read, so a candidate's
    memory never holds test data. Answers each request with the child's pid and a pidfd, and
    reports each child's exit status when it ends."""
    children: dict[int, int] = {}
    while True:
        watched: list[Any] = [sock, *children]
        ready, _, _ = select.select(watched, [], [])
        for fd in ready:
            if fd is sock:
                msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
                if not msg:
                    os._exit(0)
                req = json.loads(msg)
                pid = os.fork()
                if pid == 0:
                    _candidate(req, fds)
                for f in fds:
                    os.close(f)
                pidfd = os.pidfd_open(pid)  # valid until this process reaps the child
                children[pidfd] = pid
                socket.send_fds(sock, [json.dumps(["spawned", pid]).encode()], [pidfd])
            else:
                pid = children.pop(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                sock.send(json.dumps(["exited", pid, status]).encode())


def _candidate(req: dict, fds: list[int]) -> None:
    try:
        # The candidate holds no secret (the zygote never saw a test), so it may stay dumpable.
        enter(fds, req["uid"], req["limits"], req["cwd"], dumpable=True)
        if req["mode"] == "serve":
            candidate.serve()
        else:
            candidate.run_program()
    except BaseException:
        os._exit(70)
    os._exit(0)
