"""Shared by the language tests: a toolchain check that skips (with the package to install) on
a user's machine that lacks one and fails under CI, which installs them all; problems and
trivial programs per language."""

from __future__ import annotations

import os

import pytest

from codemend.errors import InfrastructureError
from codemend.languages import LANGUAGES, LanguageName, language
from codemend.problems import Problem

NATIVE: list[LanguageName] = [n for n in LANGUAGES if n != "python"]

DOUBLE = {
    "c": "#include <stdio.h>\nint main(void) {\n    long x;\n"
    '    while (scanf("%ld", &x) == 1) printf("%ld\\n", 2 * x);\n    return 0;\n}\n',
    "cpp": "#include <iostream>\nint main() {\n    long x;\n"
    "    while (std::cin >> x) std::cout << 2 * x << '\\n';\n}\n",
    "java": "import java.util.Scanner;\n\npublic class Main {\n    public static void main(String[] args) {\n"
    "        Scanner in = new Scanner(System.in);\n"
    "        while (in.hasNextLong()) System.out.println(2 * in.nextLong());\n"
    "    }\n}\n",
    "javascript": "const lines = require('fs').readFileSync(0, 'utf8').split(/\\s+/).filter(Boolean);\n"
    "for (const x of lines) console.log(String(2n * BigInt(x)));\n",
    "rust": "use std::io::Read;\n\nfn main() {\n    let mut s = String::new();\n"
    "    std::io::stdin().read_to_string(&mut s).unwrap();\n"
    '    for x in s.split_whitespace() {\n        println!("{}", 2 * x.parse::<i64>().unwrap());\n    }\n}\n',
    "python": "import sys\nfor x in sys.stdin.read().split():\n    print(2 * int(x))\n",
}
"""A correct program per language: reads integers, prints each doubled on its own line."""


def need_toolchain(name: str) -> None:
    """Skip, saying what to install, when ``name``'s toolchain is missing here; under CI (which
    installs every toolchain, see .ci/run) fail instead."""
    try:
        language(name).resolve()
    except InfrastructureError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have every toolchain: {exc}")
        pytest.skip(str(exc))


def io_problem(name: str, *pairs: tuple[str, str], time_limit_s: float = 5.0, **extra: object) -> Problem:
    """A stdin/stdout problem in language ``name`` with one test per (stdin, expected) pair."""
    tests = [{"kind": "io", "stdin": i, "expected_stdout": o} for i, o in pairs]
    data = {"id": f"{name}-t", "prompt": "", "language": name, "time_limit_s": time_limit_s, "tests": tests}
    return Problem.model_validate({**data, **extra})
