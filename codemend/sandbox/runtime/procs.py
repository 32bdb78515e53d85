"""Process plumbing for the supervisor and the zygote: entering a role, limits, namespaces,
killing, and capturing what the run's processes write.

Standard library only; runs inside the sandbox.
"""

import contextlib
import ctypes
import fcntl
import os
import resource
import signal
from collections.abc import Callable
from typing import Any

if __package__:
    from codemend.sandbox.runtime import wire
else:  # inside the sandbox
    import wire  # type: ignore[import-not-found, no-redef]

_libc = ctypes.CDLL(None, use_errno=True)
_libc_gil = ctypes.PyDLL(None, use_errno=True)  # calls that keep the GIL (clone, as fork does)
_pyapi = ctypes.pythonapi
_SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220}
SYS_OPEN_TREE, SYS_MOVE_MOUNT = 428, 429  # the same number on every architecture
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC, MOVE_MOUNT_F_EMPTY_PATH = 1, 0o2000000, 4
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 1 << 12
MS_REC, MS_PRIVATE = 1 << 14, 1 << 18
_KEPT_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048 | 4096  # and the atime flags
_CAP_VERSION_3 = 0x20080522
MAX_FD = 4096
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


def set_dumpable(dumpable: bool) -> None:
    """A non-dumpable process's memory, fds, environment and ptrace are closed to same-uid processes."""
    _prctl(PR_SET_DUMPABLE, int(dumpable))


