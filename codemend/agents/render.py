"""What a model may see of a problem: its text and its visible tests, never the hidden ones."""

from __future__ import annotations

from codemend import drivers
from codemend.languages import language
from codemend.problems import IOTest, Problem
from codemend.sandbox.runtime import values


def task_text(problem: Problem) -> str:
    """The prompt, followed by the starter code when the prompt does not already hold it."""
    starter = problem.starter_code.strip()
    if not starter or starter in problem.prompt:
        return problem.prompt.strip()
    fence = language(problem.language).fence
    return f"{problem.prompt.strip()}\n\nStart from:\n\n```{fence}\n{starter}\n```"


def target_text(problem: Problem) -> str:
    """What the model must write, in words: the entry-point function, or a stdin/stdout program;
    in another language than Python with a signature, the function's declaration (a generated
    driver calls it)."""
    if problem.signature is not None and problem.entry_point is not None:
        lang = language(problem.language)
        shown = drivers.declaration(lang.name, problem.entry_point, problem.signature)
        java = f"a class `{drivers.JAVA_CLASS}` with this static method"
        what = java if lang.name == "java" else "this function"
        return f"{what}, and no `main` (a driver calls it):\n\n```{lang.fence}\n{shown}\n```\n"
    if problem.entry_point is None:
        program = "a complete program that reads standard input and writes standard output"
        if problem.language == "java":
            return program.replace("program", "program (a public class with `main`)", 1)
        return program
    return f"a function named `{problem.entry_point}`"


def visible_tests_text(problem: Problem) -> str:
    """The visible tests as the prompts show them: asserts as written, I/O tests as a comment each."""
    lines = []
    comment = "#" if problem.language == "python" else "//"
    for test in problem.visible_tests():
        if isinstance(test, IOTest) and test.call is not None and test.result_type is not None:
            expected = values.decode(test.expected_stdout.encode(), test.result_type)
            lines.append(f"{comment} {test.call} returns {values.shown(expected)}")
        elif isinstance(test, IOTest):
            lines.append(f"{comment} stdin {test.stdin!r} -> stdout {test.expected_stdout!r}")
        else:
            lines.append(test.code.strip())
    return "\n".join(lines) or "# (no tests shown)"


def prompt_values(problem: Problem) -> dict[str, str]:
    """The variables every prompt kind offers (see ``codemend.prompts``)."""
    return {
        "task": task_text(problem),
        "target": target_text(problem),
        "tests": visible_tests_text(problem),
        "entry_point": problem.entry_point or "",
        "language": language(problem.language).display,
        "fence": language(problem.language).fence,
    }
