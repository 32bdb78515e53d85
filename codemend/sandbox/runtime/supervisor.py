"""The sandbox worker's trusted core: one job at a time from the host, verdicts back.

It never executes candidate or test code. Per job it forks a harness process (test code,
uid A) and asks the zygote for candidate processes (model code, uid B), enforces per-test
wall-clock deadlines, drains and caps their output, kills every process of a finished run and
compares I/O-test output itself. Standard library only: run as ``python -I -S supervisor.py``.
"""

import contextlib
import json
import os
import select
import shutil
import socket
import sys
import time

if __package__:
    from codemend.sandbox.runtime import harness, procs, wire
else:  # inside the sandbox
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness  # type: ignore[import-not-found, no-redef]
    import procs  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]


class Capture:
    """Keeps the first ``limit`` bytes of a stream, counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data, self.total = limit, bytearray(), 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)


class ZygoteGone(Exception):
    """The process that forks candidates is gone: this worker can serve no more jobs."""


class Supervisor:
    def __init__(self, config: dict, zygote: socket.socket, contained: bool) -> None:
        self.uids: list[int] | None = config.get("uids")
        self.workdir: str = config["workdir"]
        self.zygote = zygote
        self.contained = contained
        self.exits: dict[int, int] = {}
        self.serial = 0

    # -- zygote ---------------------------------------------------------------------------
    def _zygote_msg(self) -> tuple[list, list[int]]:
        data, fds, _, _ = socket.recv_fds(self.zygote, 1 << 16, 1)
        msg = json.loads(data or b'["eof"]')
        if msg[0] == "exited":
            self.exits[msg[1]] = msg[2]
        elif msg[0] == "eof":
            raise ZygoteGone("the zygote is gone")
        return msg, fds

    def _spawn(self, mode: str, fds: list[int], limits: dict, cwd: str) -> tuple[int, int]:
        """A candidate process from the zygote: its pid and a pidfd that signals its exit."""
        uid = self.uids[1] if self.uids else None
        req = {"mode": mode, "uid": uid, "limits": limits, "cwd": cwd, "contain": self.contained}
        socket.send_fds(self.zygote, [json.dumps(req).encode()], fds)
        while True:
            msg, pidfds = self._zygote_msg()
            if msg[0] == "spawned":
                return int(msg[1]), pidfds[0]

    def _exit_status(self, pid: int, timeout: float = 5.0) -> int | None:
        end = time.monotonic() + timeout
        while pid not in self.exits and time.monotonic() < end:
            if select.select([self.zygote], [], [], max(0.0, end - time.monotonic()))[0]:
                self._zygote_msg()
        return self.exits.pop(pid, None)

    # -- per-run resources ----------------------------------------------------------------
    def _make_dir(self) -> str:
        self.serial += 1
        path = os.path.join(self.workdir, f"run-{os.getpid()}-{self.serial}")
        os.mkdir(path, 0o700)
        if self.uids:
            os.chown(path, self.uids[1], self.uids[1])
        return path

    def _cleanup(self, pidfds: list[int], pids: list[int], path: str | None, grace: float) -> None:
        """Give the run's processes ``grace`` seconds to end by themselves, then sweep."""
        end = time.monotonic() + grace
        waiting = list(pidfds)
        while waiting and (left := end - time.monotonic()) > 0:
            for fd in select.select(waiting, [], [], left)[0]:
                waiting.remove(fd)
        if waiting or not self.contained:  # a contained candidate's namespace dies with its init
            procs.sweep(self.uids, pids)
        if path:
            shutil.rmtree(path, ignore_errors=True)

    # -- jobs -----------------------------------------------------------------------------
    def run(self, job: dict) -> dict:
        tests = job["tests"]
        results: list[dict | None] = [None] * len(tests)
        out, err = Capture(job["output_limit"]), Capture(job["output_limit"])
        pending = [i for i, t in enumerate(tests) if t["kind"] == "assert"]
        while pending:
            self._assert_session(job, pending, results, out, err)
            left = [i for i in pending if results[i] is None]
            if len(left) == len(pending):  # no progress: nothing more can be learned
                for i in left:
                    results[i] = {"status": "crashed", "detail": "the run ended before this test"}
                break
            pending = left
        for i, test in enumerate(tests):
            if test["kind"] == "io":
                results[i] = self._io_test(job, test, err)
        return {
            "results": results,
            "stdout": out.text(),
            "stdout_truncated": out.truncated,
            "stderr": err.text(),
            "stderr_truncated": err.truncated,
        }

    def _limits(self, job: dict, tests: int) -> dict:
        return {**job["limits"], "cpu_s": job["time_limit_s"] * (tests + 1)}

    def _assert_session(
        self, job: dict, pending: list[int], results: list, out: Capture, err: Capture
    ) -> None:
        limit = job["time_limit_s"]
        path = self._make_dir()
        h_end, c_end = socket.socketpair()
        ctl_r, ctl_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDWR)
        limits = self._limits(job, len(pending))
        c_pid, c_fd = self._spawn("serve", [null, out_w, err_w, c_end.fileno()], limits, path)
        for fd in (out_w, err_w):
            os.close(fd)
        c_end.close()
        with contextlib.suppress(OSError):
            wire.send_frame(h_end.fileno(), job["code"])
        h_pid = os.fork()
        if h_pid == 0:
            try:
                uid = self.uids[0] if self.uids else None
                procs.enter([null, null, null, h_end.fileno(), ctl_w], uid, limits, "/")
                harness.main(job, pending)
            except BaseException:
                os._exit(70)
            os._exit(0)
        h_end.close()
        os.close(ctl_w)
        os.close(null)
        h_fd = os.pidfd_open(h_pid)
        watch = {ctl_r, out_r, err_r, h_fd, c_fd}
        buf = bytearray()
        current: int | None = None
        started = time.monotonic()
        deadline = started + limit
        timed_out = False
        c_died = False
        while h_fd in watch or ctl_r in watch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for fd in select.select(list(watch), [], [], remaining)[0]:
                if fd in (out_r, err_r):
                    chunk = os.read(fd, 1 << 16)
                    (out if fd == out_r else err).feed(chunk) if chunk else watch.discard(fd)
                elif fd == c_fd:
                    c_died = True
                    watch.discard(fd)
                elif fd == h_fd:
                    watch.discard(fd)
                elif fd == ctl_r:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        watch.discard(fd)
                        continue
                    buf += chunk
                    for msg in _frames(buf):
                        now = time.monotonic()
                        if msg[0] == "start":
                            current, started, deadline = msg[1], now, now + limit
                        elif msg[0] == "result" and msg[1] in pending and results[msg[1]] is None:
                            results[msg[1]] = {**msg[2], "duration_s": round(now - started, 6)}
                            current, deadline = None, now + limit
                        elif msg[0] == "done":
                            watch.discard(ctl_r)
        if timed_out:
            what = "this test" if current is not None else "loading the solution and the test setup"
            detail = f"no verdict within {limit:g} s of wall-clock time for {what}"
            for i in [current] if current is not None else pending:
                if results[i] is None:
                    results[i] = {"status": "timeout", "detail": detail, "duration_s": limit}
        elif current is not None and results[current] is None:
            results[current] = {"status": "crashed", "detail": "the test harness died during this test"}
        # Did the candidate end before the kill? Its channel closes a moment before its pidfd
        # turns readable, so when the harness saw it go, give that moment.
        mine = [results[i] for i in pending]
        vague = any(r is not None and r["status"] == "crashed" and _vague(r.get("detail")) for r in mine)
        c_died = c_died or bool(select.select([c_fd], [], [], 1.0 if vague else 0)[0])
        # After "done" the harness exits and the candidate sees its channel close.
        grace = 0.0 if timed_out else 0.5
        self._cleanup([c_fd, h_fd], [c_pid, h_pid], path, grace)
        os.waitpid(h_pid, 0)
        for fd in (out_r, err_r):  # what is left in the pipes after the kill
            _drain(fd, out if fd == out_r else err)
        for fd in (ctl_r, out_r, err_r, c_fd, h_fd):
            os.close(fd)
        status = self._exit_status(c_pid)
        if c_died:  # the harness only saw the channel close; say how the process ended
            why = f"the candidate process {procs.describe(status)}"
            for i in pending:
                r = results[i]
                if r is not None and r["status"] == "crashed" and _vague(r.get("detail")):
                    r["detail"] = why

    def _io_test(self, job: dict, test: dict, err: Capture) -> dict:
        limit = job["time_limit_s"]
        expected = test["expected_stdout"]
        out = Capture(max(job["output_limit"], 2 * len(expected) + 4096))
        path = self._make_dir()
        stdin = os.memfd_create("stdin")
        os.write(stdin, test["stdin"].encode())
        os.lseek(stdin, 0, os.SEEK_SET)
        s_end, c_end = socket.socketpair()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        c_pid, c_fd = self._spawn(
            "program", [stdin, out_w, err_w, c_end.fileno()], self._limits(job, 0), path
        )
        for fd in (stdin, out_w, err_w):
            os.close(fd)
        c_end.close()
        start = time.monotonic()
        with contextlib.suppress(OSError):
            wire.send_frame(s_end.fileno(), job["code"])
        watch = {out_r, err_r, c_fd}
        timed_out = False
        while watch:
            remaining = start + limit - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for fd in select.select(list(watch), [], [], remaining)[0]:
                if fd == c_fd:
                    watch.discard(fd)
                    continue
                chunk = os.read(fd, 1 << 16)
                (out if fd == out_r else err).feed(chunk) if chunk else watch.discard(fd)
        duration = round(time.monotonic() - start, 6)
        self._cleanup([c_fd], [c_pid], path, 0.0)
        s_end.setblocking(False)
        try:
            outcome = wire.recv_frame(s_end.fileno(), limit=1 << 20)
        except (OSError, wire.FrameError):
            outcome = wire.EOF
        s_end.close()
        for fd in (out_r, err_r):
            _drain(fd, out if fd == out_r else err)
            os.close(fd)
        os.close(c_fd)
        status = self._exit_status(c_pid)
        actual = out.text()
        base = {"expected": _clip(expected), "actual": _clip(actual), "duration_s": duration}
        if timed_out:
            return {**base, "status": "timeout", "detail": f"no exit within {limit:g} s of wall-clock time"}
        if isinstance(outcome, list) and outcome and outcome[0] == "exc":
            info = [str(x) for x in outcome[1:4]]
            kind = "memory" if info[0] == "MemoryError" else "error"
            return {**base, "status": kind, "exc_type": info[0], "exc_message": info[1], "traceback": info[2]}
        if isinstance(outcome, list) and outcome[:1] == ["exit"]:
            code = outcome[1]
        elif status is not None and os.WIFEXITED(status):  # e.g. os._exit(): no report, a status
            code = os.waitstatus_to_exitcode(status)
        else:
            return {**base, "status": "crashed", "detail": f"the program {procs.describe(status)}"}
        if code != 0:
            return {**base, "status": "error", "detail": f"the program exited with status {code}"}
        if out.truncated:
            return {**base, "status": "failed", "detail": "output exceeded the capture limit"}
        passed = _normalise(actual) == _normalise(expected)
        return {**base, "status": "passed" if passed else "failed"}


