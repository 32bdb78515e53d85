"""The harness process: runs the problem's test code and decides each assertion verdict.

Test code is not trusted either, so this process is sandboxed too, under its own uid. The
entry point (and every other top-level function of the solution) is a proxy that calls the
candidate process over fd 3; only plain data crosses back, so comparisons here use Python's
own ``==`` on built-in types. Progress and verdicts go to the supervisor on fd 4.
Standard library only.
"""

import ast
import builtins
import operator
import os
from collections.abc import Callable
from typing import Any, cast

if __package__:
    from codemend.sandbox.runtime import wire
    from codemend.sandbox.runtime.candidate import exc_info
else:  # inside the sandbox
    import wire  # type: ignore[import-not-found, no-redef]
    from candidate import exc_info  # type: ignore[import-not-found, no-redef]

CHANNEL = 3
CONTROL = 4
REPR_LIMIT = 300
TEST_FILE = "test.py"

_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def short(value: object, limit: int = REPR_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters (a type name when ``repr`` itself raises)."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CandidateGone(BaseException):
    """The candidate process died or broke the protocol (not catchable as ``Exception``)."""


class CandidateAbort(BaseException):
    """The candidate raised SystemExit, KeyboardInterrupt or another non-``Exception``."""


class Unplain(BaseException):
    """The candidate returned something that is not plain data."""


class NeedsChild(BaseException):
    """The test passes a non-plain argument: it can only run inside the candidate process."""


class CandidateError(Exception):
    """An exception of the candidate's with no built-in counterpart here."""


class AssertFail(AssertionError):
    def __init__(self, source: str, actual: object, expected: object) -> None:
        super().__init__(source)
        self.source, self.actual, self.expected = source, actual, expected


def _rebuild(name: str, message: str) -> Exception:
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return CandidateError(f"{name}: {message}")


class Proxies:
    """Builds proxy functions and remembers what happened during the current test."""

    def __init__(self) -> None:
        self.seq = 0
        self.dead = False
        self.reset()

    def reset(self) -> None:
        """Forget what the previous test called, returned and raised."""
        self.last_call: str | None = None
        self.last_result: object = None
        self.has_result = False
        self.last_exc: tuple[BaseException, list] | None = None
        self.poison: dict | None = None

    def make(self, name: str):  # type: ignore[no-untyped-def]
        """A function named ``name`` that calls the candidate's ``name`` through ``call``."""
        def proxy(*args: object, **kwargs: object) -> object:
            return self.call(name, args, kwargs)

        proxy.__name__ = proxy.__qualname__ = name
        return proxy

    def call(self, name: str, args: tuple, kwargs: dict) -> object:
        """Call the candidate's ``name`` in its process and return the result (or raise its
        exception); ``NeedsChild`` for arguments the wire cannot carry, ``CandidateGone`` when the
        candidate dies or breaks the protocol."""
        if self.dead:
            raise CandidateGone("the candidate process is gone")
        try:
            enc_args = [wire.encode(a) for a in args]
            enc_kwargs = wire.encode(dict(kwargs))
        except (wire.Unencodable, RecursionError):
            raise NeedsChild(name) from None
        parts = [short(a, 100) for a in args] + [f"{k}={short(v, 100)}" for k, v in kwargs.items()]
        self.last_call = f"{name}({', '.join(parts)})"[: REPR_LIMIT * 2]
        mutable = [i for i, a in enumerate(args) if type(a) in (list, dict, set)]
        self.seq += 1
        try:
            wire.send_frame(CHANNEL, [wire.CALL, self.seq, name, enc_args, enc_kwargs, mutable])
            reply = wire.recv_frame(CHANNEL, plain=True)
        except (OSError, wire.FrameError) as exc:
            return self._gone(f"broke the protocol: {exc}")
        if reply is wire.EOF:
            return self._gone("exited during the call")
        if not (isinstance(reply, list) and len(reply) >= 2 and reply[1] == self.seq):
            return self._gone("sent a malformed reply")
        kind = reply[0]
        if kind == wire.OK and len(reply) == 4:
            for index, value in reply[3]:
                self._write_back(args, index, value)
            self.last_result, self.has_result = reply[2], True
            return reply[2]
        if kind == wire.EXC and len(reply) == 6:
            info: list[Any] = [str(x) if i < 3 else bool(x) for i, x in enumerate(reply[2:])]
            if info[3]:
                self.poison = {"status": "error", "info": info}
                raise CandidateAbort(info[0])
            error = _rebuild(info[0], info[1])
            self.last_exc = (error, info)
            raise error
        if kind == wire.UNPLAIN and len(reply) == 3:
            raise Unplain(str(reply[2]))
        return self._gone("sent an unknown reply")

    def _write_back(self, args: tuple, index: object, value: Any) -> None:
        if not isinstance(index, int) or not 0 <= index < len(args):
            return
        target = args[index]
        if type(target) is not type(value):
            return
        if isinstance(target, list):
            target[:] = value
        elif isinstance(target, dict | set):
            target.clear()
            target.update(value)

    def _gone(self, why: str) -> object:
        self.dead = True
        self.poison = {"status": "crashed", "detail": f"the candidate process {why}"}
        raise CandidateGone(why)

    def run_in_child(self, setup: str, code: str) -> list:
        """Send a whole test to run inside the candidate process (its arguments cannot cross the wire);
        the candidate's raw reply, or ``CandidateGone``."""
        self.seq += 1
        try:
            wire.send_frame(CHANNEL, [wire.TEST, self.seq, setup, code])
            reply = wire.recv_frame(CHANNEL, plain=True)
        except (OSError, wire.FrameError) as exc:
            self._gone(f"broke the protocol: {exc}")
        if reply is wire.EOF or not isinstance(reply, list) or len(reply) < 2:
            self._gone("exited during the test")
        return reply  # type: ignore[return-value]


class ClassProxy:
    """A class of the solution, e.g. ``Solution().twoSum(...)``: each method call runs on a fresh
    instance in the candidate process. Constructor arguments need the live object (in-child)."""

    def __init__(self, proxies: Proxies, name: str) -> None:
        self._proxies, self.__name__ = proxies, name

    def __call__(self, *args: object, **kwargs: object) -> "ClassProxy":
        if args or kwargs:
            raise NeedsChild(self.__name__)
        return self

    def __getattr__(self, method: str) -> Any:
        if method.startswith("__"):
            raise AttributeError(method)
        return self._proxies.make(f"{self.__name__}.{method}")


class _Rewrite:
    """``assert a OP b`` -> ``__cm_cmp(a, b, op, i)`` so a failure reports both sides.

    Asserts are statements: only statement lists are walked (bodies, ``else``, ``finally``,
    handlers, match cases), not expressions, which is most of a test's tree."""

    def __init__(self, source: str, called: set[str]) -> None:
        self.source, self.called = source, called
        self.asserts: list[tuple[str, type, bool]] = []

    def _calls_candidate(self, node: ast.AST) -> bool:
        return any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.called
            for n in ast.walk(node)
        )

    def statements(self, body: list[ast.stmt]) -> None:
        """Rewrite the asserts of ``body`` and of the statement lists nested in it, in place."""
        for i, node in enumerate(body):
            if isinstance(node, ast.Assert):
                body[i] = self.rewrite(node)
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    self.statements(inner)
            for block in [*getattr(node, "handlers", ()), *getattr(node, "cases", ())]:
                self.statements(block.body)

    def rewrite(self, node: ast.Assert) -> ast.stmt:
        """The call that replaces ``node`` (``node`` itself when it is not a single comparison)."""
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS):
            return node
        left, right = test.left, test.comparators[0]
        swap = self._calls_candidate(right) and not self._calls_candidate(left)
        text = ast.get_source_segment(self.source, node) or ast.unparse(node)
        self.asserts.append((text, type(test.ops[0]), swap))
        name = ast.copy_location(ast.Name("__cm_cmp", ast.Load()), node)
        index = ast.copy_location(ast.Constant(len(self.asserts) - 1), node)
        call = ast.copy_location(ast.Call(func=name, args=[left, right, index], keywords=[]), node)
        return ast.copy_location(ast.Expr(call), node)


