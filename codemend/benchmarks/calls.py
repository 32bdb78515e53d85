"""Test code for function-call tests given as data (APPS call-based, LiveCodeBench functional)."""

from __future__ import annotations

import math


def literal(value: object) -> str:
    """Python source for a JSON value (``inf``/``nan`` included)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def call_test(function: str, args: list[object], expected: object, *, method: bool, unwrap: bool) -> str:
    """``assert f(*args) == expected``; ``method``: ``Solution().f``; ``unwrap``: APPS also
    accepts ``expected[0]`` when the expected output is a one-element list."""
    target = f"Solution().{function}" if method else function
    call = f"{target}({', '.join(literal(a) for a in args)})"
    want = literal(expected)
    if unwrap and isinstance(expected, list) and len(expected) == 1:
        return (
            f"result = {call}\n"
            "result = list(result) if isinstance(result, tuple) else result\n"
            f"assert result == {want} or result == {literal(expected[0])}"
        )
    return f"assert {call} == {want}"
