"""Programs in C, C++, Java, JavaScript and Rust in the local sandbox: compiled once per run in
the candidate's containment, each stdin/stdout test run and compared by the supervisor, compile
and run reported apart; a missing toolchain or a backend without one is an infrastructure error."""

from __future__ import annotations

import pytest
from language_helpers import DOUBLE, NATIVE, io_problem, need_toolchain

import codemend.languages
from codemend.errors import InfrastructureError, UserError
from codemend.languages import ToolchainMissing, language
from codemend.sandbox import DockerSandbox, LocalSandbox

PAIRS = (("21\n", "42\n"), ("1 2 3\n", "2\n4\n6\n"))

BROKEN = {
    "c": "int main(void) {\n    return undefined_name;\n}\n",
    "cpp": "#include <vector>\nint main() {\n    std::vector<int> v = 3;\n}\n",
    "java": "public class Main {\n    public static void main(String[] a) {\n"
    '        int x = "text";\n    }\n}\n',
    "javascript": "const x = ;\n",
    "rust": 'fn main() {\n    let x: u32 = "text";\n}\n',
}
EXIT_3 = {
    "c": "#include <stdlib.h>\nint main(void) { exit(3); }\n",
    "cpp": "int main() { return 3; }\n",
    "java": "public class Main { public static void main(String[] a) { System.exit(3); } }\n",
    "javascript": "process.exitCode = 3;\n",
    "rust": "fn main() { std::process::exit(3); }\n",
}
# Each tries to overwrite its own build (the binary, or the source a runtime reads), then says
# whether it could; the second test runs the same build again.
OVERWRITE = {
    "c": '#include <stdio.h>\nint main(int argc, char **argv) {\n    FILE *f = fopen(argv[0], "w");\n'
    '    FILE *g = fopen("mine.txt", "w");\n    puts(f ? "wrote" : "denied");\n'
    '    puts(g ? "cwd ok" : "cwd denied");\n'
    "    return 0;\n}\n",
    "javascript": "const fs = require('fs');\nlet said = 'denied';\n"
    "try { fs.writeFileSync(__filename, 'console.log(1)'); said = 'wrote'; } catch (e) {}\n"
    "console.log(said);\nfs.writeFileSync('mine.txt', 'x');\nconsole.log('cwd ok');\n",
}


@pytest.mark.parametrize("name", NATIVE)
def test_a_correct_program_passes_with_compile_and_run_reported_apart(
    local_sandbox: LocalSandbox, name: str
) -> None:
    need_toolchain(name)
    report = local_sandbox.run(io_problem(name, *PAIRS), DOUBLE[name])
    assert [r.status for r in report.results] == ["passed", "passed"], report
    assert report.compile is not None and report.compile.status == "ok"
    program = language(name).resolve()[language(name).programs()[0]]
    assert report.compile.command.startswith(program + " ")
    assert report.compile.duration_s > 0 and all(r.duration_s > 0 for r in report.results)
    assert report.cpu_s is not None


@pytest.mark.parametrize("name", NATIVE)
def test_a_wrong_answer_fails_with_expected_and_actual(local_sandbox: LocalSandbox, name: str) -> None:
    need_toolchain(name)
    report = local_sandbox.run(io_problem(name, ("21\n", "43\n")), DOUBLE[name])
    (result,) = report.results
    assert (result.status, result.expected, result.actual) == ("failed", "43\n", "42\n")


@pytest.mark.parametrize("name", NATIVE)
def test_a_compile_error_fails_every_test_with_the_diagnostics(
    local_sandbox: LocalSandbox, name: str
) -> None:
    need_toolchain(name)
    report = local_sandbox.run(io_problem(name, *PAIRS), BROKEN[name])
    assert report.compile is not None and report.compile.status == "error"
    assert "error" in report.compile.output.lower()
    assert [r.status for r in report.results] == ["error", "error"]
    assert {r.exc_type for r in report.results} == {"CompileError"}
    assert all("does not compile" in (r.detail or "") for r in report.results)


@pytest.mark.parametrize("name", NATIVE)
def test_a_nonzero_exit_is_an_error(local_sandbox: LocalSandbox, name: str) -> None:
    need_toolchain(name)
    (result,) = local_sandbox.run(io_problem(name, ("", "")), EXIT_3[name]).results
    assert (result.status, result.detail) == ("error", "the program exited with status 3")


def test_warnings_are_kept_when_the_program_compiles(local_sandbox: LocalSandbox) -> None:
    need_toolchain("c")
    code = DOUBLE["c"].replace("long x;", "long x;\n    int unused;")
    report = local_sandbox.run(io_problem("c", *PAIRS), code)
    assert report.passed
    assert report.compile is not None and report.compile.status == "ok"
    assert "unused variable" in report.compile.output


@pytest.mark.parametrize("name", list(OVERWRITE))
def test_the_build_is_read_only_for_the_program_and_its_directory_is_its_own(
    local_sandbox: LocalSandbox, name: str
) -> None:
    need_toolchain(name)
    pair = ("", "denied\ncwd ok\n")
    report = local_sandbox.run(io_problem(name, pair, pair), OVERWRITE[name])
    assert [r.status for r in report.results] == ["passed", "passed"], report


def test_python_runs_as_before_without_a_compile_report(local_sandbox: LocalSandbox) -> None:
    report = local_sandbox.run(io_problem("python", *PAIRS), DOUBLE["python"])
    assert report.passed and report.compile is None
    assert "compile" not in report.model_dump()


def test_instructions_are_counted_for_python_only(local_sandbox: LocalSandbox) -> None:
    with pytest.raises(UserError, match="instructions are counted for Python candidates only"):
        local_sandbox.run(io_problem("c", *PAIRS), DOUBLE["c"], cost="instructions")


def test_a_missing_toolchain_raises_naming_the_package(
    local_sandbox: LocalSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """Where the sandbox's PATH holds no compiler (an empty directory stands for a machine without
    one), the run raises before any candidate runs: never a verdict."""
    monkeypatch.setattr(codemend.languages, "SANDBOX_PATH", str(tmp_path))
    with pytest.raises(
        ToolchainMissing, match=r"the Rust toolchain is missing: rustc .*apt-get install rustc"
    ):
        local_sandbox.run(io_problem("rust", *PAIRS), DOUBLE["rust"])


def test_docker_refuses_other_languages_before_starting() -> None:
    box = DockerSandbox(base_url="unix:///nonexistent/docker.sock", workers=1)
    with pytest.raises(InfrastructureError, match=r"docker sandbox cannot run cpp programs.*--sandbox local"):
        box.run(io_problem("cpp", *PAIRS), DOUBLE["cpp"])
    assert box.container_ids() == []


def test_java_runs_the_class_that_declares_main(local_sandbox: LocalSandbox) -> None:
    need_toolchain("java")
    code = (
        "import java.util.Scanner;\n\nclass Helper {\n    static long twice(long x) { return 2 * x; }\n}\n\n"
        "class Solver {\n    public static void main(String[] args) {\n"
        "        System.out.println(Helper.twice(new Scanner(System.in).nextLong()));\n    }\n}\n"
    )
    report = local_sandbox.run(io_problem("java", ("21\n", "42\n")), code)
    assert report.passed, report
    assert report.compile is not None and "Solver.java" in report.compile.command


def test_javascript_modules_are_detected(local_sandbox: LocalSandbox) -> None:
    need_toolchain("javascript")
    code = 'import { readFileSync } from "fs";\nconsole.log(String(2 * Number(readFileSync(0, "utf8"))));\n'
    assert local_sandbox.run(io_problem("javascript", ("21\n", "42\n")), code).passed