def default_signals() -> None:
    """Every signal as a Python started by a plain parent has it, whatever the host ignored or
    blocked (both survive fork and exec): its own SIGINT handler, SIGPIPE and SIGXFSZ ignored, the
    rest default, none blocked. A host that ignores SIGCHLD would otherwise have the kernel reap
    this worker's children before it waits for them, and a counted candidate, which valgrind
    starts afresh, would count a different start-up (Python reads the dispositions it inherits)."""
    kept = {signal.SIGPIPE, signal.SIGXFSZ}
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):
            if sig == signal.SIGINT:
                signal.signal(sig, signal.default_int_handler)
            elif sig not in kept and signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def vm_size() -> int:
    """This process's virtual memory size in bytes, from ``/proc/self/statm`` (a line of numbers,
    which the kernel writes several times faster than ``status``); 0 where ``/proc`` does not say."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        return int(os.read(fd, 256).split()[0]) * _PAGE
    finally:
        os.close(fd)


def _cap(res: int, value: int) -> None:
    """Set soft = hard = ``value``, never above the inherited hard limit."""
    _, hard = resource.getrlimit(res)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(res, (value, value))


def become(uid: int | None) -> None:
    """Drop to ``uid`` (its own gid, no supplementary groups); None: stay as this process is."""
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def enter(
    fds: list[int],
    uid: int | None,
    limits: wire.ProcessLimits | None,
    cwd: str,
    *,
    dumpable: bool = False,
    nproc: bool = True,
    base: int | None = None,
) -> None:
    """Become a sandboxed role in a freshly forked child: fds 0..n-1, own session, limits.

    A non-dumpable process cannot be traced or have its memory read by same-uid processes.
    ``nproc=False`` leaves RLIMIT_NPROC to ``contain`` (counted in the candidate's own user
    namespace there, so it does not depend on the user's other processes). ``limits`` None: a
    spare candidate, which sets them itself once its job is known (``settle``), before it runs
    any code of the job's. ``base``: the address space the limit is counted from (default: this
    process's present size, read from ``/proc``).
    """
    os.setsid()
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(len(fds), MAX_FD)
    become(uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, int(dumpable))  # a uid change cleared it; set it either way
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if limits is not None:
        limit(limits, nproc=uid is not None and nproc, base=base)  # as root RLIMIT_NPROC is not enforced
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": cwd})


def limit(limits: wire.ProcessLimits, *, nproc: bool, base: int | None = None) -> None:
    """Set the process's rlimits (address space: ``memory_mb`` above ``base``, by default its
    present size)."""
    _cap(resource.RLIMIT_AS, (vm_size() if base is None else base) + limits["memory_mb"] * 1024 * 1024)
    _cap(resource.RLIMIT_CPU, int(limits["cpu_s"]) + 1)
    _cap(resource.RLIMIT_FSIZE, limits["fsize_mb"] * 1024 * 1024)
    _cap(resource.RLIMIT_NOFILE, limits["nofile"])
    _cap(resource.RLIMIT_CORE, 0)
    if nproc:
        _cap(resource.RLIMIT_NPROC, limits["nproc"])


def limit_processes(nproc: int) -> None:
    """Set RLIMIT_NPROC (in a user namespace of the candidate's own: its processes alone)."""
    _cap(resource.RLIMIT_NPROC, nproc)


def settle(limits: object, base: int | None = None) -> None:
    """A contained spare candidate's limits, sent with its job's code: those ``enter`` and
    ``contain`` set on a candidate started for its job (RLIMIT_NPROC counted in its own user
    namespace; ``base`` as in ``limit``). Lowering a limit needs no privilege; what is not a
    limits dict ends the process."""
    if not (type(limits) is dict and all(type(limits.get(k)) in (int, float) for k in _LIMIT_KEYS)):
        os._exit(70)
    limit(limits, nproc=True, base=base)  # type: ignore[arg-type]


_LIMIT_KEYS = ("memory_mb", "cpu_s", "fsize_mb", "nofile", "nproc")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _clone(flags: int) -> int:
    """``os.fork()`` into new namespaces (``clone`` with ``flags``): 0 in the child.

    The raw system call with no new stack behaves as fork does; Python's own before- and
    after-fork steps run around it, with the GIL held throughout, as ``os.fork`` does."""
    number = _SYS_CLONE.get(os.uname().machine)
    if number is None:
        raise OSError(38, f"clone: no system call number for {os.uname().machine}")
    _pyapi.PyOS_BeforeFork()
    pid = _libc_gil.syscall(
        ctypes.c_long(number), ctypes.c_ulong(flags | signal.SIGCHLD), *[ctypes.c_long(0)] * 4
    )
    err = ctypes.get_errno()
    if pid == 0:
        _pyapi.PyOS_AfterFork_Child()
        return 0
    _pyapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone: {os.strerror(err)}")
    return int(pid)


def spawn_contained(uid: int | None, child: Any) -> int:
    """Start ``child()`` as PID 1 of new user, mount and PID namespaces, its uid (``uid``, or
    this process's own) mapped onto itself; the child runs only once the map is written."""
    r, w = os.pipe()
    set_dumpable(True)  # the child's /proc files, its id maps among them, are then ours to write
    pid = -1
    try:
        pid = _clone(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID)
    finally:
        if pid != 0:
            set_dumpable(False)
    if pid == 0:
        os.close(w)
        go = os.read(r, 1)
        os.close(r)
        if go != b"1":
            os._exit(70)
        child()
        os._exit(70)
    os.close(r)
    try:
        if os.geteuid() != 0:  # unprivileged, gid_map needs setgroups off (root drops groups)
            _write(f"/proc/{pid}/setgroups", "deny")
        outer_uid = os.getuid() if uid is None else uid
        outer_gid = os.getgid() if uid is None else uid
        _write(f"/proc/{pid}/uid_map", f"{outer_uid} {outer_uid} 1")
        _write(f"/proc/{pid}/gid_map", f"{outer_gid} {outer_gid} 1")
        os.write(w, b"1")
    except OSError:
        pass  # the child reads no go-ahead and exits
    finally:
        os.close(w)
    return pid


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


def _drop_capabilities() -> None:
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), (_CapData * 2)()), "capset")


def _read_only_but(cwd: str) -> None:
    """Only the run's own directory stays writable: the sandbox's root and /tmp (where the
    supervisor keeps its run directories) become read-only for the candidate."""
    here = cwd.encode()
    _check(_libc.mount(here, here, None, MS_BIND | MS_REC, None), f"bind {cwd}")
    for path in sorted({"/", "/tmp", os.path.dirname(cwd)}):
        if os.path.ismount(path):
            flags = os.statvfs(path).f_flag & _KEPT_FLAGS
            done = _libc.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, None)
            _check(done, f"remount {path} read-only")
    os.chdir(cwd)  # onto the writable bind, not the directory beneath it


_PROC_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC


