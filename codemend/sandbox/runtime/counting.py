"""Counting a candidate's user-space instructions under valgrind, from outside its reach.

A counted candidate is exec'd as ``valgrind --tool=cachegrind --cache-sim=no --branch-sim=no``
(the cheapest of valgrind's tools that counts every instruction: 5-30x slower than native on
Python code here, against 10x for ``--tool=none`` and 60x for ``exp-bbv``; callgrind is not used
because a client request can switch its collection off). The count is valgrind's own summary,
read by the zygote from a socket that valgrind writes its log to:

- valgrind moves its log descriptor above the client's descriptor limit and refuses every system
  call of the client on it (write, dup, close, shutdown, passing it in SCM_RIGHTS); the copy
  valgrind leaves at the descriptor it was given is closed by ``counted.py`` before the
  candidate's code arrives, and a socket cannot be reopened through ``/proc/self/fd``;
- what valgrind writes for the client (client requests, warnings naming the client's files)
  is prefixed per line with ``**pid**`` or ``--pid--``, never with the ``==pid==`` of its own
  messages, and the summary is the last thing valgrind writes, after the client's last
  instruction: the count is taken only from a log whose first line is valgrind's banner and
  whose last line is the summary, for the banner's pid; candidate output never reaches the log.

What this cannot stop: valgrind shares the candidate's address space and sees only the system
calls it executes itself, so a candidate that writes arbitrary memory (ctypes,
``/proc/self/mem``) could in principle alter valgrind's counters in place, and one that issues
raw io_uring requests could reach valgrind's descriptor. Standard library only; runs inside the
sandbox.
"""

import os
import re

TOOL = "cachegrind"
OPTIONS = (
    f"--tool={TOOL}",
    "--cache-sim=no",
    "--branch-sim=no",
    "--cachegrind-out-file=/dev/null",
    "--vgdb=no",  # no gdbserver FIFOs through which another process could drive this valgrind
)
LOG_FD = 4  # the candidate's fds: 0-2 stdio, 3 channel, 4 valgrind's log (closed by counted.py)
HASH_SEED = "0"  # str and bytes hashes, and so set and dict orders, the same in every run
KEEP = 8192  # bytes kept of a log's head and of its tail
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "x86", "i386": "x86"}
_BANNER = re.compile(rb"==(\d+)== Cachegrind, ")


def launcher(path: str) -> str:
    """The binary behind ``path``: Debian's ``valgrind`` is a shell script that sets library
    paths and execs ``valgrind.bin``, which needs neither a shell nor those variables."""
    binary = path + ".bin"
    return binary if os.access(binary, os.X_OK) else path


def tool_dirs(path: str) -> list[str]:
    """Where valgrind's tools lie for the valgrind at ``path``: its prefix's ``libexec`` and ``lib``."""
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(path)))
    return [os.path.join(prefix, sub, "valgrind") for sub in ("libexec", "lib")]


def unavailable(valgrind: str | None, containment_error: str | None) -> str | None:
    """None when candidates can be counted here, else one sentence saying why not."""
    if valgrind is None:
        return "valgrind is not installed (apt-get install valgrind)"
    if not os.access(launcher(valgrind), os.X_OK):
        return f"valgrind is not installed at {valgrind} (apt-get install valgrind)"
    tool = f"{TOOL}-{_ARCH.get(os.uname().machine, os.uname().machine)}-linux"
    if not any(os.access(os.path.join(d, tool), os.X_OK) for d in tool_dirs(valgrind)):
        return f"valgrind's {tool} is not installed next to {valgrind}"
    if containment_error is not None:
        return (
            f"candidates are not contained in namespaces of their own here ({containment_error}), "
            "so a counted candidate could not be kept to one process"
        )
    return None


def unreachable(valgrind: str, python: str, script: str) -> str | None:
    """Run as the candidates' uid: None when it can start a counted candidate, else why not."""
    for path, mode in ((launcher(valgrind), os.X_OK), (python, os.X_OK), (script, os.R_OK)):
        if not os.access(path, mode):
            return f"candidates cannot {'read' if mode == os.R_OK else 'run'} {path} here"
    return None


def environment(env: dict[str, str], cwd: str) -> dict[str, str]:
    """A counted candidate's environment: its hash seed fixed, and its run directory as the
    temporary directory (valgrind keeps files there that stand in for ``/proc/self/cmdline``
    and ``auxv``; the rest of /tmp is read-only for candidates)."""
    return {**env, "PYTHONHASHSEED": HASH_SEED, "TMPDIR": cwd}


def argv(valgrind: str, python: str, script: str, mode: str) -> list[str]:
    """The command that runs ``script`` in ``mode`` under ``python``, counted by valgrind, its log on
    ``LOG_FD``."""
    return [launcher(valgrind), *OPTIONS, f"--log-fd={LOG_FD}", python, "-S", "-s", "-B", script, mode]


class Log:
    """The head and the tail of what valgrind wrote (a client can make it warn at length)."""

    def __init__(self) -> None:
        self.head, self.tail = bytearray(), bytearray()

    def feed(self, chunk: bytes) -> None:
        """Keep the first and the last ``KEEP`` bytes of what valgrind wrote."""
        room = KEEP - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        self.tail = (self.tail + chunk)[-KEEP:]

    def started(self) -> bool:
        """valgrind got as far as its banner, written before the client's first instruction."""
        return _BANNER.match(bytes(self.head)) is not None

    def count(self) -> int | None:
        """The summary's count: valgrind's last two lines, ``==pid== `` and ``==pid== I refs: N``
        for the banner's pid; None when the log does not end so."""
        banner = _BANNER.match(bytes(self.head))
        if banner is None or not self.tail.endswith(b"\n"):
            return None
        pid = banner.group(1)
        lines = bytes(self.tail).split(b"\n")[-3:-1]
        if len(lines) != 2 or lines[0] != b"==" + pid + b"== ":
            return None
        summary = re.fullmatch(rb"==" + pid + rb"== I +refs: +([0-9,]+)", lines[1])
        return int(summary.group(1).replace(b",", b"")) if summary else None

    def text(self) -> str:
        """The log's head, decoded and cut to 2000 characters, for error messages."""
        return bytes(self.head).decode("utf-8", "replace")[:2000]
