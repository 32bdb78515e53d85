"""The execution tracer (``--feedback trace``), run inside the candidate process.

While the candidate serves the traced test's calls (or runs as a program), ``sys.settrace``
records the line events of frames of ``solution.py``. Consecutive lines of one frame that move
forward form a block (a loop's back edge, a call or a return ends it, LDB-style); when a block
ends, the frame's variables are snapshot as short strings. The first ``head`` blocks are sent as
they end, the last ``tail`` are kept in a ring and sent when the call returns, with how many
were left out between. Each is one JSON line on the trace fd, which the supervisor reads into a
bounded capture: the host treats all of it as untrusted text (it is the candidate's own state).

The tracer stops recording after ``max_events`` line events or ``time_s`` seconds (then sends
what it has, so a loop that never ends still leaves a trace). Values are rendered by walking
the built-in containers with item and length limits; any other object's ``repr`` runs under a
timer (``SIGALRM``) with its result cut, and a ``repr`` that raises, hangs or returns a non-string
gives a placeholder. Standard library only.
"""

import json
import os
import signal
import sys
import threading
import time
import types
from typing import Any

FILENAME = "solution.py"
TRACE_FD = 4
DEFAULTS = {
    "head": 8,  # blocks sent as they end
    "tail": 8,  # the last blocks, sent when the call returns
    "max_events": 20000,  # line events before the tracer stops recording
    "time_s": 1.0,  # seconds of tracing before it stops recording
    "value_chars": 80,  # per value
    "max_vars": 10,  # per block
    "repr_timeout_s": 0.05,  # one object's own __repr__
    "repr_budget_s": 0.5,  # all objects' own __repr__ together
}
_ITEMS = 12  # container items rendered before "..."
_DEPTH = 4
_BRACKETS: dict[Any, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    dict: ("{", "}"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}
_SKIPPED = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type, types.MethodType)


