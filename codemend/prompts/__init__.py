"""Prompt templates (``generate.md``, ``repair.md``, ``critique.md``) and their one loader."""

from codemend.prompts.template import (
    PromptKind,
    Prompts,
    PromptTemplate,
    TemplateError,
    load_prompt,
    parse_template,
)

__all__ = ["PromptKind", "PromptTemplate", "Prompts", "TemplateError", "load_prompt", "parse_template"]
