"""Framing and the plain-data codec shared by the host, the supervisor and its children.

Frames are a 4-byte big-endian length followed by UTF-8 JSON. Values cross process
boundaries only as plain data: None, bool, int, float (nan/inf included), str, bytes, list,
tuple, dict, set, frozenset and complex, decoded type-exact. Subclasses of these cross as their
base type (contents only); other objects do not cross, so an object that compares equal to
everything cannot reach the process that decides verdicts.

The messages of every channel are declared here too: the host's (JSON objects, as the
``TypedDict``s below, plain dicts at run time) and the runtime's own (JSON arrays whose first
element is one of the frame kinds below).
Standard library only: this file runs inside the sandbox under ``python -I -S``.
"""

import json
import os
import struct
from typing import Any, Final, Literal, NotRequired, Required, TypedDict, final

MAX_FRAME = 64 * 1024 * 1024
MAX_DEPTH = 400
_HEADER = struct.Struct(">I")


# -- host <-> supervisor: JSON objects -------------------------------------------------------


class WorkerConfig(TypedDict, total=False):
    """The supervisor's command-line argument."""

    uids: Required[list[int] | None]  # [harness uid, candidate uid]; None: run as this process's
    workdir: Required[str]  # where run directories are made
    contain: bool  # try namespaces of their own for candidates (default True)
    valgrind: str | None  # the valgrind launcher the host found (counted runs), or None


class Hello(TypedDict):
    """The supervisor's first frame, once it is ready for jobs."""

    hello: int
    pid: int
    uid_split: bool
    contained: bool
    containment_error: str | None  # why candidates are not contained, or None
    counting_error: NotRequired[str | None]  # why instructions cannot be counted here, or None


class Limits(TypedDict):
    """A job's resource limits for each process it runs."""

    memory_mb: int
    nproc: int
    nofile: int
    fsize_mb: int


class ProcessLimits(Limits):
    """The limits one harness or candidate process is started with."""

    cpu_s: float


class DirectCall(TypedDict):
    """An assert test that only compares one call of the entry point with a literal
    (``assert f(1, [2]) == (3, 4)``), taken apart by the host (``codemend.sandbox.calls``) so the
    supervisor can check it without a harness (``direct``): the call as the harness would send
    it, the expected value encoded, and the texts the harness would report."""

    args: list[object]  # each encoded (``encode``)
    kwargs: object  # encoded dict
    mutable: list[int]  # the indexes of list, dict and set arguments (the harness's write-back)
    expected: object  # encoded
    swap: bool  # the call is on the right: ``expected == result``
    assertion: str  # the assert's source
    shown: str  # the call, as the harness shows it (``harness.Proxies.call``)
    expected_shown: str  # ``harness.short(expected)``


class AssertSpec(TypedDict):
    """An ``AssertTest`` as it crosses (its ``model_dump()``), with ``call`` when the supervisor
    may check it directly (``DirectCall``)."""

    kind: Literal["assert"]
    code: str
    visibility: str
    in_child: bool
    call: NotRequired[DirectCall]


class IOSpec(TypedDict):
    """An ``IOTest`` as it crosses (its ``model_dump()``)."""

    kind: Literal["io"]
    stdin: str
    expected_stdout: str
    visibility: str
    call: NotRequired[str]  # a call test (a driver's): the call, as shown
    result_type: NotRequired[str]  # ... and its result's type: the output is compared as a value


TestSpec = AssertSpec | IOSpec


class Toolchain(TypedDict):
    """How a job's program is built and run when it is not Python (``codemend.languages``):
    argument lists with ``{dir}`` (the build directory) already the only placeholder left."""

    language: str
    source: str  # the file name the code is written to, in the build directory
    compile: list[str] | None  # None: nothing to compile (the run reads the source)
    run: list[str]
    compile_time_s: float  # wall clock (and CPU) for the compile command
    compile_memory_mb: int  # its address space
    compile_fsize_mb: int  # the largest file it may write
    memory_mb: int  # each run's address space: the problem's budget and the runtime's own


class Job(TypedDict):
    """One candidate against a list of tests: the host's request to a supervisor."""

    code: str
    entry_point: str | None
    setup: str
    tests: list[TestSpec]
    time_limit_s: float  # per test, wall clock
    output_limit: int  # bytes of stdout and of stderr kept
    limits: Limits
    cost: Literal["cpu", "instructions"]  # instructions: candidates run under valgrind, counted
    phases: NotRequired[bool]  # reply with where the supervisor's time went (``Reply.phases``)
    trace: NotRequired[dict[str, float]]  # the tracer's options (``tracer.DEFAULTS``): a traced run
    toolchain: NotRequired[Toolchain]  # not Python: compile the code, then run each I/O test