class _Alarm(BaseException):
    """A guarded ``repr`` overran its time."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _Alarm()


class Tracer:
    """Records the candidate's blocks and writes them to ``fd`` as JSON lines."""

    def __init__(self, fd: int, options: dict) -> None:
        self.fd = fd
        self.opt = dict(DEFAULTS)
        for key, value in options.items():
            if key in DEFAULTS and type(value) in (int, float) and value > 0:
                self.opt[key] = value
        self.settrace, self.gettrace = sys.settrace, sys.gettrace  # before the solution can replace them
        self.main = threading.main_thread()
        self.events = self.sent = 0
        self.omitted = 0
        self.tail: list[list] = []
        self.block: list | None = None  # the open one: [frame, function, lines, exception raised]
        self.started = 0.0
        self.repr_spent = 0.0
        self.stopped = False
        self.note: str | None = None
        self.slow_types: set[type] = set()
        self.hook = self._global  # one bound method: ``gettrace() is self.hook`` tells it is still ours

    # -- around one call -------------------------------------------------------------------
    def call(self, fn, args: tuple, kwargs: dict):  # type: ignore[no-untyped-def]
        """``fn(*args, **kwargs)`` traced; the trace of it is written before this returns or raises."""
        if self.stopped:
            return fn(*args, **kwargs)
        self.started = self.started or time.monotonic()
        self.settrace(self.hook)
        try:
            return fn(*args, **kwargs)
        finally:
            if not self.stopped:  # stopped during the call: what it had is sent already
                self._finish(None)

    def _finish(self, note: str | None) -> None:
        """Stop tracing this call: close the open block, send the tail and the end line."""
        mine = self.gettrace() is self.hook
        self.settrace(None)
        if not mine and not self.stopped and note is None:
            note = "the candidate replaced or removed the tracer"
        try:
            if self.block is not None:
                self._close(None)
            self._write(["gap", self.omitted]) if self.omitted else None
            for block in self.tail:
                self._write(block)
            self._write(["end", note or self.note])
        except BaseException:
            pass  # a write the candidate broke: the host sees no end line
        self.tail, self.omitted = [], 0

    def forked(self) -> None:
        """In a process the solution forks: no tracing, and the trace fd goes nowhere."""
        self.stopped = True
        try:
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, self.fd)
            os.close(null)
        except OSError:
            os._exit(70)

    # -- the trace functions ---------------------------------------------------------------
    def _global(self, frame: types.FrameType, event: str, arg: object):  # type: ignore[no-untyped-def]
        if self.stopped or frame.f_code.co_filename != FILENAME:
            return None
        return self._local

    def _local(self, frame: types.FrameType, event: str, arg: object):  # type: ignore[no-untyped-def]
        if self.stopped:
            return None
        try:
            if event == "line":
                self._line(frame)
            elif event == "return":
                if self.block is None or self.block[0] is not frame:  # e.g. ``return g(x)``
                    self._close(None)
                    self.block = [frame, frame.f_code.co_name, [frame.f_lineno], None]
                self._close([arg])
            elif event == "exception":
                if self.block is None or self.block[0] is not frame:  # raised by a call it made
                    self._close(None)
                    self.block = [frame, frame.f_code.co_name, [frame.f_lineno], None]
                self.block[3] = _type_name(arg[0]) if type(arg) is tuple and isinstance(arg[0], type) else "?"
        except BaseException as exc:  # the tracer must never change what the candidate does
            self.stopped = True  # first, without a call: a RecursionError may come again
            self.note = f"the tracer stopped: {_type_name(type(exc))}"
            try:  # noqa: SIM105 - no call to enter here: a RecursionError may come again
                self._finish(self.note)
            except BaseException:
                pass  # nothing more can be sent
            return None
        return self._local

    def _line(self, frame: types.FrameType) -> None:
        self.events += 1
        if self.events > self.opt["max_events"]:
            self._stop(f"recording stopped after {self.opt['max_events']} line events")
            return
        if self.events % 256 == 0 and time.monotonic() - self.started > self.opt["time_s"]:
            self._stop(f"recording stopped after {self.opt['time_s']:g} s of tracing")
            return
        line = frame.f_lineno
        block = self.block
        if block is not None and block[0] is frame and line > block[2][-1]:
            block[2].append(line)
            block[3] = None  # an exception it raised was caught
            return
        if block is not None:
            self._close(None)
        self.block = [frame, frame.f_code.co_name, [line], None]

    def _stop(self, note: str) -> None:
        """Stop recording for good; what was recorded is sent now (the run may never end)."""
        if self.stopped:
            return
        self.note = note
        self.stopped = True
        self._finish(note)

    # -- blocks ----------------------------------------------------------------------------
    def _close(self, returned: list | None) -> None:
        """End the open block: its frame's variables now; at a return (``[value]``), the value
        returned, or the exception the frame raised."""
        block, self.block = self.block, None
        if block is None:
            return
        values = self._snapshot(block[0])
        if returned is not None and returned[0] is None and block[3] is not None:
            values["(raised)"] = block[3][:60]
        elif returned is not None:
            values["(return)"] = self.render(returned[0])
        item = ["block", str(block[1])[:60], block[2][:50], values]
        if self.sent < self.opt["head"]:
            self.sent += 1
            self._write(item)
            return
        self.tail.append(item)
        if len(self.tail) > self.opt["tail"]:
            self.tail.pop(0)
            self.omitted += 1

    def _snapshot(self, frame: types.FrameType) -> dict[str, str]:
        values: dict[str, str] = {}
        try:
            scope = dict.items(frame.f_locals) if type(frame.f_locals) is dict else ()
        except BaseException:
            return values
        for name, value in list(scope):
            if len(values) >= self.opt["max_vars"]:
                break
            if type(name) is not str or not name.isidentifier() or name.startswith("__"):
                continue
            if issubclass(type(value), _SKIPPED):  # not isinstance: it reads a __class__ of theirs
                continue
            values[name[:40]] = self.render(value)
        return values

    def _write(self, item: list) -> None:
        os.write(self.fd, (json.dumps(item, separators=(",", ":")) + "\n").encode())

    # -- values ----------------------------------------------------------------------------
    def render(self, value: object) -> str:
        """``value`` as at most ``value_chars`` characters, built-in containers walked with limits."""
        limit = int(self.opt["value_chars"])
        parts: list[str] = []
        self._walk(value, parts, 0, limit + 1)
        text = "".join(parts)
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def _walk(self, value: object, out: list[str], depth: int, room: int) -> None:
        if sum(map(len, out)) > room:
            return
        kind = type(value)
        if value is None or kind in (bool, float, complex):
            out.append(repr(value))
        elif kind is int:
            bits = int.bit_length(value)  # type: ignore[arg-type]
            out.append(repr(value) if bits < 2000 else f"<int of {bits} bits>")
        elif kind in (str, bytes):
            text = repr(value[:room])  # type: ignore[index]
            out.append(text if len(value) <= room else text + f"... ({len(value)} long)")  # type: ignore[arg-type]
        elif kind in (list, tuple, set, frozenset, dict):
            self._container(value, kind, out, depth, room)
        else:
            out.append(self._own_repr(value, room))

    def _container(self, value: Any, kind: Any, out: list[str], depth: int, room: int) -> None:
        opening, closing = _BRACKETS[kind]
        size = kind.__len__(value)
        if size == 0 and kind in (set, frozenset):
            out.append(f"{kind.__name__}()")
            return
        if depth >= _DEPTH:
            out.append(f"{opening}...{closing}")
            return
        out.append(opening)
        items = dict.items(value) if kind is dict else kind.__iter__(value)
        for count, item in enumerate(items):
            if count >= _ITEMS or sum(map(len, out)) > room:
                out.append(f"... ({size} items)")
                break
            if count:
                out.append(", ")
            if kind is dict:
                self._walk(item[0], out, depth + 1, room)
                out.append(": ")
                self._walk(item[1], out, depth + 1, room)
            else:
                self._walk(item, out, depth + 1, room)
        if kind is tuple and size == 1:
            out.append(",")
        out.append(closing)

    def _own_repr(self, value: object, room: int) -> str:
        """The object's own ``repr``, guarded: a time limit, its errors caught, its length cut."""
        kind = type(value)
        name = _type_name(kind)
        if kind in self.slow_types or self.repr_spent > self.opt["repr_budget_s"]:
            return f"<{name} object: repr not taken>"
        if threading.current_thread() is not self.main:  # signals reach the main thread only
            return f"<{name} object>"
        start = time.monotonic()
        old = signal.getsignal(signal.SIGALRM)
        try:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.opt["repr_timeout_s"])
            text = repr(value)
            signal.setitimer(signal.ITIMER_REAL, 0)
            if type(text) is not str:
                text = f"<{name} object: repr not a string>"
        except _Alarm:
            self.slow_types.add(kind)
            text = f"<{name} object: repr timed out>"
        except BaseException as exc:
            text = f"<{name} object: repr raised {_type_name(type(exc))}>"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            self.repr_spent += time.monotonic() - start
        return text[:room]


def _type_name(kind: type) -> str:
    """A class's own name, read past any ``__name__`` its metaclass defines."""
    name = type.__dict__["__name__"].__get__(kind, type)
    return name if type(name) is str else "object"


def from_frame(frame: object, fd: int = TRACE_FD) -> tuple[str | None, Tracer | None]:
    """The code of the supervisor's first frame and a tracer when it asks for one
    (``{"code": ..., "trace": {options}}``), else (the code, None); (None, None) for anything else."""
    if type(frame) is str:
        return frame, None
    if type(frame) is dict and type(frame.get("code")) is str and type(frame.get("trace")) is dict:
        tracer = Tracer(fd, frame["trace"])
        os.register_at_fork(after_in_child=tracer.forked)
        return frame["code"], tracer
    return None, None
