"""The plain-data codec: exact round trips, and nothing else crosses."""

from __future__ import annotations

import collections
import json
import math
import os

import pytest

from codemend.problems import Problem
from codemend.sandbox import LocalSandbox
from codemend.sandbox.runtime import wire

PLAIN = [
    None,
    True,
    False,
    0,
    -7,
    2**53 + 1,
    -(2**200),
    1.5,
    -0.0,
    math.inf,
    -math.inf,
    "text",
    "ünï\u2028",
    b"\x00\xff",
    [1, [2]],
    (1, (2, 3)),
    {"a": 1, (1, 2): [3]},
    {1, 2},
    frozenset({"x"}),
    complex(1, -2),
    [],
    (),
    {},
    set(),
]


def roundtrip(value: object) -> object:
    read, write = os.pipe()
    try:
        wire.send_frame(write, ["v", wire.encode(value)])
        return wire.recv_frame(read, plain=True)[1]  # type: ignore[index]
    finally:
        os.close(read)
        os.close(write)


@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_plain_values_round_trip_type_exact(value: object) -> None:
    back = roundtrip(value)
    assert back == value and type(back) is type(value)


def test_nan_round_trips_as_nan() -> None:
    back = roundtrip(float("nan"))
    assert isinstance(back, float) and math.isnan(back)


def test_bool_and_int_stay_distinct_inside_containers() -> None:
    back = roundtrip((1, True, 1.0))
    assert [type(x) for x in back] == [int, bool, float]  # type: ignore[attr-defined]


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True


class SneakyInt(int):
    def __eq__(self, other: object) -> bool:
        return True

    def __int__(self) -> int:
        return 99

    __hash__ = int.__hash__


class SneakyStr(str):
    def __eq__(self, other: object) -> bool:
        return True

    def __str__(self) -> str:
        return "a lie"

    __hash__ = str.__hash__


class SneakyList(list):  # type: ignore[type-arg]
    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(["a lie"])


@pytest.mark.parametrize("value", [AlwaysEqual(), [AlwaysEqual()], {"k": AlwaysEqual()}, print, iter([1])])
def test_non_plain_values_do_not_cross(value: object) -> None:
    with pytest.raises(wire.Unencodable):
        wire.encode(value)


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (SneakyInt(3), 3),
        (SneakyStr("x"), "x"),
        (SneakyList([1, 2]), [1, 2]),
        ({SneakyStr("k"): [SneakyInt(1)]}, {"k": [1]}),
        (collections.Counter("aab"), {"a": 2, "b": 1}),
        (collections.defaultdict(list, {"x": [1]}), {"x": [1]}),
        (collections.namedtuple("P", "a b")(1, 2), (1, 2)),
    ],
)
def test_subclasses_cross_as_their_base_type_with_their_real_contents(value: object, plain: object) -> None:
    back = roundtrip(value)
    assert back == plain and type(back) is type(plain)


def test_self_referencing_list_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(wire.Unencodable):
        wire.encode(loop)


@pytest.mark.parametrize(
    "payload",
    [
        '{"t": 1}',
        '{"x": [1]}',
        '{"S": [[1]]}',
        '{"d": [[1]]}',
        '{"a": 1, "b": 2}',
        '{"y": 5}',
        '{"c": ["a", 1]}',
    ],
)
def test_malformed_tagged_values_are_rejected(payload: str) -> None:
    read, write = os.pipe()
    body = f'["v", {payload}]'.encode()
    os.write(write, len(body).to_bytes(4, "big") + body)
    with pytest.raises(wire.FrameError):
        wire.recv_frame(read, plain=True)
    os.close(read)
    os.close(write)


def test_oversized_and_truncated_frames_are_errors() -> None:
    read, write = os.pipe()
    os.write(write, (10**6).to_bytes(4, "big"))
    with pytest.raises(wire.FrameError, match="exceeds"):
        wire.recv_frame(read, limit=1000)
    os.close(write)
    read2, write2 = os.pipe()
    os.write(write2, (10).to_bytes(4, "big") + b"[1")
    os.close(write2)
    with pytest.raises(wire.FrameError, match="inside a frame"):
        wire.recv_frame(read2)
    os.close(read)
    os.close(read2)


def test_clean_end_of_stream_is_eof() -> None:
    read, write = os.pipe()
    os.close(write)
    assert wire.recv_frame(read) is wire.EOF
    os.close(read)


def test_envelope_objects_are_not_decoded_as_tags_without_plain() -> None:
    read, write = os.pipe()
    wire.send_frame(write, {"status": "passed"})
    assert wire.recv_frame(read) == {"status": "passed"}
    assert json.dumps(wire.encode((1,))) == '{"t": [1]}'
    os.close(read)
    os.close(write)


def test_the_job_the_pool_sends_has_exactly_the_declared_keys() -> None:
    problem = Problem(
        id="p",
        prompt="",
        entry_point="f",
        tests=[{"code": "assert f() == 1"}, {"stdin": "1", "expected_stdout": "1"}],
    )
    job = LocalSandbox(workers=1)._job(problem, "def f():\n    return 1\n", problem.tests)
    assert set(job) == wire.Job.__required_keys__
    assert set(job["limits"]) == wire.Limits.__required_keys__
    assert_spec, io_spec = (set(t) for t in job["tests"])
    assert assert_spec == wire.AssertSpec.__required_keys__ | {"call"}  # a literal assert: taken apart
    assert set(job["tests"][0]["call"]) == wire.DirectCall.__required_keys__  # type: ignore[typeddict-item]
    assert io_spec == wire.IOSpec.__required_keys__
