"""Function-level tests in C++, Java, JavaScript and Rust through generated drivers, in the real
sandbox: the driver prints the result, the supervisor decodes and compares it; the function's
own prints go to stderr; a candidate that exits early, forges output on every fd or breaks the
driver gets a failed (or compile) verdict, never a pass."""

from __future__ import annotations

from typing import Any

import pytest
from language_helpers import need_toolchain

from codemend.agents.render import prompt_values
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox, TestReport

DRIVEN = ["cpp", "java", "javascript", "rust"]
SIG = {"params": [["xs", "list[int]"], ["sep", "str"], ["scale", "float"]], "returns": "list[str]"}
CALLS = [
    {"kind": "call", "args": [[1, 2, 3], "-é-", 0.5], "expected": ["0.5-é-1", "1.0-é-2", "1.5-é-3"]},
    {"kind": "call", "args": [[], "x", 2.0], "expected": []},
]
# Each prints a line of its own (to stderr, so not a wrong answer) and renders the list.
RENDER = {
    "cpp": "#include <iostream>\n#include <sstream>\n#include <string>\n#include <vector>\n\n"
    "std::vector<std::string> render(std::vector<long long> xs, std::string sep, double scale) {\n"
    '    std::cout << "rendering " << xs.size() << std::endl;\n    std::vector<std::string> out;\n'
    "    for (long long x : xs) {\n        std::ostringstream s;\n        s << x * scale;\n"
    "        std::string v = s.str();\n        if (v.find('.') == std::string::npos) v += \".0\";\n"
    "        out.push_back(v + sep + std::to_string(x));\n    }\n    return out;\n}\n",
    "java": "import java.util.ArrayList;\n\nclass Solution {\n"
    "    public static ArrayList<String> render(ArrayList<Long> xs, String sep, double scale) {\n"
    '        System.out.println("rendering " + xs.size());\n'
    "        ArrayList<String> out = new ArrayList<>();\n"
    "        for (long x : xs) out.add(Double.toString(x * scale) + sep + x);\n"
    "        return out;\n    }\n}\n",
    "javascript": "function render(xs, sep, scale) {\n  console.log('rendering', xs.length);\n"
    "  return xs.map((x) => {\n    const v = String(x * scale);\n"
    "    return (v.includes('.') ? v : v + '.0') + sep + x;\n  });\n}\n",
    "rust": "fn render(xs: Vec<i64>, sep: String, scale: f64) -> Vec<String> {\n"
    '    println!("rendering {}", xs.len());\n'
    '    xs.iter().map(|x| format!("{:?}{}{}", *x as f64 * scale, sep, x)).collect()\n}\n',
}


def problem(lang: str, calls: list[dict[str, Any]] | None = None, signature: Any = None) -> Problem:
    data = {"id": f"render-{lang}", "prompt": "Render each number scaled, then sep, then the number."}
    data |= {"language": lang, "entry_point": "render", "signature": signature or SIG, "time_limit_s": 5}
    return Problem.model_validate({**data, "tests": calls or CALLS})


def run(box: LocalSandbox, lang: str, code: str, **kwargs: Any) -> TestReport:
    need_toolchain(lang)
    return box.run(problem(lang, **kwargs), code)


@pytest.mark.parametrize("lang", DRIVEN)
def test_a_correct_function_passes_and_its_prints_go_to_stderr(
    local_sandbox: LocalSandbox, lang: str
) -> None:
    report = run(local_sandbox, lang, RENDER[lang])
    assert [r.status for r in report.results] == ["passed", "passed"], report
    first = report.results[0]
    assert first.call == "render([1, 2, 3], '-é-', 0.5)"
    assert first.actual == first.expected == "['0.5-é-1', '1.0-é-2', '1.5-é-3']"
    assert "rendering 3" in report.stderr


@pytest.mark.parametrize("lang", DRIVEN)
def test_a_wrong_result_fails_with_the_values_shown(local_sandbox: LocalSandbox, lang: str) -> None:
    calls = [{"kind": "call", "args": [[4], "+", 1.0], "expected": ["4.0+5"]}]
    (result,) = run(local_sandbox, lang, RENDER[lang], calls=calls).results
    assert (result.status, result.expected, result.actual) == ("failed", "['4.0+5']", "['4.0+4']")


FLOATS = {"params": [["x", "float"]], "returns": "float"}
THIRD = {
    "cpp": "double third(double x) { return x / 3; }\n",
    "java": "class Solution { public static double third(double x) { return x / 3; } }\n",
    "javascript": "const third = (x) => x / 3;\n",
    "rust": "fn third(x: f64) -> f64 { x / 3.0 }\n",
}


@pytest.mark.parametrize("lang", DRIVEN)
def test_floats_compare_within_a_tolerance_whatever_each_language_prints(
    local_sandbox: LocalSandbox, lang: str
) -> None:
    need_toolchain(lang)
    calls = [
        {"kind": "call", "args": [1.0], "expected": 0.3333333333333333},
        {"kind": "call", "args": [3e-9], "expected": 1e-9},
    ]
    data = {"id": "third", "prompt": "", "language": lang, "entry_point": "third", "signature": FLOATS}
    report = local_sandbox.run(Problem.model_validate({**data, "tests": calls}), THIRD[lang])
    assert report.passed, report


