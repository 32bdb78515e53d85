"""MultiPL-E-style JSON Lines (Cassano et al. 2023: HumanEval and MBPP in many languages).

Fields as MultiPL-E's: ``name`` (the problem's id, as ``multipl-e/NAME``), ``language``
(MultiPL-E's names ``py``, ``js``, ``rs``, ``cpp``, ``java``, or codemend's: ``python``, ``c``,
``cpp``, ``java``, ``javascript``, ``rust``), ``prompt`` (the task as the model sees it) and
``tests``; ``stop_tokens``, ``doctests``, ``prompt_terms`` and ``original`` are accepted and not
used (``original``, where the problem came from, is kept as metadata).

``tests`` as I/O pairs, a list of ``{"input": STDIN, "output": EXPECTED_STDOUT}``, become
stdin/stdout tests of a whole program: each pair may say ``"visibility": "visible"`` or
``"hidden"``; when none does, the first pair is visible and every pair is hidden (as APPS).

``tests`` as a string, MultiPL-E's own test harness written in the target language (a ``main``
that asserts on the candidate's function), are refused with an error naming the file, the line
and the field. Compiled together with the candidate, that harness would run inside the
candidate's own process, where the candidate could end the process with a success status before
any assertion runs, or print whatever the harness prints on success: its verdict could be
forged. codemend compares a program's output outside the candidate's process (the sandbox's
supervisor reads its exit status and stdout), and no trusted driver translates target-language
calls into such comparisons yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codemend.errors import ProblemFileError
from codemend.languages import LANGUAGES, LanguageName, language
from codemend.problems import IOTest, Problem
from codemend.problems.jsonl import field, iter_jsonl, record_errors

NAMES: dict[str, LanguageName] = {"py": "python", "js": "javascript", "rs": "rust"}
"""MultiPL-E's short names for the languages codemend runs (``cpp``, ``java`` and ``c`` are
spelled alike)."""

HARNESS_REFUSED = (
    "tests written in {display} (MultiPL-E's own harness) are refused: compiled with the "
    "candidate, they would run inside the candidate's process, which could exit with success "
    "before they run or print their success output, so the verdict could be forged; give the "
    'tests as I/O pairs, a list of {{"input": STDIN, "output": EXPECTED_STDOUT}}, which the '
    "sandbox compares outside the candidate"
)


def _language(record: dict[str, Any], path: str, line: int) -> LanguageName:
    given = field(record, "language", str, path, line)
    name = NAMES.get(given, given)
    for known in LANGUAGES:
        if known == name:
            return known
    raise ProblemFileError(
        path,
        f"language {given!r} is not one codemend runs: {', '.join(LANGUAGES)} "
        f"(or MultiPL-E's {', '.join(NAMES)})",
        line=line,
        field="language",
    )


def _pair(item: object, index: int, path: str, line: int) -> IOTest:
    where = f"tests[{index}]"
    if not isinstance(item, dict):
        raise ProblemFileError(path, "expected an object with `input` and `output`", line=line, field=where)
    unknown = sorted(set(item) - {"input", "output", "visibility"})
    if unknown:
        raise ProblemFileError(path, f"unknown field(s) {unknown}", line=line, field=where)
    for key in ("input", "output"):
        if not isinstance(item.get(key), str):
            raise ProblemFileError(path, "expected a string", line=line, field=f"{where}.{key}")
    visibility = item.get("visibility", "visible")
    if visibility not in ("visible", "hidden"):
        raise ProblemFileError(path, "expected visible or hidden", line=line, field=f"{where}.visibility")
    return IOTest(stdin=item["input"], expected_stdout=item["output"], visibility=visibility)


def _tests(record: dict[str, Any], lang: LanguageName, path: str, line: int) -> list[IOTest]:
    tests = record.get("tests")
    if isinstance(tests, str):
        message = HARNESS_REFUSED.format(display=language(lang).display)
        raise ProblemFileError(path, message, line=line, field="tests")
    if not isinstance(tests, list) or not tests:
        raise ProblemFileError(
            path, "expected a non-empty list of I/O pairs ({input, output})", line=line, field="tests"
        )
    pairs = [_pair(item, i, path, line) for i, item in enumerate(tests)]
    if any(isinstance(item, dict) and "visibility" in item for item in tests):
        return pairs
    return [
        pairs[0].model_copy(update={"visibility": "visible"}),
        *(p.model_copy(update={"visibility": "hidden"}) for p in pairs),
    ]


def _problem(record: dict[str, Any], path: str, line: int) -> Problem:
    name = field(record, "name", (str, int), path, line)
    lang = _language(record, path, line)
    prompt = field(record, "prompt", str, path, line)
    original = record.get("original")
    return Problem(
        id=f"multipl-e/{name}",
        prompt=prompt,
        language=lang,
        tests=list(_tests(record, lang, path, line)),
        metadata={"original": original} if isinstance(original, str) and original else {},
    )


def load_multipl_e(path: str | Path) -> list[Problem]:
    """The problems of a MultiPL-E-style JSON Lines file (see the module); a malformed record, or
    tests written in the target language, raise ``ProblemFileError`` naming the line and field."""
    name = str(path)
    problems: list[Problem] = []
    seen: set[str] = set()
    for line, record in iter_jsonl(path):
        with record_errors(name, line):
            problem = _problem(record, name, line)
        if problem.id in seen:
            raise ProblemFileError(name, f"duplicate name {problem.id!r}", line=line, field="name")
        seen.add(problem.id)
        problems.append(problem)
    return problems