# Counted candidates (cost "instructions") run under valgrind, which slows a CPU-bound Python
# program down 5-30x (measured, cachegrind without cache or branch simulation, Python 3.11) and
# takes ~1 s and ~190 MB of address space of its own to start: their wall-clock and CPU limits
# are the problem's times COUNTED_TIME_FACTOR plus COUNTED_START_S, their address space the
# problem's budget plus COUNTED_MEMORY_MB.
COUNTED_TIME_FACTOR: Final = 40
COUNTED_START_S: Final = 5.0
COUNTED_MEMORY_MB: Final = 256


def time_limit(job: Job) -> float:
    """The wall-clock limit of each test of ``job`` (and of loading its solution)."""
    limit = job["time_limit_s"]
    if job.get("cost") == "instructions":
        return limit * COUNTED_TIME_FACTOR + COUNTED_START_S
    return limit


# One test's verdict: ``status`` (see ``TestStatus``), then any other field of ``TestResult``;
# the harness adds ``trusted``.
Verdict = dict[str, Any]


class CompileVerdict(TypedDict):
    """How compiling a job's code went: ``status`` ok, error, timeout, memory or crashed."""

    status: str
    output: str  # what the compiler wrote (stdout then stderr), clipped
    duration_s: float
    detail: NotRequired[str]
    command: NotRequired[str]  # the compile command, the build directory shown as {dir}


@final
class Reply(TypedDict):
    """The supervisor's answer to a job: a verdict per test, in the job's order."""

    results: list[Verdict | None]
    stdout: str
    stdout_truncated: bool
    stderr: str
    stderr_truncated: bool
    cpu_s: NotRequired[float]  # the candidates' process trees, fork to exit (wait4 in the zygote)
    instructions: NotRequired[int | None]  # cost "instructions": the candidates' count, if all left one
    phases: NotRequired[dict[str, Any]]  # asked for: seconds per phase, "clock": [start, end]
    trace: NotRequired[str]  # a traced job: what the candidates wrote on fd 4 (untrusted), cut
    trace_truncated: NotRequired[bool]
    compile: NotRequired[CompileVerdict]  # a job with a toolchain


@final
class Failure(TypedDict):
    """The supervisor's answer to a job it failed to run (a fault of its own, not the run's)."""

    error: str


# -- supervisor -> zygote: a JSON object, the candidate's fds alongside ----------------------

Mode = Literal["serve", "program", "exec"]
SERVE: Final = "serve"  # assertion tests: answer the harness's calls
PROGRAM: Final = "program"  # an I/O test: run the code as ``__main__``
EXEC: Final = "exec"  # a toolchain's command (a compiler, a compiled program): ``argv``, no channel


def in_pod(mode: str, contain: bool, count: bool) -> bool:
    """Whether the zygote starts a candidate in one of its pods (``pods``) rather than in
    namespaces of its own: a contained, uncounted assertion-session candidate. Its directory is
    then the pod's, and the spawn request's ``cwd`` is empty."""
    return contain and not count and mode == SERVE


class SpawnRequest(TypedDict):
    mode: Mode
    uid: int | None
    limits: ProcessLimits | None  # None: a spare (SERVE), its limits sent with its code
    cwd: str  # empty in a pod (``in_pod``): the pod's own directory
    contain: bool
    count: bool  # run under valgrind, as one process, its count in the EXITED frame
    argv: NotRequired[list[str]]  # EXEC: the command, its first word an absolute path


# -- frame kinds: the first element of every array frame -------------------------------------

# zygote -> supervisor: [SPAWNED, pid] (a pidfd alongside), [EXITED, pid, wait status, CPU s,
# instructions or None, why valgrind did not run or None]; GONE stands for the end of its socket.
SPAWNED: Final = "spawned"
EXITED: Final = "exited"
GONE: Final = "eof"
# harness -> supervisor, control (fd 4): [START, index], [RESULT, index, verdict], [DONE]
START: Final = "start"
RESULT: Final = "result"
DONE: Final = "done"
# harness -> candidate, channel (fd 3), after the supervisor sent the code as a string frame:
# [CALL, seq, name, args, kwargs, indexes of mutable args], [TEST, seq, setup, code]
CALL: Final = "call"
TEST: Final = "test"
# candidate -> harness: first [READY, names, class names] or [IMPORT_ERROR, *exc_info]; then
# per request [OK, seq, result, [[index, arg after]]], [EXC, seq, *exc_info],
# [UNPLAIN, seq, why] (a call's result is not plain data) or [PASSED, seq] (a TEST)
READY: Final = "ready"
IMPORT_ERROR: Final = "import_error"
OK: Final = "ok"
EXC: Final = "exc"
UNPLAIN: Final = "unplain"
PASSED: Final = "passed"
# candidate in program mode -> supervisor: [EXIT, status] or [EXC, *exc_info]
EXIT: Final = "exit"


