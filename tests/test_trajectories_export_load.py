"""Every format, as JSON Lines and as Parquet, loads with ``datasets.load_dataset`` with the
columns and types the trainers read; the card's features are the Parquet files' features."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
import yaml
from datasets import Features, Json, List, Value, load_dataset

from codemend.trajectories import ExportOptions, TrajectoryRecord, export_trajectories

pytest_plugins = ["trajectory_fixtures"]

CHAT = List({"role": Value("string"), "content": Value("string")})
EXPECTED: dict[str, dict[str, object]] = {
    "sft": {"prompt": CHAT, "completion": CHAT},
    "sft-messages": {"messages": CHAT},
    "dpo": {
        "prompt": CHAT,
        "chosen": CHAT,
        "rejected": CHAT,
        "chosen_structure": Value("float64"),
        "rejected_structure": Value("float64"),
    },
    "kto": {"prompt": CHAT, "completion": CHAT, "label": Value("bool"), "structure": Value("float64")},
    "rl": {
        "data_source": Value("string"),
        "prompt": CHAT,
        "ability": Value("string"),
        "env_class": Value("string"),
        "reward_model": {"style": Value("string"), "ground_truth": Value("string")},
        "reward_spec": {"method": Value("string"), "ground_truth": Value("string")},
        "ground_truth": Value("string"),
        "extra_info": {
            "index": Value("int64"),
            "split": Value("string"),
            "task_id": Value("string"),
            "turn": Value("int64"),
            "objective": Value("string"),
            "cost": Value("string"),
        },
    },
    "openai-sft": {
        "messages": List({"role": Value("string"), "content": Value("string"), "weight": Value("int64")})
    },
    "openai-dpo": {"input": {"messages": CHAT}, "preferred_output": CHAT, "non_preferred_output": CHAT},
}
ROWS = {"raw": 7, "sft": 4, "sft-messages": 4, "dpo": 3, "kto": 10, "rl": 6, "openai-sft": 4, "openai-dpo": 3}


@pytest.fixture(autouse=True)
def _quiet_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    datasets.disable_progress_bars()


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
@pytest.mark.parametrize("name", list(ROWS))
def test_loads_with_datasets(tmp_path: Path, records: list[TrajectoryRecord], name: str, suffix: str) -> None:
    fmt, messages = ("sft", True) if name == "sft-messages" else (name, False)
    out = tmp_path / "data" / f"{name}{suffix}"
    export_trajectories(records, ExportOptions(format=fmt, out=out, messages=messages))  # type: ignore[arg-type]
    loader = "parquet" if suffix == ".parquet" else "json"
    ds = load_dataset(loader, data_files=str(out), split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert ds.num_rows == ROWS[name]
    if name == "raw":
        assert ds.features["steps"].feature["messages"] == CHAT
        assert ds.features["step_rewards"] == List(Value("float64"))
        assert ds.features["final_reward"] == Value("float64") and ds.features["hidden_passed"] == Value(
            "bool"
        )
        assert ds[0]["steps"][1]["passed"] is True
    elif name == "openai-sft" and suffix == ".jsonl":
        # `weight` only on assistant messages, as OpenAI requires: datasets reads mixed keys as Json
        assert ds.features == Features({"messages": List(Json())})
        assert ds[0]["messages"][-1] == {
            "role": "assistant",
            "content": records[0].steps[1].reply,
            "weight": 1,
        }
    else:
        expected = dict(EXPECTED[name])
        if suffix == ".jsonl":  # these problems have no reference solution: datasets reads JSON nulls as null
            expected |= {k: Value("null") for k in expected if k.endswith("structure")}
        assert ds.features == Features(expected)
    if suffix == ".parquet":
        front = yaml.safe_load((out.parent / "README.md").read_text().split("---\n")[1])
        [info] = front["dataset_info"]
        assert Features._from_yaml_list(info["features"]) == ds.features
        assert info["splits"] == [{"name": "train", "num_examples": ROWS[name]}]


def test_split_files_load_as_splits(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    out = tmp_path / "dpo.parquet"
    result = export_trajectories(records, ExportOptions(format="kto", out=out, test_fraction=0.34, seed=1))
    files = {split: str(path) for split, path in result.files.items()}
    loaded = load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf-cache"))
    assert {s: loaded[s].num_rows for s in loaded} == result.rows
    assert sum(result.rows.values()) == ROWS["kto"]