def _compile_test(code: str, called: set[str]):  # type: ignore[no-untyped-def]
    tree = ast.parse(code, TEST_FILE)
    rewrite = _Rewrite(code, called)
    rewrite.statements(tree.body)
    asserts = rewrite.asserts

    def cmp(a: object, b: object, index: int) -> None:
        text, op, swap = asserts[index]
        if not _OPS[op](a, b):
            raise AssertFail(text, b if swap else a, a if swap else b)

    return compile(tree, TEST_FILE, "exec"), cmp


def verdict(status: str, **fields: object) -> dict:
    """A trusted verdict: ``status`` and the fields that are not None."""
    return {"status": status, "trusted": True, **{k: v for k, v in fields.items() if v is not None}}


def exception_verdict(status: str, info: list, **fields: object) -> dict:
    """The verdict of an exception (``info``: ``candidate.exc_info``'s list); a MemoryError's is
    ``memory``."""
    if info[0] == "MemoryError":
        status = "memory"
    return verdict(status, exc_type=info[0], exc_message=info[1], traceback=info[2], **fields)


def run_test(test: wire.AssertSpec, base: dict, setup: str, proxies: Proxies) -> dict:
    """Run one assert test against the proxies in a fresh copy of ``base``; its verdict (status,
    call, expected and actual values, exception) as a plain dict."""
    proxies.reset()
    called = {k for k, v in base.items() if getattr(v, "__name__", None) == k} | {"candidate"}
    try:
        if test.get("in_child"):
            return _in_child(test, setup, proxies)
        code, cmp = _compile_test(test["code"], called)
        scope = dict(base)
        scope["__cm_cmp"] = cmp
        exec(code, scope)
        outcome = verdict("passed")
    except AssertFail as fail:
        outcome = verdict(
            "failed",
            call=proxies.last_call,
            assertion=fail.source,
            expected=short(fail.expected),
            actual=short(fail.actual),
        )
    except AssertionError as exc:
        actual = short(proxies.last_result) if proxies.has_result else None
        outcome = verdict("failed", call=proxies.last_call, actual=actual, exc_message=str(exc)[:300])
    except Unplain as exc:
        outcome = verdict(
            "failed",
            call=proxies.last_call,
            actual=f"<a {exc} object: only plain data can be checked>",
        )
    except NeedsChild:
        return _in_child(test, setup, proxies)
    except (CandidateGone, CandidateAbort):
        outcome = verdict("crashed")
    except BaseException as exc:
        if proxies.last_exc is not None and proxies.last_exc[0] is exc:
            outcome = exception_verdict("error", proxies.last_exc[1], call=proxies.last_call)
        else:
            info = exc_info(exc, TEST_FILE)
            detail = "raised in the test code"
            outcome = exception_verdict("error", info, call=proxies.last_call, detail=detail)
    if proxies.poison is not None:
        poison = proxies.poison
        if "info" in poison:
            outcome = exception_verdict(poison["status"], poison["info"], call=proxies.last_call)
        else:
            outcome = verdict(poison["status"], call=proxies.last_call, detail=poison["detail"])
    return outcome


