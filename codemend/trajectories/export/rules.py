"""The rules each export follows, in words: written into the JSON Schema and the dataset card."""

from __future__ import annotations

DESCRIPTIONS = {
    "raw": "One trajectory per row, lossless: every step's messages, reply, code, visible-test report, "
    "critique, reward and named reward components, tokens and latency; the final hidden-test result.",
    "sft": "Rejection-sampling fine-tuning (TRL conversational prompt-completion): `prompt` is what the "
    "model was sent at its last step (task, earlier failed attempts, test feedback), `completion` its "
    "reply. With --messages the two are one `messages` list.",
    "dpo": "Preference pairs (TRL explicit-prompt conversational; OpenRLHF DPO): `chosen` passed the tests "
    "and `rejected` did not, both answers to `prompt`.",
    "kto": "Every tested attempt (TRL KTO): `prompt` as sent, `completion` the reply, `label` whether it "
    "passed.",
    "rl": "Prompts for online RL (verl, TRL GRPO, OpenRLHF, SkyRL): one row per task and per repair state "
    "(task + failing attempt + feedback). `ground_truth` is the JSON of the problem's tests.",
    "openai-sft": "OpenAI chat fine-tuning: the last step's conversation; earlier assistant turns carry "
    "`weight` 0, the passing reply `weight` 1.",
    "openai-dpo": "OpenAI preference fine-tuning: `input.messages`, `preferred_output` (passed), "
    "`non_preferred_output` (failed).",
}

PAIRING = (
    "Sibling attempts from the same state (same task, same messages sent) are paired, the n-th passing "
    "with the n-th failing, each attempt used once; a trajectory with no sibling pair whose first attempt "
    "failed and whose last passed gives (task-only prompt, chosen = last reply, rejected = first reply)."
)

REWARD = (
    "codemend.rewards.compute_score(data_source, solution_str, ground_truth, extra_info): the code "
    "extracted from the reply is run in codemend's sandbox against every test in ground_truth "
    "(visible and hidden); the reward is the fraction that pass (1.0 all, 0.0 none, no code or hostile). "
    "A step passes when all its visible tests pass and, for a trajectory's last step, its hidden tests "
    "did not fail."
)

HIDDEN_TESTS = (
    "No prompt field shows a hidden test: states whose feedback could come from hidden tests "
    "(feedback_tests = all) or whose text contains one are withheld. `ground_truth` (a reward field) "
    "holds all tests; the raw format holds the problem whole."
)