WRONG_TYPE = {
    "cpp": "#include <string>\n#include <vector>\n"
    "long long render(std::vector<long long> xs, std::string s, double d) { return 7; }\n",
    "java": "import java.util.ArrayList;\nclass Solution {\n"
    "    public static long render(ArrayList<Long> xs, String s, double d) { return 7; }\n}\n",
    "javascript": "function render(xs, sep, scale) { return 7; }\n",
    "rust": "fn render(xs: Vec<i64>, s: String, d: f64) -> i64 { 7 }\n",
}


@pytest.mark.parametrize("lang", DRIVEN)
def test_a_result_of_another_type_fails_as_undecodable(local_sandbox: LocalSandbox, lang: str) -> None:
    report = run(local_sandbox, lang, WRONG_TYPE[lang])
    assert [r.status for r in report.results] == ["failed", "failed"]
    assert (report.results[0].detail or "").startswith("the driver's output is not a list[str]: ")


# -- the guarantee: nothing inside the candidate's process decides the verdict ----------------

SECRET = {"kind": "call", "args": [[1], "s", 1.0], "expected": ["SECRET-7f3a"]}
FORGE = {
    # exit with status 0 from inside the function, before the driver prints anything
    "cpp-exit": (
        "cpp",
        "#include <cstdlib>\n#include <string>\n#include <vector>\n"
        "std::vector<std::string> render(std::vector<long long>, std::string, double) { std::exit(0); }\n",
    ),
    # write a well-formed result to every fd, the driver's copy of stdout included, then return
    "cpp-every-fd": (
        "cpp",
        "#include <string>\n#include <vector>\n#include <unistd.h>\n"
        "std::vector<std::string> render(std::vector<long long>, std::string, double) {\n"
        '    for (int fd = 0; fd < 1024; fd++) write(fd, "1 5 guess\\n", 10);\n    return {"guess"};\n}\n',
    ),
    # take over main through a macro: the driver's main is renamed, the program has none
    "cpp-macro-main": (
        "cpp",
        "#include <string>\n#include <vector>\n#define main not_main\n"
        "std::vector<std::string> render(std::vector<long long>, std::string, double) { return {}; }\n",
    ),
    # close the driver's stdout before main runs (a static initializer)
    "cpp-static-close": (
        "cpp",
        "#include <string>\n#include <vector>\n#include <unistd.h>\n"
        "static int closed = close(1);\n"
        "std::vector<std::string> render(std::vector<long long>, std::string, double) { return {}; }\n",
    ),
    "java-halt": (
        "java",
        "import java.util.ArrayList;\nclass Solution {\n"
        "    public static ArrayList<String> render(ArrayList<Long> xs, String s, double d) {\n"
        "        Runtime.getRuntime().halt(0);\n        return null;\n    }\n}\n",
    ),
    "javascript-overwrite-driver": (
        "javascript",
        "Buffer.byteLength = () => 11;\nprocess.exit = () => {};\n"
        "function render() { require('fs').writeSync(1, '1 11 SECRET-????\\n'); return ['x']; }\n",
    ),
    "rust-exit": (
        "rust",
        "fn render(_: Vec<i64>, _: String, _: f64) -> Vec<String> { std::process::exit(0) }\n",
    ),
}


@pytest.mark.parametrize("case", list(FORGE))
def test_forgery_from_inside_the_process_never_passes(local_sandbox: LocalSandbox, case: str) -> None:
    lang, code = FORGE[case]
    report = run(local_sandbox, lang, code, calls=[SECRET])
    (result,) = report.results
    assert result.status in ("failed", "error"), report
    assert result.status != "passed"
    if case == "cpp-macro-main":
        assert report.compile is not None and report.compile.status == "error"


def test_the_prompt_shows_the_declaration_and_the_calls() -> None:
    values = prompt_values(problem("java"))
    assert "a class `Solution` with this static method, and no `main`" in values["target"]
    assert (
        "public static ArrayList<String> render(ArrayList<Long> xs, String sep, double scale)"
        in values["target"]
    )
    assert "// render([1, 2, 3], '-é-', 0.5) returns ['0.5-é-1', '1.0-é-2', '1.5-é-3']" in values["tests"]
    rust = prompt_values(problem("rust"))["target"]
    assert "fn render(xs: Vec<i64>, sep: String, scale: f64) -> Vec<String>" in rust


def test_feedback_on_a_failing_call_shows_the_call_and_the_values(local_sandbox: LocalSandbox) -> None:
    from codemend.agents import ImportPolicy, check_constraints, feedback_text

    calls = [{"kind": "call", "args": [[4], "+", 1.0], "expected": ["4.0+5"]}]
    broken = problem("rust", calls=calls)
    need_toolchain("rust")
    report = local_sandbox.run(broken, RENDER["rust"])
    text = feedback_text(broken, check_constraints(broken, RENDER["rust"], report, ImportPolicy()), report)
    assert text.startswith("Test 0 (io) failed\n  call: render([4], '+', 1.0)\n")
    assert "expected: ['4.0+5']\n  actual:   ['4.0+4']" in text and "stdin" not in text
