"""The row of each export format, as pydantic models: the JSON Schema written beside an export
and the Parquet schema are both derived from these. Field names are the trainers' own."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from codemend.records import CostMethod, Message, ObjectiveName


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SftRow(_Row):
    """TRL conversational prompt-completion: history in ``prompt``, the passing reply in
    ``completion`` (so only it is trained on)."""

    prompt: list[Message]
    completion: list[Message]


class SftMessagesRow(_Row):
    """``sft --messages``: the same conversation flattened (TRL, verl, SkyRL, OpenRLHF SFT)."""

    messages: list[Message]


class DpoRow(_Row):
    """TRL explicit-prompt conversational preference row (also OpenRLHF DPO)."""

    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    chosen_structure: float | None = Field(
        default=None,
        description="Closeness of the attempt's code to the reference solution (CodeBLEU's syntax "
        "and data-flow match, 0-1); None without a reference solution.",
    )
    rejected_structure: float | None = Field(
        default=None,
        description="Closeness of the attempt's code to the reference solution (CodeBLEU's syntax "
        "and data-flow match, 0-1); None without a reference solution.",
    )


class KtoRow(_Row):
    """TRL unpaired preference row: one attempt and whether it passed."""

    prompt: list[Message]
    completion: list[Message]
    label: bool
    structure: float | None = Field(
        default=None,
        description="Closeness of the attempt's code to the reference solution (CodeBLEU's syntax "
        "and data-flow match, 0-1); None without a reference solution.",
    )


class RewardModel(_Row):
    style: Literal["rule"] = "rule"
    ground_truth: str = Field(description="JSON of the problem's tests (codemend.rewards reads it).")


class RewardSpec(_Row):
    method: Literal["rule"] = "rule"
    ground_truth: str


class ExtraInfo(_Row):
    index: int
    split: str
    task_id: str
    turn: int = Field(description="0 for the task, n for a repair state after n attempts.")
    objective: ObjectiveName = Field(
        default="correctness",
        description="speed: compute_score gives the correctness-gated speedup against the "
        "ground truth's reference_solution instead of the fraction of tests passed.",
    )
    cost: CostMethod = Field(
        default="cpu",
        description="speed: how compute_score measures the cost (cpu: CPU time of paired runs; "
        "instructions: counted under valgrind), as the run that made the row did; unused otherwise.",
    )


class RlRow(_Row):
    """A prompt for online RL (verl, TRL GRPO, OpenRLHF, SkyRL), scored by
    ``codemend.rewards.compute_score``."""

    data_source: str
    prompt: list[Message]
    ability: Literal["code"] = "code"
    env_class: str = Field(description="SkyRL environment name.")
    reward_model: RewardModel = Field(description="verl.")
    reward_spec: RewardSpec = Field(description="SkyRL.")
    ground_truth: str = Field(description="OpenRLHF --data.label_key, TRL GRPO reward kwarg.")
    extra_info: ExtraInfo


class WeightedMessage(_Row):
    role: Literal["system", "user", "assistant"]
    content: str
    weight: Literal[0, 1] | None = Field(default=None, description="Assistant messages only.")


class OpenAISftRow(_Row):
    """OpenAI chat fine-tuning: failed attempts carry ``weight`` 0, the passing one 1."""

    messages: list[WeightedMessage]


class OpenAIInput(_Row):
    messages: list[Message]


class OpenAIDpoRow(_Row):
    """OpenAI (also Together, Fireworks) preference row."""

    input: OpenAIInput
    preferred_output: list[Message]
    non_preferred_output: list[Message]


class RawStep(_Row):
    index: int
    kind: str
    parent: int | None
    messages: list[Message]
    reply: str | None
    code: str | None
    passed: bool | None = Field(description="Every visible test passed.")
    n_passed: int | None
    n_tests: int | None
    report: str | None = Field(description="The visible-test TestReport, as JSON.")
    critique: str | None = Field(description="The Critique, as JSON.")
    reward: float | None
    rewards: str = Field(description="Named reward components, a JSON object.")
    structure: float | None = Field(
        default=None,
        description="Closeness of the attempt's code to the reference solution (CodeBLEU's syntax "
        "and data-flow match, 0-1); None without a reference solution.",
    )
    tokens_in: int
    tokens_out: int
    prompt_token_ids: list[int] | None = Field(
        default=None, description="The prompt as the endpoint tokenized it, when it returned it."
    )
    completion_token_ids: list[int] | None = Field(
        default=None, description="The reply's token ids, when the endpoint returned them."
    )
    completion_logprobs: list[float] | None = Field(
        default=None, description="The sampling policy's logprob of each reply token (off-policy correction)."
    )
    latency_s: float
    error: str | None
    started_at: str | None
    ended_at: str | None
    schema_version: int


class RawRow(_Row):
    """One trajectory, lossless (``from_raw_row`` gives the record back). Holds the hidden
    tests (``problem``) and their report: for analysis, not to train on as is."""

    schema_version: int
    trajectory_id: str
    run_id: str
    task_id: str
    sample_index: int
    status: str
    stop_reason: str
    final_code: str | None
    final_reward: float | None
    hidden_passed: bool | None
    hidden_report: str | None = Field(description="The hidden-test TestReport, as JSON.")
    step_rewards: list[float | None]
    tokens_in: int
    tokens_out: int
    wall_s: float
    feedback_tests: str
    problem: str = Field(description="The codemend Problem, as JSON (includes hidden tests).")
    steps: list[RawStep]
