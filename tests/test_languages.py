"""The language registry: names, fence tags, toolchains found on the sandbox's PATH, the language
a piece of code is written in, and how problems, prompts and extraction use them."""

from __future__ import annotations

import os
import shutil

import pytest

from codemend.agents.render import prompt_values
from codemend.errors import InfrastructureError, UserError
from codemend.languages import LANGUAGES, SANDBOX_PATH, ToolchainMissing, detect, language, mismatch, tagged
from codemend.llm import extract_code
from codemend.problems import Problem
from codemend.prompts import load_prompt

IO = [{"stdin": "2\n", "expected_stdout": "4\n"}]
SAMPLES = {
    "c": '#include <stdio.h>\nint main(void) { int x; scanf("%d", &x); printf("%d\\n", x * 2); }\n',
    "cpp": "#include <iostream>\nusing namespace std;\nint main() { int x; cin >> x; std::cout << x * 2; }\n",
    "java": "import java.util.*;\npublic class Main {\n  public static void main(String[] a) {\n"
    "    System.out.println(new Scanner(System.in).nextInt() * 2);\n  }\n}\n",
    "javascript": "const data = require('fs').readFileSync(0, 'utf8');\nconsole.log(parseInt(data) * 2);\n",
    "rust": "use std::io::Read;\nfn main() {\n    let mut s = String::new();\n"
    "    std::io::stdin().read_to_string(&mut s).unwrap();\n"
    '    println!("{}", 2 * s.trim().parse::<i64>().unwrap());\n}\n',
    "python": "import sys\nprint(int(sys.stdin.read()) * 2)\n",
}


def test_every_language_has_one_entry_with_its_own_fence_and_file() -> None:
    assert LANGUAGES == ("python", "c", "cpp", "java", "javascript", "rust")
    fences = [language(n).fence for n in LANGUAGES]
    assert len(set(fences)) == len(fences)
    for name in LANGUAGES:
        lang = language(name)
        assert tagged(lang.fence) is lang
        assert lang.native == (name != "python")
        if lang.native:
            assert lang.source and lang.run and lang.package


def test_an_unknown_language_names_the_known_ones() -> None:
    with pytest.raises(UserError, match=r"unknown language 'cobol'; expected one of python, c, cpp"):
        language("cobol")
    assert tagged("haskell") is None
    assert tagged("C++") is language("cpp")


@pytest.mark.parametrize("name", [n for n in LANGUAGES if n != "python"])
def test_toolchains_resolve_on_the_sandbox_path(name: str) -> None:
    """Every toolchain CI installs is found where the sandbox looks; on a user's machine that
    lacks one, the test says which package is missing (never in CI, which installs them all)."""
    lang = language(name)
    missing = [p for p in lang.programs() if shutil.which(p, path=SANDBOX_PATH) is None]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"{missing[0]} is not installed here: apt-get install {lang.package}")
    paths = lang.resolve()
    assert all(path.startswith(("/usr/bin/", "/bin/")) for path in paths.values())


def test_a_missing_toolchain_is_an_infrastructure_error_naming_the_package() -> None:
    from dataclasses import replace

    lang = replace(language("cpp"), compile=("g++-not-installed", "{src}"))
    with pytest.raises(
        ToolchainMissing, match=r"g\+\+-not-installed is not in /usr/bin:/bin; install Debian's `g\+\+`"
    ):
        lang.resolve()
    assert issubclass(ToolchainMissing, InfrastructureError)


def test_java_takes_the_file_name_from_the_public_class_and_runs_the_class_with_main() -> None:
    java = language("java")
    assert java.files("public final class Solution {}") == ("Solution.java", "Solution")
    assert java.files("class Helper {}") == ("Main.java", "Main")
    main = "class Solver {\n  public static void main(String[] a) {}\n}\n"
    assert java.files(f"class Helper {{}}\n{main}") == ("Solver.java", "Solver")
    assert java.files(f"public class Helper {{}}\n{main}") == ("Helper.java", "Solver")
    assert language("rust").files("fn main() {}") == ("main.rs", "main")


@pytest.mark.parametrize("name", list(SAMPLES))
def test_detect_names_each_sample_and_mismatch_says_what_was_written(name: str) -> None:
    found = detect(SAMPLES[name])
    assert found is not None and found.name == name
    assert mismatch(SAMPLES[name], name) is None
    other = "rust" if name != "rust" else "java"
    said = mismatch(SAMPLES[name], other)
    assert said == f"the code is written in {language(name).display}, not {language(other).display}"


def test_c_and_cpp_are_one_family_for_mismatch() -> None:
    assert mismatch(SAMPLES["c"], "cpp") is None
    assert mismatch(SAMPLES["cpp"], "c") is None
    assert detect("x = 1") is None


def test_problems_take_a_language_and_other_languages_take_io_tests_only() -> None:
    problem = Problem(id="p", prompt="double it", language="rust", tests=IO)
    assert problem.language == "rust"
    with pytest.raises(
        ValueError, match=r"Input should be 'python', 'c', 'cpp', 'java', 'javascript' or 'rust'"
    ):
        Problem(id="p", prompt="", language="cobol", tests=IO)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"assertion tests are Python: a C\+\+ problem takes stdin/stdout"):
        Problem(id="p", prompt="", language="cpp", entry_point="f", tests=[{"code": "assert f(1) == 2"}])
    with pytest.raises(ValueError, match=r"performance calls are Python: a Java problem takes `stdin`"):
        Problem(id="p", prompt="", language="java", entry_point="f", perf_tests=[{"call": "f(1)"}])


def test_a_python_problem_serialises_as_before() -> None:
    data = Problem(id="p", prompt="", entry_point="f", tests=[{"code": "assert f(1) == 1"}]).model_dump()
    assert data["language"] == "python"


def test_prompts_ask_for_the_problems_language() -> None:
    problem = Problem(id="p", prompt="Double the number.", language="cpp", tests=IO)
    text = load_prompt("generate").render(**prompt_values(problem))
    assert "You are an expert C++ programmer." in text
    assert "in one ```cpp code block" in text
    assert "// stdin '2\\n' -> stdout '4\\n'" in text
    python = Problem(id="p", prompt="Double the number.", tests=IO)
    text = load_prompt("generate").render(**prompt_values(python))
    assert "You are an expert Python programmer." in text and "```python" in text
    assert "# stdin '2\\n' -> stdout '4\\n'" in text
    java = Problem(id="p", prompt="Double it.", language="java", tests=IO)
    assert "(a public class with `main`)" in prompt_values(java)["target"]


def test_extraction_takes_the_block_of_the_problems_language() -> None:
    reply = (
        "Here is a Python sketch:\n```python\nprint(1)\n```\nand the C++ answer:\n"
        f"```cpp\n{SAMPLES['cpp']}```\nCompile with g++.\n"
    )
    assert extract_code(reply, lang="cpp") == SAMPLES["cpp"]
    assert extract_code(f"```\n{SAMPLES['rust']}```", lang="rust") == SAMPLES["rust"]
    assert extract_code(f"```rs\n{SAMPLES['rust']}```\n```\nexample\n```", lang="rust") == SAMPLES["rust"]
    # A reply without a fence is taken whole; one in another language is taken as written.
    assert extract_code(SAMPLES["c"], lang="c") == SAMPLES["c"]
    assert extract_code(f"```java\n{SAMPLES['java']}```", lang="cpp") == SAMPLES["java"]
    # Python's extraction is unchanged by the other languages.
    assert (
        extract_code("```python\ndef f(x):\n    return x\n```", entry_point="f")
        == "def f(x):\n    return x\n"
    )
