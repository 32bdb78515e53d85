"""The candidate process: runs the model's code and nothing else trusted depends on.

Assertion mode serves calls from the harness over fd 3 (plain data in, plain data out).
Program mode runs the code as ``__main__`` with stdin/stdout for I/O tests and reports
an uncaught exception on fd 3. Standard library only.
"""

import builtins
import contextlib
import io
import linecache
import os
import sys
import traceback
import types
from collections.abc import Callable

if __package__:
    from codemend.sandbox.runtime import tracer, wire
else:  # inside the sandbox, started as a plain script directory
    import tracer  # type: ignore[import-not-found, no-redef]
    import wire  # type: ignore[import-not-found, no-redef]

FILENAME = "solution.py"
CHANNEL = 3
TB_LIMIT = 4000
MSG_LIMIT = 1000
_tracer: tracer.Tracer | None = None  # a traced run (``--feedback trace``): records the calls


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:MSG_LIMIT]
    except Exception:  # a hostile __str__
        return "<unprintable message>"


def exc_info(exc: BaseException, filename: str = FILENAME) -> list[object]:
    """[type name, message, traceback trimmed to ``filename``'s frames, is-not-an-Exception]."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
        text = "".join(traceback.format_list(frames))
        head = "Traceback (most recent call last):\n" if frames else ""
        tail = f"{type(exc).__name__}: {_safe_str(exc)}\n"
        if isinstance(exc, SyntaxError):
            tail = "".join(traceback.format_exception_only(type(exc), exc))
        tb = (head + text + tail)[-TB_LIMIT:]
    except Exception:
        tb = ""
    return [type(exc).__name__, _safe_str(exc), tb, not isinstance(exc, Exception)]


def _load(code: str, name: str) -> dict[str, object]:
    """Run the solution with a copy of ``builtins``: patching it cannot break this process's
    own protocol code (deliberate sabotage only breaks the candidate's own channel)."""
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    own = types.ModuleType("builtins")
    own.__dict__.update(builtins.__dict__)
    sys.modules["builtins"] = own
    namespace: dict[str, object] = {"__name__": name, "__builtins__": own}
    exec(compile(code, FILENAME, "exec"), namespace)
    return namespace


def _call(namespace: dict[str, object], msg: list) -> list[object]:
    _, seq, name, args, kwargs, mutable = msg
    owner, _, method = name.partition(".")
    target = namespace.get(owner)
    if not callable(target) or (method and not isinstance(target, type)):
        return [wire.EXC, seq, "NameError", f"name {name!r} is not defined by the solution", "", False]
    try:
        # ``Class.method``: LeetCode-style, called on a fresh instance
        fn = getattr(target(), method) if method else target
        result = _tracer.call(fn, args, kwargs) if _tracer is not None else fn(*args, **kwargs)
    except BaseException as exc:
        return [wire.EXC, seq, *exc_info(exc)]
    try:
        after = [[i, wire.encode(args[i])] for i in mutable]
        return [wire.OK, seq, wire.encode(result), after]
    except (wire.Unencodable, RecursionError) as exc:
        return [wire.UNPLAIN, seq, str(exc)[:MSG_LIMIT]]


def _run_test(namespace: dict[str, object], msg: list) -> list[object]:
    _, seq, setup, code = msg
    scope = dict(namespace)
    try:
        exec(compile(setup, "setup.py", "exec"), scope)
        compiled = compile(code, "test.py", "exec")
        _tracer.call(exec, (compiled, scope), {}) if _tracer is not None else exec(compiled, scope)
    except BaseException as exc:
        return [wire.EXC, seq, *exc_info(exc, "test.py")]
    return [wire.PASSED, seq]


def _streams() -> None:
    """Fresh text streams on fds 0-2 (nothing buffered from the parent)."""
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace")
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="replace")


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # closed, replaced or sabotaged by the solution
            stream.flush()


def _mute_channel() -> None:
    """In a process the solution forks: it is not the candidate, so it never speaks on the channel
    (its writes go nowhere, its reads end at once) and the verdicts cannot depend on which of the
    two processes answers first."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, CHANNEL)
        os.close(null)
    except OSError:
        os._exit(70)


def serve(settle: Callable[[object], None] | None = None) -> None:
    """Assertion mode: load the solution, then answer calls until the channel closes.

    ``settle``: this is a spare, started before its job (``spares``): its first frame is
    ``{"code": ..., "limits": ...}``, and ``settle`` sets the limits before the code is read."""
    global _tracer
    os.register_at_fork(after_in_child=_mute_channel)
    frame = wire.recv_frame(CHANNEL)
    if settle is not None:
        if type(frame) is not dict:
            return
        settle(frame.get("limits"))
        frame = frame.get("code")
    code, _tracer = tracer.from_frame(frame)
    if code is None:
        return
    _streams()
    try:
        namespace = _load(code, "solution")
    except BaseException as exc:
        _flush()
        wire.send_frame(CHANNEL, [wire.IMPORT_ERROR, *exc_info(exc)])
        return
    _flush()
    names = sorted(k for k, v in namespace.items() if isinstance(k, str) and callable(v))
    names = [n for n in names if not n.startswith("__")]
    classes = [n for n in names if isinstance(namespace[n], type)]
    wire.send_frame(CHANNEL, [wire.READY, names, classes])
    while True:
        msg = wire.recv_frame(CHANNEL, plain=True)
        if msg is wire.EOF or not isinstance(msg, list) or not msg:
            return
        reply = _call(namespace, msg) if msg[0] == wire.CALL else _run_test(namespace, msg)
        _flush()
        wire.send_frame(CHANNEL, reply)


def run_program() -> None:
    """Program mode: run the code as ``__main__`` on fd 0/1/2; report how it ended on fd 3."""
    os.register_at_fork(after_in_child=_mute_channel)
    code, traced = tracer.from_frame(wire.recv_frame(CHANNEL))
    if code is None:
        return
    _streams()
    outcome: list[object] = [wire.EXIT, 0]
    try:
        traced.call(_load, (code, "__main__"), {}) if traced is not None else _load(code, "__main__")
    except SystemExit as exc:
        status = exc.code
        outcome = [wire.EXIT, status if isinstance(status, int) else (0 if status is None else 1)]
    except BaseException as exc:
        outcome = [wire.EXC, *exc_info(exc)]
    _flush()
    wire.send_frame(CHANNEL, outcome)
