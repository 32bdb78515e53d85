"""The languages codemend writes, repairs and scores, and their toolchains: in one place.

Each ``Language`` says how a model names its code blocks, which file the sandbox writes the code
to, how it compiles it (``compile``; a syntax check for JavaScript) and runs it (``run``), and
what the runtime needs beyond a problem's own memory budget. Toolchains are found on the
sandbox's own PATH (``/usr/bin:/bin``, which the sandbox binds read-only), never in a user's
home, so a run as root and a run as an unprivileged user use the same compiler; a toolchain that
is missing is an ``ToolchainMissing`` error naming the Debian package that provides it.

Python runs as before (in the sandbox's own interpreter, no toolchain here): ``compile`` and
``run`` are empty for it.

Address space (RLIMIT_AS): a native program gets the problem's budget. The JVM and V8 reserve
virtual memory they do not use; measured on OpenJDK 17 (serial GC, the flags below) and Node 20,
``java -Xmx256m`` needs about 700 MB of address space to start and Node about 800 MB, so their
``runtime_memory_mb`` is added to the budget while their heaps (``-Xmx``,
``--max-old-space-size``) are held to the problem's budget.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from typing import Literal, get_args

from codemend.errors import InfrastructureError, UserError

LanguageName = Literal["python", "c", "cpp", "java", "javascript", "rust"]
LANGUAGES: tuple[LanguageName, ...] = get_args(LanguageName)
SANDBOX_PATH = "/usr/bin:/bin"
"""Where toolchains are looked up: the sandbox's PATH."""

_JVM = (
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:CICompilerCount=1",
    "-XX:ReservedCodeCacheSize=32m",
    "-XX:CompressedClassSpaceSize=32m",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:-UsePerfData",
    "-Xshare:auto",
)


