"""``bench --language L``: the problems of a stdin/stdout benchmark, to be written in language L.

APPS, LiveCodeBench and codemend's own problem files judge whole programs on standard input and
output, which any language can write; their loaders build Python problems. ``in_language`` gives
each problem the language asked for and drops what is Python only:

- assertion tests (a call-based problem: its tests call a Python function). A problem left with
  no stdin/stdout test is left out, with the reason; one that mixes both kinds is left out too,
  since dropping some of its tests would change what it asks;
- starter code (Python), taken out of the prompt as well;
- test setup code, performance calls and the performance input generator (Python that runs in
  the trusted harness); stdin performance inputs stay;
- the reference solution, written in the problem's own language: as ``--objective speed``'s
  baseline it would measure one language against another, not the candidate against a program
  like it. A problem already in language L keeps it.

A problem already in language L is kept as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from codemend.errors import UserError
from codemend.languages import LanguageName, language
from codemend.problems import IOTest, Problem


@dataclass(frozen=True, slots=True, kw_only=True)
class InLanguage:
    """The problems ``in_language`` kept, and why each other one was left out (by id)."""

    language: LanguageName | None
    problems: list[Problem]
    left_out: dict[str, str] = field(default_factory=dict)

    def note(self) -> str | None:
        """One line for the user when problems were left out (None when none was)."""
        if not self.left_out:
            return None
        total = len(self.problems) + len(self.left_out)
        reasons = sorted(set(self.left_out.values()))
        return (
            f"--language {self.language}: {len(self.left_out)} of {total} problems left out "
            f"({'; '.join(reasons)})"
        )

    def check_ids(self, ids: Sequence[str] | None) -> None:
        """``UserError`` when ``--ids`` names a problem that was left out, saying why."""
        for wanted in ids or ():
            found = next((p for p in self.left_out if p == wanted or p.endswith(f"/{wanted}")), None)
            if found is not None:
                raise UserError(
                    f"problem {found} cannot be written in {self.language}: {self.left_out[found]}"
                )


def problem_in(problem: Problem, name: LanguageName) -> Problem | str:
    """``problem`` to be written in language ``name``, or why it cannot be (see the module)."""
    if problem.language == name:
        return problem
    io = [t for t in problem.tests if isinstance(t, IOTest)]
    if not io:
        source = language(problem.language).display
        return f"their tests call a {source} function (call-based), not a program on stdin/stdout"
    if len(io) != len(problem.tests):
        return "they mix stdin/stdout tests with assertion tests"
    prompt = problem.prompt
    if problem.starter_code:
        prompt = prompt.replace(problem.starter_code, "").rstrip() + "\n"
    data = problem.model_dump()
    data.update(
        language=name,
        prompt=prompt,
        starter_code="",
        entry_point=None,
        test_setup_code="",
        reference_solution=None,
        perf_generator=None,
        perf_tests=[t for t in data["perf_tests"] if t["stdin"] is not None],
    )
    return Problem.model_validate(data)


def in_language(problems: Sequence[Problem], name: LanguageName | None) -> InLanguage:
    """``problems`` to be written in language ``name`` (None: each in its own); ``UserError``
    when none of them can be, naming the first reason."""
    if name is None:
        return InLanguage(language=None, problems=list(problems))
    kept: list[Problem] = []
    left_out: dict[str, str] = {}
    for problem in problems:
        found = problem_in(problem, name)
        if isinstance(found, str):
            left_out[problem.id] = found
        else:
            kept.append(found)
    if problems and not kept:
        raise UserError(
            f"--language {name}: none of the {len(problems)} problems can be written in "
            f"{language(name).display}: {next(iter(left_out.values()))}"
        )
    return InLanguage(language=name, problems=kept, left_out=left_out)