def _in_child(test: wire.AssertSpec, setup: str, proxies: Proxies) -> dict:
    try:
        reply = proxies.run_in_child(setup, test["code"])
    except CandidateGone:
        return verdict("crashed", trusted=False, detail=proxies.poison and proxies.poison.get("detail"))
    if reply[0] == wire.PASSED:
        return {**verdict("passed"), "trusted": False}
    info: list[Any] = [str(x) for x in reply[2:5]] + [bool(reply[5]) if len(reply) > 5 else False]
    status = "failed" if info[0] == "AssertionError" else "error"
    return {**exception_verdict(status, info), "trusted": False}


def main(job: wire.Job, indexes: list[int]) -> None:
    """Run the job's assertion tests ``indexes`` in order, reporting on ``CONTROL``."""
    proxies = Proxies()
    ready = wire.recv_frame(CHANNEL, plain=True)
    tests, setup = job["tests"], job.get("setup", "")
    if ready is wire.EOF or not isinstance(ready, list) or ready[0] not in (wire.READY, wire.IMPORT_ERROR):
        for i in indexes:
            wire.send_frame(
                CONTROL,
                [wire.RESULT, i, verdict("crashed", detail="the candidate process exited while loading")],
            )
        return
    if ready[0] == wire.IMPORT_ERROR:
        info: list[Any] = [str(x) for x in ready[1:4]] + [bool(ready[4])]
        for i in indexes:
            result = exception_verdict("error", info, detail="the solution raised while loading")
            wire.send_frame(CONTROL, [wire.RESULT, i, result])
        return
    base: dict = {"__builtins__": builtins, "__name__": "__test__"}
    names = [n for n in ready[1] if isinstance(n, str) and n.isidentifier()]
    classes = set(ready[2]) if len(ready) > 2 and isinstance(ready[2], list) else set()
    entry = job.get("entry_point")
    for name in [*([entry] if entry else []), *names]:
        base[name] = ClassProxy(proxies, name) if name in classes else proxies.make(name)
    in_child = False
    try:
        exec(compile(setup, "setup.py", "exec"), base)
    except NeedsChild:  # the setup builds the solution's own objects: every test needs them live
        in_child = True
    except BaseException as exc:
        setup_info = exc_info(exc, "setup.py")
        for i in indexes:
            result = exception_verdict("error", setup_info, detail="the test setup code raised")
            wire.send_frame(CONTROL, [wire.RESULT, i, result])
        return
    for i in indexes:
        wire.send_frame(CONTROL, [wire.START, i])
        spec = cast(wire.AssertSpec, tests[i])  # ``indexes`` are assertion tests
        test: wire.AssertSpec = {**spec, "in_child": True} if in_child else spec
        wire.send_frame(CONTROL, [wire.RESULT, i, run_test(test, base, setup, proxies)])
        if proxies.dead:
            return
    # The candidate reads the channel's end and exits while this process does: an exiting
    # process closes its descriptors only after freeing its memory (a third of a millisecond).
    os.close(CHANNEL)
    wire.send_frame(CONTROL, [wire.DONE])