class ToolchainMissing(InfrastructureError):
    """A language's compiler or runtime is not installed where the sandbox can use it: the
    machine's fault, never the candidate's; the message names the package to install."""

    def __init__(self, language: str, program: str, package: str) -> None:
        self.language, self.program, self.package = language, program, package
        super().__init__(
            f"the {language} toolchain is missing: {program} is not in {SANDBOX_PATH}; "
            f"install Debian's `{package}` (apt-get install {package})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Language:
    """One language: its names, its toolchain's commands and its runtime's needs.

    ``compile`` and ``run`` are argument lists with ``{dir}`` (the build directory), ``{src}``
    (the source file's path), ``{main}`` (Java: the class to run) and ``{heap_mb}`` (the
    problem's memory budget) to fill in; their first word is looked up on ``SANDBOX_PATH``.
    """

    name: LanguageName
    display: str
    fence: str
    tags: frozenset[str]
    source: str = ""
    compile: tuple[str, ...] = ()
    run: tuple[str, ...] = ()
    package: str = ""
    runtime_memory_mb: int = 0
    compile_memory_mb: int = 2048
    markers: tuple[str, ...] = field(default=())

    @property
    def native(self) -> bool:
        """Compiled or run by a toolchain of its own (everything but Python)."""
        return bool(self.run)

    def files(self, code: str) -> tuple[str, str]:
        """The source file's name and the name the run command starts. Java: the file is named
        after the public class, as javac wants, and the class run is the one declaring ``main``
        (either, else the other, else ``Main``); other languages: the file and its stem."""
        if self.name != "java":
            return self.source, self.source.rsplit(".", 1)[0]
        public = re.search(r"^\s*public\s+(?:final\s+|abstract\s+)*class\s+(\w+)", code, re.M)
        at = re.search(r"\bstatic\s+(?:public\s+|final\s+)*void\s+main\s*\(", code)
        owners = [m[1] for m in re.finditer(r"\bclass\s+(\w+)", code[: at.start()] if at else "")]
        named = public[1] if public else None
        main = owners[-1] if owners else named or "Main"
        return f"{named or main}.java", main

    def programs(self) -> list[str]:
        """The toolchain's programs, as the commands name them."""
        commands = (self.compile, self.run)
        return list(dict.fromkeys(cmd[0] for cmd in commands if cmd and not cmd[0].startswith("{")))

    def resolve(self) -> dict[str, str]:
        """Each program's path on ``SANDBOX_PATH``; ``ToolchainMissing`` naming the package for
        the first one that is not there."""
        found: dict[str, str] = {}
        for program in self.programs():
            path = shutil.which(program, path=SANDBOX_PATH)
            if path is None:
                raise ToolchainMissing(self.display, program, self.package)
            found[program] = path
        return found

    def flags(self) -> str:
        """The compile command as run (placeholders as written): recorded with measurements."""
        return " ".join(self.compile)


_C_MARKERS = (r"^\s*#\s*include\s*<(stdio|stdlib|string|math)\.h>", r"\bprintf\s*\(", r"\bscanf\s*\(")
_REGISTRY: dict[LanguageName, Language] = {
    "python": Language(
        name="python",
        display="Python",
        fence="python",
        tags=frozenset({"python", "py", "python3", "py3", "pycon", "ipython"}),
        markers=(r"^\s*def\s+\w+\s*\(.*\)\s*(->.*)?:\s*$", r"^\s*import\s+\w+\s*$", r"^\s*print\("),
    ),
    "c": Language(
        name="c",
        display="C",
        fence="c",
        tags=frozenset({"c", "h"}),
        source="main.c",
        compile=(
            "gcc",
            "-std=c17",
            "-O2",
            "-Wall",
            "-fdiagnostics-color=never",
            "-o",
            "{dir}/main",
            "{src}",
            "-lm",
        ),
        run=("{dir}/main",),
        package="gcc",
        markers=_C_MARKERS,
    ),
    "cpp": Language(
        name="cpp",
        display="C++",
        fence="cpp",
        tags=frozenset({"cpp", "c++", "cc", "cxx", "hpp"}),
        source="main.cpp",
        compile=(
            "g++",
            "-std=c++17",
            "-O2",
            "-Wall",
            "-fdiagnostics-color=never",
            "-o",
            "{dir}/main",
            "{src}",
        ),
        run=("{dir}/main",),
        package="g++",
        markers=(
            r"^\s*#\s*include\s*<(iostream|bits/stdc\+\+\.h|vector|string|algorithm)>",
            r"\bstd::",
            r"^\s*using\s+namespace\s+std\s*;",
        ),
    ),
    "java": Language(
        name="java",
        display="Java",
        fence="java",
        tags=frozenset({"java"}),
        source="Main.java",
        compile=(
            "javac",
            "-J-Xmx512m",
            *(f"-J{f}" for f in _JVM),
            "-encoding",
            "UTF-8",
            "-Xlint:all",
            "-d",
            "{dir}",
            "{src}",
        ),
        run=("java", "-Xmx{heap_mb}m", "-Xss16m", *_JVM, "-cp", "{dir}", "{main}"),
        package="default-jdk-headless",
        runtime_memory_mb=768,
        compile_memory_mb=1536,
        markers=(r"^\s*public\s+(final\s+)?class\s+\w+", r"\bSystem\.out\.print", r"^\s*import\s+java\."),
    ),
    "javascript": Language(
        name="javascript",
        display="JavaScript",
        fence="javascript",
        tags=frozenset({"javascript", "js", "node", "nodejs", "mjs", "cjs"}),
        source="main.js",
        compile=("node", "--check", "{src}"),
        run=("node", "--max-old-space-size={heap_mb}", "--stack-size=8000", "{src}"),
        package="nodejs",
        runtime_memory_mb=1024,
        markers=(r"\bconsole\.log\s*\(", r"\brequire\s*\(\s*['\"]", r"^\s*(const|let)\s+\w+\s*=", r"=>"),
    ),
    "rust": Language(
        name="rust",
        display="Rust",
        fence="rust",
        tags=frozenset({"rust", "rs"}),
        source="main.rs",
        compile=(
            "rustc",
            "--edition",
            "2021",
            "-O",
            "-C",
            "strip=symbols",
            "--color",
            "never",
            "-o",
            "{dir}/main",
            "{src}",
        ),
        run=("{dir}/main",),
        package="rustc",
        markers=(r"^\s*fn\s+main\s*\(\s*\)", r"^\s*use\s+std::", r"\blet\s+mut\s+", r"\bprintln!\s*\("),
    ),
}


def language(name: str) -> Language:
    """The language called ``name``; ``UserError`` naming the known ones for any other."""
    found = next((lang for key, lang in _REGISTRY.items() if key == name), None)
    if found is None:
        raise UserError(f"unknown language {name!r}; expected one of {', '.join(LANGUAGES)}")
    return found


def tagged(tag: str) -> Language | None:
    """The language a code fence's tag (```cpp, ```rs) names, if codemend knows it."""
    tag = tag.lower()
    return next((lang for lang in _REGISTRY.values() if tag in lang.tags), None)


def detect(code: str) -> Language | None:
    """The language ``code`` is most clearly written in, by markers only a few languages share
    (``#include <iostream>``, ``fn main()``, ``System.out.print``...); None when no language
    shows at least two of its markers. For feedback only: a verdict never rests on it."""
    scores = {
        lang.name: sum(bool(re.search(m, code, re.M)) for m in lang.markers) for lang in _REGISTRY.values()
    }
    if scores["cpp"] and scores["c"]:  # C++ code usually shows C's markers too
        scores["c"] = 0
    best = max(scores, key=lambda n: scores[n])
    return language(best) if scores[best] >= 2 else None


def mismatch(code: str, expected: LanguageName) -> str | None:
    """A sentence saying ``code`` looks like another language than ``expected``, or None."""
    found = detect(code)
    if found is None or found.name == expected or {found.name, expected} == {"c", "cpp"}:
        return None
    return f"the code is written in {found.display}, not {language(expected).display}"