def _make_private() -> None:
    """``mount --make-rprivate /``: what this mount namespace mounts from now on stays in it."""
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")


def _private_proc(cwd: str) -> bool:
    """/proc of the new PID namespace (only the candidate's own tree); False, with the old /proc
    left in place, where the kernel refuses a fresh procfs (bubblewrap's read-only covers under
    /proc as root): then ``_empty_proc``, or ``_fork_with_proc_self``."""
    _make_private()
    _read_only_but(cwd)
    if FRESH_PROC is False:
        return False
    return bool(_libc.mount(b"proc", b"/proc", b"proc", _PROC_FLAGS, None) == 0)


FRESH_PROC: bool | None = None
"""Whether candidates here can mount a procfs of their own (``probe_fresh_proc``, once per
worker): None, not known, each tries; False, none tries (as root under bubblewrap the kernel
refuses every one, and each refusal cost about a millisecond of the candidate's start)."""


def probe_fresh_proc(uid: int | None) -> bool:
    """Whether a contained child of ``uid`` may mount the procfs of its own PID namespace; True
    when the trial itself cannot run (each candidate then tries, as it would unprobed)."""

    def trial() -> None:
        try:
            become(uid)
            _make_private()
            os._exit(0 if _libc.mount(b"proc", b"/proc", b"proc", _PROC_FLAGS, None) == 0 else 1)
        except BaseException:
            os._exit(2)

    try:
        pid = spawn_contained(uid, trial)
    except OSError:
        return True
    _, status = os.waitpid(pid, 0)
    return not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1)


def enclose(cwd: str) -> None:
    """Set up a pod (``pods``), as PID 1 of its namespaces: its mounts private, only ``cwd``
    writable, a /proc of the namespace's own (or an empty one where none can be had), every
    capability dropped. What ``contain`` does for one candidate, for all the pod will run."""
    if not _private_proc(cwd):
        _empty_proc()
    _drop_capabilities()


def _empty_proc() -> None:
    _check(_libc.mount(b"tmpfs", b"/proc", b"tmpfs", _PROC_FLAGS, b"size=4k,mode=555"), "mount /proc")


