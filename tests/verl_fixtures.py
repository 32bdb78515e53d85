"""The verl tests' session fixtures; test modules load them with
``pytest_plugins = ["verl_fixtures"]`` (helpers are in ``verl_helpers.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from verl_helpers import readme_block, require_verl


@pytest.fixture(scope="session")
def verl_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory verl's workers can read: SmolLM2's tokenizer and a tiny config."""
    require_verl()
    from transformers import AutoTokenizer, LlamaConfig

    from codemend.llm.embedded import default_gguf

    gguf = default_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.pad_token = "<|endoftext|>"  # the GGUF names none; verl pads with it
    path = tmp_path_factory.mktemp("verl-model")
    tokenizer.save_pretrained(path)
    shape = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = LlamaConfig(vocab_size=len(tokenizer), architectures=["LlamaForCausalLM"], **shape)
    config.save_pretrained(path)
    return path


@pytest.fixture
def verl_importable() -> None:
    """Skip (fail in CI) unless verl imports; the verl test modules use it through their
    ``pytestmark`` (an autouse fixture of a plugin would reach every test of the session)."""
    require_verl()


@pytest.fixture(scope="session")
def agent_loops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's ``agent_loops.yaml``, written where verl's worker reads it."""
    path = tmp_path_factory.mktemp("verl-config") / "agent_loops.yaml"
    path.write_text(readme_block("yaml", "codemend.env.verl.RepairAgentLoop"))
    return path
