"""A function's signature for function-level tests in other languages than Python, and the
encoding of a call's arguments and expected result in the drivers' token format (see
``codemend.sandbox.runtime.values``, which decodes a driver's output in the supervisor).

Types: ``int`` (64-bit), ``float``, ``bool``, ``str`` and ``list[T]`` of any of them.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCALARS = ("int", "float", "bool", "str")
INT_RANGE = (-(2**63), 2**63 - 1)


def element(kind: str) -> str | None:
    """``T`` of ``list[T]``, else None."""
    return kind[5:-1] if kind.startswith("list[") and kind.endswith("]") else None


def check_type(kind: str) -> str:
    """``kind`` if it is a type of the grammar above, else ``ValueError`` naming the types."""
    inner = element(kind)
    if inner is not None:
        check_type(inner)
    elif kind not in SCALARS:
        raise ValueError(f"unknown type {kind!r}: use int, float, bool, str or list[T] of them")
    return kind


class Signature(BaseModel):
    """The entry point's parameters (name and type, in order) and its return type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: list[tuple[str, str]] = Field(description="[name, type] per parameter, in order.")
    returns: str

    @field_validator("params")
    @classmethod
    def _params(cls, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for name, kind in params:
            if not name.isidentifier():
                raise ValueError(f"parameter name {name!r} is not an identifier")
            check_type(kind)
        return params

    @field_validator("returns")
    @classmethod
    def _returns(cls, kind: str) -> str:
        return check_type(kind)


def encode(value: Any, kind: str) -> str:
    """``value`` in the token format, checked against ``kind`` (``ValueError`` saying what does
    not fit)."""
    inner = element(kind)
    if inner is not None:
        if not isinstance(value, list):
            raise ValueError(f"{value!r:.60} is not a list ({kind})")
        return " ".join([str(len(value)), *(encode(v, inner) for v in value)])
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{value!r:.60} is not a bool")
        return "1" if value else "0"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ValueError(f"{value!r:.60} is not a 64-bit int")
        return str(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r:.60} is not a float")
        number = float(value)
        return repr(number) if math.isfinite(number) else str(number)
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"{value!r:.60} is not a str")
        return f"{len(value.encode('utf-8'))} {value}"
    raise ValueError(f"unknown type {kind!r}")


def call_text(name: str, args: list[Any]) -> str:
    """A call as feedback and prompts show it: ``add(1, [2, 3])``."""
    return f"{name}({', '.join(repr(a) for a in args)})"