def _fork_with_proc_self() -> int:
    """``os.fork()`` for a counted candidate where no fresh procfs can be had: valgrind needs
    ``/proc/self/maps``, so its /proc is an empty one holding ``self``, a bind of the child's
    own directory of the old /proc (nothing of any other process). Capabilities dropped in both."""
    pid_r, pid_w = os.pipe()
    go_r, go_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(pid_r)
        os.close(go_w)
        os.write(pid_w, os.readlink("/proc/self").encode())  # its pid in the old /proc's namespace
        os.close(pid_w)
        go = os.read(go_r, 1)
        os.close(go_r)
        if go != b"1":
            os._exit(70)
        _drop_capabilities()
        return 0
    os.close(pid_w)
    os.close(go_r)
    with os.fdopen(pid_r, "rb") as fh:
        outer = fh.read(32).decode()
    tree = _syscall(SYS_OPEN_TREE, -100, f"/proc/{outer}".encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
    _empty_proc()
    os.mkdir("/proc/self")
    _syscall(SYS_MOVE_MOUNT, tree, b"", -100, b"/proc/self", MOVE_MOUNT_F_EMPTY_PATH)
    os.close(tree)
    _drop_capabilities()
    os.write(go_w, b"1")
    os.close(go_w)
    return child


def _syscall(number: int, *args: int | bytes) -> int:
    result = int(_libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"system call {number}: {os.strerror(err)}")
    return result


def probe_containment(uid: int | None) -> str | None:
    """None when candidates of ``uid`` can be contained here, else why not (tried on a
    throwaway child: namespaces, the uid switch inside them, a private mount table)."""
    r, w = os.pipe()

    def trial() -> None:
        os.close(r)
        try:
            become(uid)
            _make_private()
            os._exit(0)
        except BaseException as exc:
            os.write(w, str(exc).encode()[:500])
            os._exit(1)

    try:
        pid = spawn_contained(uid, trial)
    except OSError as exc:
        os.close(r)
        os.close(w)
        return str(exc)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        why = fh.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    return None if status == 0 else why or f"the trial child {describe(status)}"


def probe_as(uid: int | None, check: Callable[[], str | None]) -> str | None:
    """``check()`` in a throwaway child running as ``uid`` (or as this process): what it returned,
    or why it could not run."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            become(uid)
            why = check()
            os.write(w, (why or "").encode()[:500])
            os._exit(0)
        except BaseException as exc:
            os.write(w, str(exc).encode()[:500])
            os._exit(1)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        said = fh.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if status == 0:
        return said or None
    return said or f"the trial child {describe(status)}"


def contain(
    nproc: int | None, cwd: str, report: int, *, single: bool = False, proc_self: bool = False
) -> None:
    """Finish containing a candidate started by ``spawn_contained``; returns in the candidate.

    This process is PID 1 of the candidate's namespaces: it mounts their /proc, drops every
    capability, forks the candidate and stays to reap orphans; when the candidate ends it
    writes its wait status to ``report`` and exits, and the kernel kills whatever is left in
    the namespace. The candidate sees no process but its own tree (``getppid()`` is this init,
    which ignores its signals; ``kill(-1)`` reaches its own tree only), holds no capability,
    and RLIMIT_NPROC counts the processes of its user namespace alone. ``single``: the candidate
    runs as one process (RLIMIT_NPROC 1 against the two of the namespace: fork and new threads
    fail), as a counted one must (a forked copy would count its parent's instructions again).
    ``proc_self``: where no fresh procfs can be had, the candidate still sees its own
    ``/proc/self`` (a toolchain's program finds its installation through ``/proc/self/exe``).
    """
    own_proc = _private_proc(cwd)
    if nproc is not None:  # None: a spare's, set with its job (``settle``)
        _cap(resource.RLIMIT_NPROC, nproc)
    if (single or proc_self) and not own_proc:
        child = _fork_with_proc_self()
    else:
        if not own_proc:
            _empty_proc()
        _drop_capabilities()
        child = os.fork()
    if child:
        set_dumpable(False)
        _reap(child, report)
    os.close(report)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if single:
        _cap(resource.RLIMIT_NPROC, 1)


def _reap(child: int, report: int) -> None:
    """PID 1 of the candidate's namespace: reap every orphan until the candidate ends, report
    how it ended, exit (the kernel then kills the rest of the namespace)."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == child:
            end_namespace()
            with contextlib.suppress(OSError):
                os.write(report, status.to_bytes(4, "little"))
            os._exit(0)


def end_namespace() -> None:
    """Kill what is left of the candidate's tree and reap it here, in PID 1: the kernel would
    reap it unaccounted once PID 1 exits, and reaped here its CPU time counts in this process's
    (and so in the candidate's measured) usage."""
    for _ in range(100_000):  # a fork bomb may add processes while a pass runs
        with contextlib.suppress(OSError):
            os.kill(-1, signal.SIGKILL)  # from PID 1: every other process of the namespace
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


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
    """How a process ended, in words, from its wait status (``was killed by SIGXCPU (CPU time
    limit)``, ``exited with status 1``)."""
    if status is None:
        return "ended in an unknown way"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        hint = {"SIGXCPU": " (CPU time limit)", "SIGSEGV": " (e.g. recursion too deep)"}.get(name, "")
        return f"was killed by {name}{hint}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def drain(fd: int, feed: Callable[[bytes], None]) -> None:
    """Hand ``feed`` what is left in ``fd`` once its writers are gone (without blocking)."""
    os.set_blocking(fd, False)
    try:
        while chunk := os.read(fd, 1 << 16):
            feed(chunk)
    except BlockingIOError:
        pass


class Capture:
    """Keeps the first ``limit`` bytes of a stream, counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data, self.total = limit, bytearray(), 0

    def feed(self, chunk: bytes) -> None:
        """Keep what fits in ``limit``; count all of it."""
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        """What was kept, decoded."""
        return self.data.decode("utf-8", "replace")

    @property
    def truncated(self) -> bool:
        """Whether more arrived than was kept."""
        return self.total > len(self.data)

    def drain(self, fd: int) -> None:
        """Take what is left in the pipe ``fd`` once its writers are gone."""
        drain(fd, self.feed)
