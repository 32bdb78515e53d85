"""Values of a function-level test in another language than Python, as the supervisor reads them.

A call test's arguments reach the generated driver on stdin, and the driver writes the function's
result on its stdout, both in one plain token format that every driver parses and prints without
a library (``codemend.problems.signature`` encodes; the drivers are ``codemend.drivers``):

- ``int``: a decimal integer; ``float``: a decimal or exponent number (``nan``/``inf`` as
  Python spells them); ``bool``: ``1`` or ``0``;
- ``str``: its length in UTF-8 bytes, one space, the bytes;
- ``list[T]``: its length, then each element; tokens are separated by whitespace.

The supervisor decodes the driver's output by the declared return type, here, outside the
candidate's process, and compares it with the expected value (floats within ``REL_TOL`` /
``ABS_TOL``): output that does not decode is a failed test, never a pass. Standard library only.
"""

import math

REL_TOL = 1e-9
ABS_TOL = 1e-9
SCALARS = ("int", "float", "bool", "str")


class Malformed(ValueError):
    """Output that is not a value of the declared type."""


def element(kind: str) -> str | None:
    """``T`` of ``list[T]``, else None."""
    return kind[5:-1] if kind.startswith("list[") and kind.endswith("]") else None


class Reader:
    """Tokens of the format above, read from bytes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def _skip(self) -> None:
        while self.at < len(self.data) and self.data[self.at] in b" \t\r\n":
            self.at += 1

    def token(self) -> str:
        """The next whitespace-delimited token."""
        self._skip()
        start = self.at
        while self.at < len(self.data) and self.data[self.at] not in b" \t\r\n":
            self.at += 1
        if start == self.at:
            raise Malformed("the output ended before the value did")
        return self.data[start : self.at].decode("ascii", "replace")

    def value(self, kind: str) -> object:
        """The next value of type ``kind``."""
        inner = element(kind)
        if inner is not None:
            return [self.value(inner) for _ in range(self._count())]
        if kind == "int":
            text = self.token()
            if not text.lstrip("-").isdigit():
                raise Malformed(f"{text[:40]!r} is not an int")
            return int(text)
        if kind == "float":
            try:
                return float(self.token())
            except ValueError:
                raise Malformed("not a float") from None
        if kind == "bool":
            text = self.token()
            if text not in ("0", "1"):
                raise Malformed(f"{text[:40]!r} is not a bool (1 or 0)")
            return text == "1"
        if kind == "str":
            size = self._count()
            if self.at >= len(self.data) or self.data[self.at] != 0x20:
                raise Malformed("a string's length is not followed by one space")
            start = self.at + 1
            self.at = start + size
            if self.at > len(self.data):
                raise Malformed("the output ended inside a string")
            return self.data[start : self.at].decode("utf-8", "replace")
        raise Malformed(f"unknown type {kind!r}")

    def _count(self) -> int:
        text = self.token()
        if not text.isdigit() or len(text) > 9:
            raise Malformed(f"{text[:40]!r} is not a length")
        return int(text)

    def end(self) -> None:
        """Raise ``Malformed`` if anything but whitespace is left."""
        self._skip()
        if self.at != len(self.data):
            raise Malformed("more output after the value")


def decode(data: bytes, kind: str) -> object:
    """The one value of type ``kind`` that ``data`` holds; ``Malformed`` otherwise."""
    reader = Reader(data)
    value = reader.value(kind)
    reader.end()
    return value


def same(actual: object, expected: object, kind: str) -> bool:
    """Whether two decoded values of type ``kind`` are equal (floats: close)."""
    inner = element(kind)
    if inner is not None:
        if not (isinstance(actual, list) and isinstance(expected, list)) or len(actual) != len(expected):
            return False
        return all(same(a, e, inner) for a, e in zip(actual, expected, strict=True))
    if kind == "float" and isinstance(actual, float) and isinstance(expected, float):
        if math.isnan(expected):
            return math.isnan(actual)
        return math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return type(actual) is type(expected) and actual == expected


def shown(value: object) -> str:
    """A decoded value as feedback shows it (Python's repr, lists included)."""
    return repr(value)
