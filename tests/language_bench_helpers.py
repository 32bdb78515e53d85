"""The per-language fixture (examples/languages/LANG: a problem of our own, a correct and a buggy
program) as the bench, export, env and speed tests use it, and a scripted endpoint that answers
each request in the language its prompt asks for: trajectories run concurrently, so a queue in
request order cannot say which problem a reply is for."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from scripted_server import Received, ScriptedServer, Step, ok

from codemend.languages import LANGUAGES, LanguageName, language

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "languages"
MULTIPL_E = ROOT / "tests" / "data" / "languages" / "multipl_e.jsonl"
EXTENSION: dict[LanguageName, str] = {
    "python": "py", "c": "c", "cpp": "cpp", "java": "java", "javascript": "js", "rust": "rs",
}  # fmt: skip
_ASKED = re.compile(r"You are an expert (.+?) programmer|Your (.+?) solution to the task below")


def problem_file(name: LanguageName) -> Path:
    """The fixture problem of language ``name`` (examples/languages/NAME/problem.json)."""
    return EXAMPLES / name / "problem.json"


def program(name: LanguageName, which: str = "solution") -> str:
    """The fixture's ``solution`` (correct) or ``buggy`` program of language ``name``."""
    return (EXAMPLES / name / f"{which}.{EXTENSION[name]}").read_text()


def reply(name: LanguageName, which: str = "solution") -> str:
    """A model's reply holding the fixture's program in the language's code block."""
    return f"Here is my program:\n```{language(name).fence}\n{program(name, which)}```\n"


def combined_jsonl(path: Path, names: tuple[LanguageName, ...] = LANGUAGES) -> Path:
    """Every named language's fixture problem in one codemend JSONL file."""
    rows = [json.dumps(json.loads(problem_file(n).read_text())) for n in names]
    path.write_text("\n".join(rows) + "\n")
    return path


@dataclass
class LanguageServer(ScriptedServer):
    """Answers every request in the language its prompt asks for: the buggy program to the first
    prompt ("You are an expert C++ programmer"), the correct one to a repair prompt ("Your C++
    solution to the task below is not correct yet")."""

    def _next(self, received: Received) -> Step:
        with self._lock:
            self.requests.append(received)
        messages = received.body.get("messages", [])
        content = "\n".join(m["content"] for m in messages)
        found = _ASKED.search(content)
        asked = found and (found[1] or found[2])
        lang = next((n for n in LANGUAGES if language(n).display == asked), None)
        if lang is None:
            self.errors.append(f"request {len(self.requests)} asks for no known language")
            return ok("no language")
        first = found is not None and found[1] is not None
        return ok(reply(lang, "buggy" if first else "solution"))
