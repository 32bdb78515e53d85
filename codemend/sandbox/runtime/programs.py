"""Programs in other languages than Python: the supervisor compiles the code once per job, in
the same containment as any candidate (the candidate's uid, namespaces and rlimits, its own
time and memory limits), then runs the build for each I/O test (``io_tests``).

The compiler is untrusted work too: it runs the model's templates, macros and const code, so it
may loop, allocate or write without end. Its verdict is data (``wire.CompileVerdict``); its time
and CPU are never counted as the candidate's. The build directory is the compiler's only
writable place; afterwards it is handed to the harness's uid (read-only for the candidate's)
and, contained, every run sees it through a read-only mount anyway. Standard library only;
runs inside the sandbox.
"""

import contextlib
import os
import select
import time
from typing import TYPE_CHECKING

if __package__:
    from codemend.sandbox.runtime import procs, wire
else:  # inside the sandbox
    import procs  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]

if TYPE_CHECKING:
    from codemend.sandbox.runtime.supervisor import Supervisor

OUTPUT_LIMIT = 64 * 1024
SHOWN = 6000  # characters of compiler output a verdict keeps
_MEMORY = (
    "memory exhausted",
    "out of memory",
    "cannot allocate memory",
    "outofmemoryerror",
    "memory allocation of",
)


def fill(argv: list[str], build: str) -> list[str]:
    """``argv`` with the build directory in place of ``{dir}``."""
    return [arg.replace("{dir}", build) for arg in argv]


def build(sup: "Supervisor", job: wire.Job, tool: wire.Toolchain) -> tuple[wire.CompileVerdict, str]:
    """Write the code to a fresh build directory and compile it there: the verdict and the
    directory (the caller removes it once the tests have run)."""
    path = sup.make_dir()
    source = os.path.join(path, tool["source"])
    fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, job["code"].encode("utf-8", "surrogatepass"))
    finally:
        os.close(fd)
    if tool["compile"] is None:
        return {"status": "ok", "output": "", "duration_s": 0.0, "command": ""}, path
    cpu_before = sup.run_cpu
    verdict: wire.CompileVerdict = {**_compile(sup, job, tool, path), "command": " ".join(tool["compile"])}
    sup.run_cpu = cpu_before  # compiling is not the candidate's cost
    _seal(sup, path)
    return verdict, path


def _compile(sup: "Supervisor", job: wire.Job, tool: wire.Toolchain, path: str) -> wire.CompileVerdict:
    limits: wire.ProcessLimits = {
        **job["limits"],
        "memory_mb": tool["compile_memory_mb"],
        "fsize_mb": tool["compile_fsize_mb"],
        "cpu_s": tool["compile_time_s"],
    }
    null = os.open(os.devnull, os.O_RDWR)
    out_r, out_w = os.pipe()
    start = time.monotonic()
    pid, pidfd = sup.spawn(wire.EXEC, [null, out_w, out_w], limits, path, fill(tool["compile"] or [], path))
    os.close(out_w)
    os.close(null)
    output = procs.Capture(OUTPUT_LIMIT)
    finished = _relay(out_r, pidfd, output, start + tool["compile_time_s"])
    duration = round(time.monotonic() - start, 6)
    sup.cleanup([pidfd], [pid], None, 0.0)
    output.drain(out_r)
    os.close(out_r)
    os.close(pidfd)
    status = sup.exit_status(pid)
    text = output.text()
    shown = text if len(text) <= SHOWN else text[:SHOWN] + f"\n... [{len(text) - SHOWN} more characters]"
    verdict: wire.CompileVerdict = {"status": "ok", "output": shown, "duration_s": duration}
    if not finished:
        limit = tool["compile_time_s"]
        return {**verdict, "status": "timeout", "detail": f"compiling took longer than {limit:g} s"}
    if status is not None and os.WIFEXITED(status) and os.waitstatus_to_exitcode(status) == 0:
        return verdict
    if any(word in text.lower() for word in _MEMORY):
        return {
            **verdict,
            "status": "memory",
            "detail": f"the compiler ran out of memory ({procs.describe(status)})",
        }
    if status is not None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == 24:  # SIGXCPU
        return {**verdict, "status": "timeout", "detail": "the compiler used up its CPU time"}
    if status is not None and os.WIFEXITED(status):
        return {**verdict, "status": "error", "detail": f"the compiler {procs.describe(status)}"}
    return {**verdict, "status": "crashed", "detail": f"the compiler {procs.describe(status)}"}


def _relay(fd: int, pidfd: int, output: procs.Capture, deadline: float) -> bool:
    """Take the compiler's output until it exits; False if ``deadline`` came first."""
    watch = {fd, pidfd}
    while pidfd in watch:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        for ready in select.select(list(watch), [], [], remaining)[0]:
            if ready == pidfd:
                watch.discard(pidfd)
                continue
            chunk = os.read(fd, 1 << 16)
            output.feed(chunk) if chunk else watch.discard(fd)
    return True


def _seal(sup: "Supervisor", path: str) -> None:
    """The build, read-only for the candidate: owned by the harness's uid where the two differ
    (root), and without write permission for anyone."""
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            _seal_one(sup, os.path.join(root, name))
    _seal_one(sup, path)


def _seal_one(sup: "Supervisor", path: str) -> None:
    try:
        if sup.uids:
            os.chown(path, sup.uids[0], sup.uids[0], follow_symlinks=False)
        if not os.path.islink(path):
            mode = os.stat(path).st_mode
            runnable = os.path.isdir(path) or mode & 0o100
            os.chmod(path, 0o555 if runnable else 0o444)
    except OSError:
        pass


def unseal(path: str) -> None:
    """Make a sealed build removable again by its owner (an unprivileged worker runs as it)."""
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), 0o700)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)


def failed_test(verdict: wire.CompileVerdict) -> wire.Verdict:
    """The verdict of every test of a job whose code did not compile."""
    status = verdict["status"]
    detail = verdict.get("detail", "")
    if status in ("timeout", "memory"):
        return {"status": status, "detail": f"not run: {detail}"}
    first = next((line for line in verdict["output"].splitlines() if "error" in line.lower()), "")
    return {
        "status": "error",
        "exc_type": "CompileError",
        "exc_message": first[:1000] or detail,
        "detail": f"not run: the program does not compile ({detail})",
    }
