"""Reading a traced run (``Sandbox.trace``): what the candidate's process wrote on its trace fd,
turned into a ``Trace``.

All of it is untrusted: the tracer runs in the candidate's process, so the candidate may stop it,
write lines of its own, or lie in a value. It is read as plain data and checked line by line
(a line that is not one of the tracer's shapes is skipped and counted), every string is cut, and
the number of blocks is capped. It only ever becomes feedback text: a traced run's verdicts are
not the candidate's verdicts (the visible run before it gave those).
"""

from __future__ import annotations

import json

from codemend.records import TestResult, Trace, TraceBlock

MAX_BLOCKS = 64  # kept from one trace (the tracer sends at most head + tail per call)
MAX_LINE_CHARS = 64 * 1024
VALUE_CHARS = 120
MAX_VALUES = 12
MAX_PATH = 50


def tracer_options(time_limit_s: float) -> dict[str, float]:
    """The tracer's options for a problem with a ``time_limit_s`` per test: it stops recording
    after 40% of that time, so what it recorded is sent well before the test's deadline."""
    return {"time_s": round(max(0.05, 0.4 * time_limit_s), 3)}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _block(item: list, omitted_before: int) -> TraceBlock | None:
    """The block of a ``["block", function, lines, values]`` line, or None if it is not one."""
    if len(item) != 4:
        return None
    _, function, lines, values = item
    if type(function) is not str or type(lines) is not list or type(values) is not dict:
        return None
    if not lines or not all(type(n) is int and 1 <= n < 1_000_000 for n in lines):
        return None
    if not all(type(k) is str and type(v) is str for k, v in values.items()):
        return None
    shown = dict(list(values.items())[:MAX_VALUES])
    return TraceBlock(
        first_line=lines[0],
        last_line=max(lines),
        function=_clip(function, 60),
        lines=lines[:MAX_PATH],
        values={_clip(k, 40): _clip(v, VALUE_CHARS) for k, v in shown.items()},
        omitted_before=omitted_before,
    )


class _Reader:
    """The lines of one trace, in order."""

    def __init__(self) -> None:
        self.blocks: list[TraceBlock] = []
        self.omitted = self.gap = self.malformed = self.ends = 0
        self.notes: list[str] = []

    def take(self, line: str) -> None:
        try:
            item = json.loads(line) if len(line) <= MAX_LINE_CHARS else None
        except (ValueError, RecursionError):
            item = None
        kind = item[0] if type(item) is list and item else None
        if kind == "block" and type(item) is list:
            block = _block(item, self.gap)
            if block is None:
                self.malformed += 1
            elif len(self.blocks) < MAX_BLOCKS:
                self.blocks.append(block)
                self.gap = 0
            else:
                self.omitted += 1
        elif kind == "gap" and type(item) is list and len(item) == 2 and type(item[1]) is int:
            item[1] = max(0, item[1])
            self.gap += item[1]
            self.omitted += item[1]
        elif kind == "end" and type(item) is list and len(item) == 2 and type(item[1]) in (str, type(None)):
            self.ends += 1
            if item[1] and _clip(item[1], 200) not in self.notes:
                self.notes.append(_clip(item[1], 200))
        else:
            self.malformed += 1


def _how_it_ended(verdict: TestResult) -> str:
    detail = f" ({_clip(verdict.detail, 200)})" if verdict.detail else ""
    return f"the traced run ended with status {verdict.status}{detail}"


def read_trace(text: str | None, truncated: bool, verdict: TestResult) -> Trace:
    """The ``Trace`` in ``text`` (the reply's trace capture, cut when ``truncated``), given the
    traced test's ``verdict`` in that run; ``available=False`` with the reason when there is none."""
    if text is None:
        return Trace(available=False, reason=f"no trace came back: {_how_it_ended(verdict)}")
    reader = _Reader()
    lines = text.split("\n")
    if truncated or (lines and lines[-1]):
        lines = lines[:-1]  # cut off (or never finished): not a whole line
    for line in lines:
        if line:
            reader.take(line)
    notes = list(reader.notes)
    if truncated:
        notes.append("the trace exceeded its byte limit and was cut")
    if reader.malformed:
        notes.append(f"{reader.malformed} line(s) on the trace channel were not the tracer's: skipped")
    if not reader.blocks:
        if verdict.status in ("timeout", "crashed", "memory"):
            why = f"no line of the solution was recorded: {_how_it_ended(verdict)}"
        elif reader.notes:  # the tracer said why it stopped (or the candidate stopped it)
            why = "no block of the solution was recorded"
        else:
            why = "no line of the solution was recorded (the test failed before calling it)"
        return Trace(available=False, reason="; ".join([why, *notes]))
    if reader.ends == 0:
        notes.append(f"the trace is unfinished: {_how_it_ended(verdict)}")
    return Trace(
        available=True,
        blocks=reader.blocks,
        omitted_blocks=reader.omitted,
        note="; ".join(notes) or None,
    )
