"""Prompt templates: files in ``codemend/prompts/`` (or the user's own), checked when loaded.

A template is ``string.Template`` text (``$name``; ``$$`` for a dollar sign). Each kind of prompt
offers a fixed set of variables and needs some of them; a template naming a variable that is not
offered, or leaving out one that is needed, fails at load time with ``TemplateError``.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from codemend.errors import UserError

PromptKind = Literal["generate", "repair", "critique", "optimise"]

_COMMON = frozenset({"task", "target", "tests", "entry_point", "language", "fence"})
OFFERED: dict[PromptKind, frozenset[str]] = {
    "generate": _COMMON,
    "repair": _COMMON | {"code", "feedback"},
    "critique": _COMMON | {"code", "feedback"},
    "optimise": _COMMON | {"code", "feedback"},
}
NEEDED: dict[PromptKind, frozenset[str]] = {
    "generate": frozenset({"task"}),
    "repair": frozenset({"code", "feedback"}),
    "critique": frozenset({"code", "feedback"}),
    "optimise": frozenset({"code", "feedback"}),
}


class TemplateError(UserError):
    """A prompt template that does not fit its kind: the message names the file and variables."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptTemplate:
    kind: PromptKind
    source: str
    text: str

    @property
    def sha256(self) -> str:
        """The SHA-256 of the template's text (stored with each run, to tell prompts apart)."""
        return hashlib.sha256(self.text.encode()).hexdigest()

    def render(self, **values: str) -> str:
        """Fill the template; every variable its kind offers must be given."""
        missing = OFFERED[self.kind] - values.keys()
        unknown = values.keys() - OFFERED[self.kind]
        if missing or unknown:
            raise TypeError(f"{self.kind} prompt: missing {sorted(missing)}, unknown {sorted(unknown)}")
        return string.Template(self.text).substitute(values)


def parse_template(kind: PromptKind, text: str, *, source: str = "<string>") -> PromptTemplate:
    """Check ``text`` against the variables ``kind`` offers and needs."""
    template = string.Template(text)
    if not template.is_valid():
        raise TemplateError(f"{source}: invalid placeholder (write $$ for a literal dollar sign)")
    used = set(template.get_identifiers())
    unknown = used - OFFERED[kind]
    missing = NEEDED[kind] - used
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown variable(s) {', '.join('$' + v for v in sorted(unknown))}")
        if missing:
            problems.append(f"missing variable(s) {', '.join('$' + v for v in sorted(missing))}")
        offered = ", ".join("$" + v for v in sorted(OFFERED[kind]))
        raise TemplateError(f"{source}: {kind} prompt has {'; '.join(problems)} (offered: {offered})")
    return PromptTemplate(kind=kind, source=source, text=text)


def load_prompt(kind: PromptKind, path: str | Path | None = None) -> PromptTemplate:
    """The ``kind`` template from ``path``, or codemend's own ``prompts/<kind>.md``."""
    if path is None:
        text = resources.files("codemend.prompts").joinpath(f"{kind}.md").read_text(encoding="utf-8")
        return parse_template(kind, text, source=f"codemend/prompts/{kind}.md")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read the {kind} prompt: {exc}") from None
    return parse_template(kind, text, source=str(path))


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompts:
    """The templates one solve uses."""

    generate: PromptTemplate
    repair: PromptTemplate
    critique: PromptTemplate
    optimise: PromptTemplate = field(default_factory=lambda: load_prompt("optimise"))
    """``--objective speed``: make correct code faster."""

    @classmethod
    def load(
        cls,
        *,
        generate: str | Path | None = None,
        repair: str | Path | None = None,
        critique: str | Path | None = None,
        optimise: str | Path | None = None,
    ) -> Prompts:
        """codemend's templates, with any of them replaced by the user's file."""
        return cls(
            generate=load_prompt("generate", generate),
            repair=load_prompt("repair", repair),
            critique=load_prompt("critique", critique),
            optimise=load_prompt("optimise", optimise),
        )

    def hashes(self) -> dict[str, str]:
        """Each template's ``sha256``, by kind."""
        return {t.kind: t.sha256 for t in (self.generate, self.repair, self.critique, self.optimise)}
