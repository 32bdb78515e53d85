"""The problem model: what a task is, and the tests that judge a candidate."""

from __future__ import annotations

import ast
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from codemend import pysource
from codemend.languages import LanguageName, language
from codemend.problems.check_split import split_check
from codemend.problems.signature import Signature, call_text, encode

DRIVEN = ("cpp", "java", "javascript", "rust")
"""The languages whose function-level (``call``) tests a generated driver runs (``codemend.drivers``)."""

Visibility = Literal["visible", "hidden"]


def _call_test(data: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    """A ``call`` test of a problem file as the ``IOTest`` the driver runs: its arguments and
    expected result encoded by the problem's signature (``ValueError`` saying what does not fit)."""
    extra = set(test) - {"kind", "args", "expected", "visibility"}
    if extra:
        raise ValueError(f"unknown field(s) in a call test: {sorted(extra)}")
    if data.get("language", "python") == "python":
        raise ValueError("call tests are for other languages than Python: Python takes assertion tests")
    try:
        signature = Signature.model_validate(data.get("signature"))
    except ValidationError as exc:
        why = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ValueError(f"call tests need a valid `signature` (params and returns): {why}") from None
    args, entry = test.get("args"), data.get("entry_point")
    if not isinstance(args, list) or len(args) != len(signature.params):
        raise ValueError(f"a call test's `args` must be a list of {len(signature.params)} argument(s)")
    if "expected" not in test:
        raise ValueError("a call test needs `expected`")
    stdin = " ".join(encode(a, kind) for a, (_, kind) in zip(args, signature.params, strict=True))
    return {
        "kind": "io",
        "stdin": stdin + "\n",
        "expected_stdout": encode(test["expected"], signature.returns) + "\n",
        "visibility": test.get("visibility", "visible"),
        "call": call_text(entry if isinstance(entry, str) else "f", args),
        "result_type": signature.returns,
    }


def _compiled(code: str, what: str) -> str:
    try:
        pysource.compile_warnings(code, f"<{what}>")
    except SyntaxError as exc:
        raise ValueError(f"the {what} does not parse (line {exc.lineno}: {exc.msg}): {code[:80]!r}") from None
    except ValueError as exc:  # null bytes
        raise ValueError(f"the {what} does not parse: {exc}") from None
    return code


class AssertTest(BaseModel):
    """Python statements (normally one ``assert``) that call the entry point.

    The code runs in the trusted harness; the entry point (and every other top-level
    function the candidate defines) is a proxy to the isolated candidate process.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["assert"] = "assert"
    code: str = Field(min_length=1)
    visibility: Visibility = "visible"
    in_child: bool = Field(
        default=False,
        description="Run inside the candidate's process (needs live objects); verdict untrusted.",
    )

    @field_validator("code")
    @classmethod
    def _compiles(cls, code: str) -> str:
        """A test that cannot parse would have the model "repair" against a broken test."""
        return _compiled(code, "test")


class IOTest(BaseModel):
    """A whole-program test: feed ``stdin``, compare stdout with ``expected_stdout``.

    A function-level test in another language than Python (``{"kind": "call", "args": [...],
    "expected": ...}`` in a problem file) becomes one of these: the call's arguments encoded on
    stdin for the generated driver, the expected result encoded, its type in ``result_type`` (the
    supervisor decodes the driver's output by it and compares values) and the call, as shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["io"] = "io"
    stdin: str = ""
    expected_stdout: str
    visibility: Visibility = "visible"
    call: str | None = Field(default=None, description="A call test: the call, as shown.")
    result_type: str | None = Field(default=None, description="A call test: the result's type.")

    @model_serializer(mode="wrap")
    def _without_call_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A program's test serialises as it did before call tests came (stored hashes stay)."""
        data: dict[str, Any] = handler(self)
        for key in ("call", "result_type"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


Test = Annotated[AssertTest | IOTest, Field(discriminator="kind")]


class PerfTest(BaseModel):
    """A performance input: a call of the entry point (``call``) or a program's ``stdin``,
    larger than the tests'. Its expected output comes from running the problem's reference
    solution in the sandbox (``codemend.optimise``), unless ``expected_stdout`` is given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call: str | None = Field(default=None, description="An expression calling the entry point.")
    stdin: str | None = None
    expected_stdout: str | None = None
    visibility: Visibility = Field(
        default="hidden",
        description="hidden (the default): timed for rewards and scores, never shown to the model, "
        "which learns only how many there are and their size; visible: quoted in the prompts and the "
        "speed feedback, and timed for that feedback only.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> PerfTest:
        if (self.call is None) == (self.stdin is None):
            raise ValueError("a performance test gives exactly one of `call` and `stdin`")
        if self.call is not None:
            _compiled(self.call, "performance call")
        return self


class Problem(BaseModel):
    """One programming task with its tests."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    prompt: str
    entry_point: str | None = Field(
        default=None, description="Function the tests call; None for stdin/stdout programs."
    )
    starter_code: str = ""
    language: LanguageName = Field(
        default="python",
        description="What the code is written in: python, c, cpp, java, javascript or rust "
        "(``codemend.languages`` has each one's toolchain); other languages than Python take "
        "stdin/stdout tests.",
    )
    time_limit_s: float = Field(default=5.0, gt=0, le=600, description="Per test, wall clock.")
    memory_limit_mb: int = Field(
        default=1024, gt=0, le=65536, description="Address space budget above the start-up use."
    )
    test_setup_code: str = Field(default="", description="Runs in the harness before each test.")
    tests: list[Test] = Field(default_factory=list)
    reference_solution: str | None = Field(
        default=None, description="A correct (possibly slow) solution: the baseline of `--objective speed`."
    )
    perf_tests: list[PerfTest] = Field(
        default_factory=list, description="Larger inputs on which `--objective speed` measures cost."
    )
    perf_generator: str | None = Field(
        default=None,
        description="Python source defining `generate(seed)`, which returns the arguments (a list or "
        "tuple of plain data) of one call of the entry point: every speed measurement draws a fresh "
        "input from a recorded seed, in the sandbox's trusted harness.",
    )
    signature: Signature | None = Field(
        default=None,
        description="Function-level tests in another language than Python (`call` tests): the entry "
        "point's parameter and return types, from which a driver in the target language is generated.",
    )
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="What the source says of the problem beyond the task (APPS `difficulty`; "
        "LiveCodeBench `platform`, `difficulty`, `release_date`; MBPP `split`; a file's own fields): "
        "never shown to the model; `bench --by KEY` breaks the scores down by one of them.",
    )

    @model_serializer(mode="wrap")
    def _without_empty_metadata(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A problem without metadata serialises as it did before the field existed, so its stored
        hash (and a checkpoint's digest of it) stays the same."""
        data: dict[str, Any] = handler(self)
        if not self.metadata:
            data.pop("metadata", None)
        if self.signature is None:
            data.pop("signature", None)
        return data

    @field_validator("perf_generator")
    @classmethod
    def _generator_defines_generate(cls, source: str | None) -> str | None:
        if source is None:
            return None
        _compiled(source, "performance input generator")
        defined = {
            node.name
            for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if "generate" not in defined:
            raise ValueError("the performance input generator must define a function `generate(seed)`")
        return source

    @model_validator(mode="before")
    @classmethod
    def _normalise_tests(cls, data: Any) -> Any:
        """Infer a missing ``kind``; split ``{"kind": "check", "code": "def check(...)"}``."""
        if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
            return data
        tests: list[Any] = []
        setups = [data.get("test_setup_code") or ""]
        for t in data["tests"]:
            if isinstance(t, dict) and "kind" not in t:
                t = {**t, "kind": "io" if "expected_stdout" in t else "assert"}
            if isinstance(t, dict) and t.get("kind") == "call":
                t = _call_test(data, t)
            if not (isinstance(t, dict) and t.get("kind") == "check"):
                tests.append(t)
                continue
            entry = data.get("entry_point")
            if not isinstance(entry, str):
                raise ValueError("a `check` test needs an entry_point")
            extra = set(t) - {"kind", "code", "visibility"}
            if extra:
                raise ValueError(f"unknown field(s) in a check test: {sorted(extra)}")
            parts = split_check(str(t.get("code", "")), entry)
            setups.append(parts.setup)
            vis = t.get("visibility", "visible")
            tests.extend({"kind": "assert", "code": c, "visibility": vis} for c in parts.tests)
        return {**data, "tests": tests, "test_setup_code": "\n".join(s for s in setups if s)}

    @model_validator(mode="after")
    def _assert_tests_need_entry_point(self) -> Problem:
        if self.entry_point is None and any(t.kind == "assert" for t in self.tests):
            raise ValueError("assertion tests need an entry_point")
        if self.entry_point is None and any(t.call is not None for t in self.perf_tests):
            raise ValueError("performance calls need an entry_point")
        if self.entry_point is None and self.perf_generator is not None:
            raise ValueError(
                "a performance input generator returns a call's arguments: it needs an entry_point"
            )
        if self.language != "python":
            self._program_tests_only()
        if self.entry_point is not None and not self.entry_point.isidentifier():
            raise ValueError(f"entry_point {self.entry_point!r} is not a Python identifier")
        return self

    @model_validator(mode="after")
    def _calls_need_a_driver(self) -> Problem:
        calls = any(isinstance(t, IOTest) and t.result_type is not None for t in self.tests)
        if self.signature is not None and self.language not in DRIVEN:
            shown = language(self.language).display
            raise ValueError(f"a signature is for function-level tests in {', '.join(DRIVEN)}, not {shown}")
        if calls and self.signature is None:
            raise ValueError("call tests need a `signature` (the entry point's parameter and return types)")
        if self.signature is not None and self.entry_point is None:
            raise ValueError("a signature needs an entry_point (the function the driver calls)")
        return self

    def _program_tests_only(self) -> None:
        """Other languages than Python are judged on stdin/stdout tests (a driver calling a
        function in the target language is not built yet): anything Python-only is an error."""
        shown = language(self.language).display
        if any(t.kind == "assert" for t in self.tests):
            raise ValueError(
                f"assertion tests are Python: a {shown} problem takes stdin/stdout tests (`io`) only"
            )
        if any(t.call is not None for t in self.perf_tests) or self.perf_generator is not None:
            raise ValueError(f"performance calls are Python: a {shown} problem takes `stdin` inputs only")
        if self.test_setup_code:
            raise ValueError(f"test setup code is Python: a {shown} problem has none")

    @field_validator("test_setup_code")
    @classmethod
    def _setup_compiles(cls, code: str) -> str:
        return _compiled(code, "test setup code") if code else code

    def visible_tests(self) -> list[AssertTest | IOTest]:
        """The tests the repair loop may run and show the model, in order."""
        return [t for t in self.tests if t.visibility == "visible"]

    def hidden_tests(self) -> list[AssertTest | IOTest]:
        """The tests that only score the answers, never shown to the model, in order."""
        return [t for t in self.tests if t.visibility == "hidden"]