# -- framing and the plain-data codec --------------------------------------------------------


class FrameError(Exception):
    """A malformed, oversized or truncated frame."""


class Unencodable(Exception):
    """A value that is not plain data."""


def frame(obj: object) -> bytes:
    """``obj`` as one length-prefixed JSON frame; ``FrameError`` past ``MAX_FRAME``."""
    data = json.dumps(obj, separators=(",", ":")).encode()
    if len(data) > MAX_FRAME:
        raise FrameError(f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    return _HEADER.pack(len(data)) + data


def send_frame(fd: int, obj: object) -> None:
    """Write ``obj`` to ``fd`` as one length-prefixed JSON frame; ``FrameError`` past ``MAX_FRAME``."""
    view = memoryview(frame(obj))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_frame(fd: int, limit: int = MAX_FRAME, *, plain: bool = False) -> object:
    """Read one frame; return ``EOF`` at a clean end of stream.

    With ``plain``, JSON objects are decoded as tagged plain values (see ``encode``), so the
    frame's envelope must use arrays only.
    """
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return EOF
    (size,) = _HEADER.unpack(header)
    if size > limit:
        raise FrameError(f"frame of {size} bytes exceeds {limit}")
    body = _read_exact(fd, size)
    if body is None:
        raise FrameError("stream ended inside a frame")
    return decode(body, plain=plain)


def decode(body: bytes, *, plain: bool = False) -> object:
    """A frame's body as ``recv_frame`` returns it; ``FrameError`` when it is not JSON (or, with
    ``plain``, not tagged plain values)."""
    try:
        return json.loads(body, object_hook=_hook if plain else None)
    except (ValueError, TypeError, RecursionError) as exc:
        raise FrameError(f"undecodable frame: {exc}") from None


def frame_size(header: bytes) -> int:
    """The body size a frame's 4-byte header announces."""
    return int(_HEADER.unpack(header)[0])


class _Eof:
    def __repr__(self) -> str:
        return "EOF"


EOF = _Eof()

_SMALL_INT = 1 << 53


def encode(value: Any, depth: int = 0) -> object:
    """Turn plain data into JSON-able form; raise ``Unencodable`` for anything else.

    Subclasses of the plain types (``defaultdict``, ``Counter``, ``OrderedDict``, named tuples,
    ``IntEnum`` members, or a hostile ``str`` subclass) cross as their base type, read through
    the base type's own methods: only their contents cross, never their ``__eq__``.
    """
    if depth > MAX_DEPTH:
        raise Unencodable("nesting too deep")
    if value is None or type(value) is bool:
        return value
    if isinstance(value, int):
        number = int.__int__(value)
        return number if -_SMALL_INT < number < _SMALL_INT else {"I": hex(number)}
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in list.__iter__(value)]
    if isinstance(value, tuple):
        return {"t": [encode(v, depth + 1) for v in tuple.__iter__(value)]}
    if isinstance(value, dict):
        items = dict.items(value)
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in items]}
    if isinstance(value, set | frozenset):
        tag, members = (
            ("S", set.__iter__(value)) if isinstance(value, set) else ("F", frozenset.__iter__(value))
        )
        return {tag: [encode(v, depth + 1) for v in members]}
    if isinstance(value, bytes):
        return {"y": bytes.hex(value)}
    if isinstance(value, complex):
        return {"c": [complex.real.__get__(value), complex.imag.__get__(value)]}
    kind = type(value)
    raise Unencodable(f"{kind.__module__}.{kind.__qualname__}")


def _hook(obj: dict) -> object:
    if len(obj) != 1:
        raise ValueError("tagged value with more than one key")
    ((tag, val),) = obj.items()
    if tag == "t" and type(val) is list:
        return tuple(val)
    if tag == "d" and type(val) is list:
        if not all(type(p) is list and len(p) == 2 for p in val):
            raise ValueError("malformed dict")
        return {k: v for k, v in val}
    if tag in ("S", "F") and type(val) is list:
        return set(val) if tag == "S" else frozenset(val)
    if tag == "y" and type(val) is str:
        return bytes.fromhex(val)
    if tag == "c" and type(val) is list and len(val) == 2:
        re, im = val
        if type(re) in (int, float) and type(im) in (int, float):
            return complex(re, im)
    if tag == "I" and type(val) is str and len(val) < 100_000:
        return int(val, 16)
    raise ValueError(f"unknown tag {tag!r}")
