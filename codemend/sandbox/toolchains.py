"""A problem's toolchain as a worker gets it: ``codemend.languages`` settings with the programs
found on the sandbox's PATH and the problem's limits filled in (``wire.Toolchain``).

The host resolves and fills everything; the supervisor only puts its build directory in place
of ``{dir}``, so no language knowledge lives inside the sandbox's runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

from codemend import drivers
from codemend.languages import language
from codemend.problems import Problem
from codemend.sandbox.runtime import wire


@dataclass(frozen=True, slots=True, kw_only=True)
class CompileLimits:
    """What compiling one candidate may take, apart from the problem's run limits."""

    time_s: float = 30.0
    fsize_mb: int = 64
    memory_mb: int | None = None  # None: the language's own (``Language.compile_memory_mb``)


def _filled(argv: tuple[str, ...], paths: dict[str, str], values: dict[str, str]) -> list[str]:
    head = paths.get(argv[0], argv[0])
    rest = [arg.format_map(_Keep(values)) for arg in argv[1:]]
    return [head.format_map(_Keep(values)), *rest]


class _Keep(dict[str, str]):
    """``str.format_map`` values that leave ``{dir}`` (the supervisor's to fill) as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def toolchain_job(problem: Problem, code: str, limits: CompileLimits) -> tuple[wire.Toolchain | None, str]:
    """The toolchain of ``problem``'s language for ``code`` (None for Python, which the worker
    runs itself) and the code to build: with a signature, the candidate's code and the driver
    that calls its entry point (``codemend.drivers``); ``ToolchainMissing`` when a program is
    not installed."""
    lang = language(problem.language)
    if not lang.native:
        return None, code
    paths = lang.resolve()
    driven: str | None = None
    if problem.signature is not None and problem.entry_point is not None:
        code, driven = drivers.wrap(lang.name, code, problem.entry_point, problem.signature)
    source, main = lang.files(code)
    main = driven or main
    values = {"src": "{dir}/" + source, "main": main, "heap_mb": str(problem.memory_limit_mb)}
    # The compiler runs in the build directory on relative paths: its diagnostics (and a Rust
    # panic's location) name ``main.cpp:3:26``, the same on every run, not a run's directory.
    here = {**values, "src": source, "dir": "."}
    spec: wire.Toolchain = {
        "language": lang.name,
        "source": source,
        "compile": _filled(lang.compile, paths, here) if lang.compile else None,
        "run": _filled(lang.run, paths, values),
        "compile_time_s": limits.time_s,
        "compile_memory_mb": limits.memory_mb or lang.compile_memory_mb,
        "compile_fsize_mb": limits.fsize_mb,
        "memory_mb": problem.memory_limit_mb + lang.runtime_memory_mb,
    }
    return spec, code
