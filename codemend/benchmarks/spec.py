"""What a bench run is: its settings (kept with the run, so ``--resume`` repeats them), the problems
it selects, what the model may see of each problem, and how each sample is drawn.

``feedback_tests`` decides which tests feed the repair loop:

- ``visible`` (default): the problem's visible tests run after each attempt and the critic's
  feedback quotes them; the hidden tests only score the answers.
- ``none``: no test runs before the answer is scored. The visible tests are withheld from the
  loop (not shown in the prompt's test section, not run), so the critic judges structure only:
  the code parses, defines the entry point, respects the import policy. A repair happens only
  when one of those fails. The task text itself is unchanged (MBPP's prompt quotes one test).
- ``all``: the hidden tests are shown and run as feedback too (studies only; every summary says
  so in its first line). The evaluation still uses the original hidden tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from codemend.agents import ExtraConstraint
from codemend.agents.tracing import FeedbackMode
from codemend.errors import UserError
from codemend.languages import LanguageName
from codemend.llm import SamplingParams
from codemend.optimise import Correctness, Objective
from codemend.problems import AssertTest, IOTest, Problem

FeedbackTests = Literal["visible", "all", "none"]
CriticName = Literal["tests", "llm", "hybrid"]


class BenchSpec(BaseModel):
    """Everything that decides a bench run's results; stored as the run's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    benchmark: str
    data: str | None = None
    split: str | None = None
    limit: int | None = Field(default=None, ge=1)
    ids: list[str] | None = None
    samples: int = Field(default=1, ge=1)
    rounds: int = Field(default=3, ge=0)
    feedback_tests: FeedbackTests = "visible"
    critic: CriticName = "tests"
    feedback: FeedbackMode = Field(
        default="tests", description="tests, or trace: the first failing visible test traced (--feedback)."
    )
    constraints: list[ExtraConstraint] = Field(
        default_factory=list, description="Constraints added to the critic's (--constraints security)."
    )
    temperature: float = Field(default=0.2, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int = 0
    prompt_files: dict[Literal["generate", "repair", "critique", "optimise"], str] = Field(
        default_factory=dict, description="The user's templates (absolute paths) replacing codemend's."
    )
    objective: Objective = Field(
        default_factory=Correctness, description="What the run optimises, with its settings."
    )
    released_after: date | None = Field(
        default=None, description="Only problems whose metadata's release_date is after this day."
    )
    released_before: date | None = Field(
        default=None, description="Only problems whose metadata's release_date is before this day."
    )
    language: LanguageName | None = Field(
        default=None,
        description="--language: every problem written in this language (its Python-only parts "
        "dropped, see benchmarks.languages); None, as in runs stored before: each in its own.",
    )

    @model_validator(mode="after")
    def _window_not_empty(self) -> BenchSpec:
        after, before = self.released_after, self.released_before
        if after is not None and before is not None and (before - after).days < 2:
            raise ValueError(
                f"empty date window: no day is after {after} and before {before} "
                "(--released-after and --released-before exclude the days they name)"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _objective_from_name(cls, data: Any) -> Any:
        """Runs stored before the objective was one value: ``objective: "speed"`` and
        ``speed_repetitions``."""
        if not isinstance(data, dict) or not (
            isinstance(data.get("objective"), str) or "speed_repetitions" in data
        ):
            return data
        data = dict(data)
        name = data.pop("objective", "correctness")
        repetitions = data.pop("speed_repetitions", None)
        objective: dict[str, Any] = {"name": name}
        if name == "speed" and repetitions is not None:
            objective["repetitions"] = repetitions
        return {**data, "objective": objective}


def default_temperature(samples: int) -> float:
    """Chen et al. (2021): T=0.2 for pass@1, T=0.8 when several samples are drawn."""
    return 0.2 if samples == 1 else 0.8


def select(problems: Sequence[Problem], *, limit: int | None, ids: Sequence[str] | None) -> list[Problem]:
    """The first ``limit`` problems, or those named in ``ids`` (``HumanEval/3`` or just ``3``)."""
    if ids:
        by_id = {p.id: p for p in problems}
        chosen = []
        for wanted in ids:
            match = by_id.get(wanted) or next((p for p in problems if p.id.endswith(f"/{wanted}")), None)
            if match is None:
                raise UserError(f"no problem {wanted!r} in this benchmark (ids look like {problems[0].id!r})")
            if match not in chosen:
                chosen.append(match)
        problems = chosen
    return list(problems[:limit] if limit is not None else problems)


def release_date(problem: Problem) -> date | None:
    """``metadata["release_date"]`` (LiveCodeBench's contest day, or a file's own), as a day."""
    value = problem.metadata.get("release_date")
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise UserError(f"problem {problem.id}: release_date {value!r} is not a date (YYYY-MM-DD)") from None


def released(problems: Sequence[Problem], *, after: date | None, before: date | None) -> list[Problem]:
    """The problems released strictly after ``after`` and strictly before ``before``. A window
    over problems that carry no release date, or that holds none of them, is a ``UserError``."""
    if after is None and before is None:
        return list(problems)
    dated = [(p, release_date(p)) for p in problems]
    days = sorted(d for _, d in dated if d is not None)
    if not days:
        raise UserError(
            "--released-after/--released-before select on a problem's release_date (LiveCodeBench's "
            "contest_date, or a file's metadata), which none of these problems has"
        )
    chosen = [
        p
        for p, d in dated
        if d is not None and (after is None or d > after) and (before is None or d < before)
    ]
    if not chosen:
        window = " and ".join(
            w for w in (f"after {after}" if after else "", f"before {before}" if before else "") if w
        )
        raise UserError(
            f"no problem was released {window} (their release dates run from {days[0]} to {days[-1]})"
        )
    return chosen


def feedback_view(problem: Problem, mode: FeedbackTests) -> Problem:
    """The problem the repair loop runs on (see the module docstring)."""
    if mode == "visible":
        return problem
    if mode == "none":
        return problem.model_copy(update={"tests": problem.hidden_tests()})
    shown: list[str] = []
    tests = []
    for test in problem.tests:
        key = test.model_dump_json(exclude={"visibility"})
        if key not in shown:  # MBPP's first test is both visible and hidden
            shown.append(key)
            tests.append(test.model_copy(update={"visibility": "visible"}))
    return problem.model_copy(update={"tests": tests})


def evaluation_tests(problem: Problem) -> list[AssertTest | IOTest]:
    """The tests that score an answer: the hidden ones, or the visible ones for a problem without
    hidden tests (a codemend JSONL file may have none; the summary counts such problems)."""
    return problem.hidden_tests() or problem.visible_tests()


def sample_seed(spec: BenchSpec, problem_id: str, sample_index: int) -> int:
    """A seed of its own for every sample, stable across runs and resumes."""
    digest = hashlib.sha256(f"{spec.seed}:{problem_id}:{sample_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def sampling_for(spec: BenchSpec, problem_id: str, sample_index: int) -> SamplingParams:
    sampling = SamplingParams(temperature=spec.temperature, seed=sample_seed(spec, problem_id, sample_index))
    if spec.max_tokens is not None:
        sampling["max_tokens"] = spec.max_tokens
    return sampling
