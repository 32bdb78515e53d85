"""The generator agent: a first attempt from ``generate.md``, repairs from ``repair.md``, and
(``--objective speed``) requests for faster correct code from ``optimise.md``."""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from codemend import pysource
from codemend.agents.render import prompt_values
from codemend.llm import ChatModel, ChatResult, SamplingParams, extract_code
from codemend.problems import Problem
from codemend.prompts import PromptTemplate, load_prompt
from codemend.records import Message, StepKind, StepRecord

History = Literal["latest", "full"]
"""What a repair sends: only the latest attempt and its feedback, or the whole conversation."""


def code_fingerprint(code: str) -> str:
    """Equal for code that differs only in layout and comments (for the no-progress stop)."""
    try:
        canonical = ast.dump(pysource.parse(code)[0])
    except (SyntaxError, ValueError):
        canonical = "\n".join(line.rstrip() for line in code.splitlines() if line.strip())
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Generator:
    llm: ChatModel
    generate_prompt: PromptTemplate
    repair_prompt: PromptTemplate
    optimise_prompt: PromptTemplate | None = None
    sampling: SamplingParams = field(default_factory=lambda: SamplingParams())
    repair_sampling: SamplingParams | None = None
    history: History = "latest"

    def first_messages(self, problem: Problem) -> list[Message]:
        """The first attempt's prompt: the generate template rendered for ``problem``."""
        text = self.generate_prompt.render(**prompt_values(problem))
        return [Message(role="user", content=text)]

    def repair_messages(self, problem: Problem, previous: StepRecord, feedback: str) -> list[Message]:
        """The repair template rendered for ``previous``'s code and ``feedback``; with ``history="full"``
        after the whole conversation so far, otherwise alone."""
        values = prompt_values(problem) | {"code": (previous.code or "").rstrip(), "feedback": feedback}
        request = Message(role="user", content=self.repair_prompt.render(**values))
        return self._continued(previous, request)

    def optimise_messages(
        self, problem: Problem, code: str, feedback: str, previous: StepRecord | None
    ) -> list[Message]:
        """Ask for a faster version of the correct ``code`` (the reference when ``previous`` is None)."""
        template = self.optimise_prompt or load_prompt("optimise")
        values = prompt_values(problem) | {"code": code.rstrip(), "feedback": feedback}
        request = Message(role="user", content=template.render(**values))
        return [request] if previous is None else self._continued(previous, request)

    def _continued(self, previous: StepRecord, request: Message) -> list[Message]:
        if self.history == "latest":
            return [request]
        answer = Message(role="assistant", content=previous.reply or "")
        return [*previous.messages, answer, request]

    async def complete(
        self, problem: Problem, messages: list[Message], *, kind: StepKind, index: int, parent: int | None
    ) -> StepRecord:
        """Send ``messages``; raises ``InfrastructureError`` when the endpoint fails."""
        started = datetime.now(UTC)
        sampling = self.sampling if kind == "generate" else (self.repair_sampling or self.sampling)
        result = await self.llm.chat(messages, **sampling)
        code = extract_code(
            result.text,
            entry_point=problem.entry_point,
            prompt=problem.starter_code or None,
            lang=problem.language,
        )
        return StepRecord(
            index=index,
            kind=kind,
            parent=parent,
            messages=messages,
            reply=result.text,
            code=code,
            tokens_in=result.usage.prompt_tokens,
            tokens_out=result.usage.completion_tokens,
            **token_details(result),
            latency_s=result.latency_s,
            started_at=started,
            ended_at=datetime.now(UTC),
        )


def token_details(result: ChatResult) -> dict[str, Any]:
    """The first choice's token ids and logprobs and the prompt's ids, as ``StepRecord`` fields
    (None where the endpoint returned none)."""
    choice = result.choices[0]
    return {
        "prompt_token_ids": list(result.prompt_token_ids) if result.prompt_token_ids is not None else None,
        "completion_token_ids": list(choice.token_ids) if choice.token_ids is not None else None,
        "completion_logprobs": list(choice.logprobs) if choice.logprobs is not None else None,
    }


def make_generator(
    *,
    llm: ChatModel,
    generate_prompt: PromptTemplate | None = None,
    repair_prompt: PromptTemplate | None = None,
    optimise_prompt: PromptTemplate | None = None,
    sampling: SamplingParams | None = None,
    repair_sampling: SamplingParams | None = None,
    history: History = "latest",
) -> Generator:
    """A generator on ``llm`` with codemend's templates unless others are given."""
    return Generator(
        llm=llm,
        generate_prompt=generate_prompt or load_prompt("generate"),
        repair_prompt=repair_prompt or load_prompt("repair"),
        optimise_prompt=optimise_prompt,
        sampling=sampling or SamplingParams(),
        repair_sampling=repair_sampling,
        history=history,
    )