def _vague(detail: str | None) -> bool:
    return detail is None or detail.startswith(("the candidate process exited", "the test harness died"))


def _normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _drain(fd: int, capture: Capture) -> None:
    os.set_blocking(fd, False)
    try:
        while chunk := os.read(fd, 1 << 16):
            capture.feed(chunk)
    except BlockingIOError:
        pass


def _frames(buf: bytearray) -> list:
    """Pop the complete frames at the head of ``buf``."""
    found = []
    while len(buf) >= 4:
        size = int.from_bytes(buf[:4], "big")
        if len(buf) < 4 + size:
            break
        found.append(json.loads(bytes(buf[4 : 4 + size])))
        del buf[: 4 + size]
    return found


def main() -> None:
    config = json.loads(sys.argv[1])
    procs.set_dumpable(False)  # inherited by the zygote; the harness sets it again itself
    uids = config.get("uids")
    why_not = procs.probe_containment(uids[1] if uids else None) if config.get("contain", True) else "off"
    host_in, host_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if os.fork() == 0:  # the zygote: forked before any job exists in this memory
        parent.close()
        for fd in (host_in, host_out):
            os.close(fd)
        procs.zygote(child)
    child.close()
    supervisor = Supervisor(config, parent, contained=why_not is None)
    hello = {"hello": 1, "pid": os.getpid(), "uid_split": bool(uids), "contained": why_not is None}
    wire.send_frame(host_out, {**hello, "containment_error": why_not})
    while True:
        job = wire.recv_frame(host_in)
        if job is wire.EOF:
            break
        try:
            reply = supervisor.run(job)  # type: ignore[arg-type]
        except ZygoteGone:  # the host sees this worker's stream end, replaces it, and goes on
            os._exit(1)
        except Exception as exc:  # a bug here is infrastructure: say so, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        wire.send_frame(host_out, reply)


if __name__ == "__main__":
    main()
