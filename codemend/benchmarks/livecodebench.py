"""LiveCodeBench ``code_generation_lite`` JSONL (Jain et al. 2024).

``public_test_cases`` are visible; the hidden tests are the public and the private ones (the
benchmark's own evaluation runs both). Private tests may be stored compressed (base64 of zlib of
a pickled JSON string): they are unpickled with every global refused, so a crafted file cannot
run code in this process. ``testtype`` ``stdin`` becomes an I/O test, ``functional`` an
assertion test calling ``metadata.func_name`` (``Solution().name`` when the starter is a class).
The problem's metadata keeps ``platform``, ``difficulty``, ``contest_id``, ``question_title`` and
``release_date`` (the day of ``contest_date``), which ``bench --released-after`` selects on.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from codemend.benchmarks.calls import call_test
from codemend.errors import ProblemFileError
from codemend.problems import AssertTest, IOTest, Problem
from codemend.problems.jsonl import field, iter_jsonl, json_field, record_errors


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _cases(text: str, path: str, line: int, key: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except RecursionError:
        raise ProblemFileError(path, "JSON nested too deeply", line=line, field=key) from None
    except json.JSONDecodeError:
        try:
            raw = zlib.decompress(base64.b64decode(text))
            value = json.loads(_PlainUnpickler(io.BytesIO(raw)).load())
        except Exception as exc:  # any failure here is a malformed file
            raise ProblemFileError(
                path, f"neither JSON nor compressed JSON: {exc}", line=line, field=key
            ) from None
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        raise ProblemFileError(path, "expected a list of test cases", line=line, field=key)
    return value


def _test(case: dict[str, Any], func: str | None, method: bool, path: str, line: int) -> AssertTest | IOTest:
    kind, given, want = case.get("testtype"), case.get("input"), case.get("output")
    if not isinstance(given, str) or not isinstance(want, str):
        raise ProblemFileError(path, "a test case needs string `input` and `output`", line=line)
    if kind == "stdin":
        return IOTest(stdin=given, expected_stdout=want)
    if kind != "functional" or func is None:
        raise ProblemFileError(path, f"unsupported test type {kind!r}", line=line, field="testtype")
    try:
        args = [json.loads(part) for part in given.split("\n") if part.strip()]
        expected = json.loads(want)
    except json.JSONDecodeError as exc:
        raise ProblemFileError(path, f"functional test data is not JSON: {exc.msg}", line=line) from None
    return AssertTest(code=call_test(func, args, expected, method=method, unwrap=False))


_KEPT = ("platform", "difficulty", "contest_id", "question_title")


def _metadata(record: dict[str, Any], path: str, line: int) -> dict[str, Any]:
    meta: dict[str, Any] = {k: record[k] for k in _KEPT if isinstance(record.get(k), str | int) and record[k]}
    released = record.get("contest_date")
    if released is None or released == "":
        return meta
    try:
        day = datetime.fromisoformat(str(released)).date()
    except ValueError:
        raise ProblemFileError(
            path, f"not an ISO date: {released!r}", line=line, field="contest_date"
        ) from None
    return {**meta, "release_date": day.isoformat()}


def load_livecodebench(path: str | Path) -> list[Problem]:
    """The problems of a LiveCodeBench JSON Lines file: public test cases visible, public and private
    ones hidden; a malformed record raises ``ProblemFileError`` naming its line and field."""
    name = str(path)
    problems = []
    for line, record in iter_jsonl(path):
        with record_errors(name, line):
            qid = field(record, "question_id", (str, int), name, line)
            content = field(record, "question_content", str, name, line)
            starter = record.get("starter_code") or ""
            meta = record.get("metadata") or {}
            meta = json_field(record, "metadata", name, line) if isinstance(meta, str) else meta
            func = meta.get("func_name") if isinstance(meta, dict) else None
            method = "class Solution" in starter
            public = _cases(
                field(record, "public_test_cases", str, name, line), name, line, "public_test_cases"
            )
            private_text = record.get("private_test_cases") or "[]"
            private = _cases(private_text, name, line, "private_test_cases")
            visible = [_test(c, func, method, name, line) for c in public]
            hidden = [_test(c, func, method, name, line) for c in [*public, *private]]
            entry = ("Solution" if method else func) if func else None
            problems.append(
                Problem(
                    id=f"livecodebench/{qid}",
                    prompt=content + (f"\n\n{starter}\n" if starter else ""),
                    entry_point=entry,
                    starter_code=starter,
                    tests=[
                        *(t.model_copy(update={"visibility": "visible"}) for t in visible),
                        *(t.model_copy(update={"visibility": "hidden"}) for t in hidden),
                    ],
                    metadata=_metadata(record, name, line),
                )
            )
    return problems
