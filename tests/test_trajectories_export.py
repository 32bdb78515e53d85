"""What each export format contains: the rows, pairing, selection flags, splits, the hidden-test
guarantee, the JSON Schema and the dataset card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from trajectory_data import ADD, ECHO_SUM, PROBLEMS, RUN_ID, SQUARE, run_record

from codemend.errors import UserError
from codemend.trajectories import (
    SCHEMA_VERSION,
    ExportOptions,
    TrajectoryRecord,
    TrajectoryStore,
    export_trajectories,
    from_raw_row,
)
from codemend.trajectories.export import FORMATS, EmptyExport, normalise_code
from codemend.trajectories.export import rows as export_rows
from codemend.trajectories.export.rl import source_of

pytest_plugins = ["trajectory_fixtures"]


def export(records: list[TrajectoryRecord], tmp_path: Path, fmt: str, **options: Any) -> list[dict[str, Any]]:
    out = tmp_path / f"{fmt}.jsonl"
    result = export_trajectories(records, ExportOptions(format=fmt, out=out, **options))  # type: ignore[arg-type]
    rows = []
    for path in result.files.values():
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    assert sum(result.rows.values()) == len(rows)
    return rows


def prompt_texts(fmt: str, row: dict[str, Any]) -> list[str]:
    """Every prompt-side text of a row (what a trainer conditions on, not what it trains on)."""
    if fmt == "openai-sft":
        return [m["content"] for m in row["messages"] if m.get("weight") != 1]
    if fmt == "openai-dpo":
        return [m["content"] for m in row["input"]["messages"]]
    if "messages" in row:
        return [m["content"] for m in row["messages"][:-1]]
    return [m["content"] for m in row["prompt"]]


def hidden_texts() -> list[str]:
    return [getattr(t, "code", None) or t.stdin.strip() for p in PROBLEMS for t in p.hidden_tests()]  # type: ignore[union-attr]


def test_raw_is_lossless(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    rows = export(records, tmp_path, "raw")
    assert [from_raw_row(r) for r in rows] == records
    assert rows[0]["step_rewards"] == [0.0, 1.0]
    assert json.loads(rows[0]["steps"][0]["rewards"])["tests"] == 0.0


def test_sft_keeps_passing_final_replies_with_their_history(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    rows = export(records, tmp_path, "sft")
    # solved: square x3, add#2 (withheld: its repair prompt quotes hidden tests), echo-sum
    assert len(rows) == 4
    first = rows[0]
    assert [m["role"] for m in first["prompt"]] == ["system", "user", "assistant", "user"]
    assert (
        "return x * 2" in first["prompt"][2]["content"]
        and "0/2 tests passed" in first["prompt"][3]["content"]
    )
    assert first["completion"] == [{"role": "assistant", "content": records[0].steps[1].reply}]
    flat = export(records, tmp_path, "sft", messages=True)
    assert [r["messages"] for r in flat] == [r["prompt"] + r["completion"] for r in rows]


def test_dpo_pairs_siblings_then_falls_back(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    rows = export(records, tmp_path, "dpo")
    by_reply = {s.reply: s.code for r in records for s in r.steps}
    pairs = [(by_reply[r["chosen"][0]["content"]], by_reply[r["rejected"][0]["content"]]) for r in rows]
    assert pairs == [
        # square: sample 1 passed and sample 0 failed on the same task prompt
        ("def square(x):\n    # squared\n    return x*x\n", "def square(x):\n    return x * 2\n"),
        # add#2 and echo-sum have no passing sibling: first failing vs final passing, task-only prompt
        ("def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a * 2\n"),
        ("print(sum(map(int, input().split())))\n", "print(sum(map(int, input().split())) + 1)\n"),
    ]
    assert all([m["role"] for m in r["prompt"]] == ["system", "user"] for r in rows)
    openai = export(records, tmp_path, "openai-dpo")
    assert [(r["input"]["messages"], r["preferred_output"], r["non_preferred_output"]) for r in openai] == [
        (r["prompt"], r["chosen"], r["rejected"]) for r in rows
    ]


def test_kto_labels_every_attempt(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    rows = export(records, tmp_path, "kto")
    assert len(rows) == sum(len(r.steps) for r in records) - 1  # add#2's leaking repair is withheld
    assert sum(r["label"] for r in rows) == 4
    # add#1 passed its visible tests but failed the hidden one: not a positive example
    add_1 = next(r for r in rows if "abs(a)" in r["completion"][0]["content"])
    assert add_1["label"] is False


def test_rl_has_one_row_per_task_and_repair_state(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    rows = export(records, tmp_path, "rl", data_source="codemend/unit")
    infos = [(r["extra_info"]["task_id"], r["extra_info"]["turn"]) for r in rows]
    assert infos == [("square", 0), ("square", 1), ("add", 0), ("add", 1), ("echo-sum", 0), ("echo-sum", 1)]
    assert [r["extra_info"]["index"] for r in rows] == list(range(6))
    for row in rows:
        assert row["data_source"] == "codemend/unit" and row["ability"] == "code"
        assert row["reward_model"] == {"style": "rule", "ground_truth": row["ground_truth"]}
        assert row["reward_spec"] == {"method": "rule", "ground_truth": row["ground_truth"]}
        assert row["extra_info"]["split"] == "train"
    truth = json.loads(rows[2]["ground_truth"])
    assert truth["entry_point"] == "add" and truth["test_setup_code"] == "OFFSET = 0"
    assert [t["visibility"] for t in truth["tests"]] == ["visible", "visible", "hidden"]


def test_rl_rows_name_their_benchmark_by_default(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    """verl keeps validation metrics per data_source: each run's rows say which benchmark."""
    runs = [
        run_record().model_copy(update={"settings": {"benchmark": "humaneval"}}),
        run_record("run-0002").model_copy(
            update={"settings": {"benchmark": "jsonl", "data": "/data/My Set.jsonl"}}
        ),
    ]
    mixed = [r if r.problem.id != "add" else r.model_copy(update={"run_id": "run-0002"}) for r in records]
    mixed.append(records[0].model_copy(update={"run_id": "run-0003", "trajectory_id": "t-solo"}))
    out = tmp_path / "rl.jsonl"
    export_trajectories(mixed, ExportOptions(format="rl", out=out), runs=runs)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    sources = {(r["extra_info"]["task_id"], r["data_source"]) for r in rows}
    assert sources == {
        ("square", "codemend/humaneval"),
        ("echo-sum", "codemend/humaneval"),
        ("add", "codemend/my-set"),
    }
    assert source_of(None) == "codemend" and source_of(run_record()) == "codemend"


def test_raw_carries_each_calls_token_ids_and_logprobs(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """What a trainer needs for off-policy correction on stored episodes, when the endpoint gave it."""
    tokens = {"prompt_token_ids": [1, 2], "completion_token_ids": [3], "completion_logprobs": [-0.5]}
    tokened = records[0].model_copy(update={"steps": [s.model_copy(update=tokens) for s in records[0].steps]})
    for suffix in (".jsonl", ".parquet"):
        out = tmp_path / f"raw{suffix}"
        export_trajectories([tokened, records[1]], ExportOptions(format="raw", out=out))
        if suffix == ".parquet":
            rows = pq.read_table(out).to_pylist()
        else:
            rows = [json.loads(line) for line in out.read_text().splitlines()]
        first, other = rows[0]["steps"][0], rows[1]["steps"][0]
        assert {k: first[k] for k in tokens} == tokens and other["completion_token_ids"] is None
        assert [from_raw_row(r) for r in rows] == [tokened, records[1]]


def test_openai_sft_weights_only_the_passing_reply(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    rows = export(records, tmp_path, "openai-sft")
    assert len(rows) == 4
    for row in rows:
        weights = [m.get("weight") for m in row["messages"]]
        roles = [m["role"] for m in row["messages"]]
        assert weights[-1] == 1 and all(
            w == 0 for w, r in zip(weights[:-1], roles[:-1], strict=True) if r == "assistant"
        )
        assert all("weight" not in m for m in row["messages"] if m["role"] != "assistant")


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "raw"])
def test_no_prompt_field_shows_a_hidden_test(
    tmp_path: Path, records: list[TrajectoryRecord], fmt: str
) -> None:
    for options in ({}, {"select": "all"}):
        for row in export(records, tmp_path, fmt, **options):
            texts = prompt_texts(fmt, row)
            assert texts and not [h for h in hidden_texts() for t in texts if h in t]


def test_selection_flags(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    sft = lambda **o: export(records, tmp_path, "sft", **o)  # noqa: E731
    assert len(sft(select="all")) == 6  # every trajectory's last reply, add#2 withheld
    best = sft(select="best")  # square#2 (fewest tokens), add#2 (withheld), echo-sum
    assert [r["completion"][0]["content"] for r in best] == [
        records[2].steps[0].reply,
        records[6].steps[1].reply,
    ]
    assert len(sft(dedup=True)) == 2  # the three square solutions are one after normalising
    assert len(sft(max_per_task=1)) == 2
    kto = export(records, tmp_path, "kto", min_reward=0.5)
    assert {r["label"] for r in kto} == {True, False} and len(kto) == 7  # add#0, add#1 dropped


def test_split_by_task_is_seeded_and_disjoint(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    out = tmp_path / "rl.parquet"
    result = export_trajectories(records, ExportOptions(format="rl", out=out, test_fraction=0.5, seed=3))
    assert set(result.files) == {"train", "test"} and result.files["test"].name == "rl-test.parquet"
    assert result.rows["train"] + result.rows["test"] == 6
    again = export(records, tmp_path, "rl", test_fraction=0.5, seed=3)
    tasks = {
        s: {r["extra_info"]["task_id"] for r in again if r["extra_info"]["split"] == s}
        for s in ("train", "test")
    }
    assert tasks["train"] and tasks["test"] and not tasks["train"] & tasks["test"]
    assert len(tasks["test"]) == 2  # half of 3 tasks, rounded
    for split in ("train", "test"):
        indexes = [r["extra_info"]["index"] for r in again if r["extra_info"]["split"] == split]
        assert indexes == list(range(len(indexes)))


def test_normalised_code() -> None:
    assert normalise_code("def f(x):\n    # c\n\n    return  x*x\n") == normalise_code(
        "def f(x): return x * x"
    )
    assert normalise_code("def f(:\n  x  # c\n") == "def f(:\n x"


def test_schema_beside_an_export_matches_rows(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    for fmt in FORMATS:
        rows = export(records, tmp_path, fmt, select="all")
        schema = json.loads((tmp_path / f"{fmt}.schema.json").read_text())
        assert schema["x-codemend-schema-version"] == SCHEMA_VERSION and schema["description"]
        model = getattr(export_rows, schema["title"])  # the model the schema was made from
        assert {k: v for k, v in schema.items() if k in ("properties", "required", "$defs")} == {
            k: v for k, v in model.model_json_schema().items() if k in ("properties", "required", "$defs")
        }
        for row in rows:
            assert set(row) <= set(schema["properties"]) and set(schema["required"]) <= set(row)
            assert model.model_validate(row).model_dump(exclude_none=fmt == "openai-sft") == row


def test_dataset_card_collects_every_export(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    for fmt in ("sft", "dpo", "rl"):
        export_trajectories(
            records, ExportOptions(format=fmt, out=tmp_path / f"{fmt}.parquet"), source="t.db"
        )  # type: ignore[arg-type]
    text = (tmp_path / "README.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert [c["config_name"] for c in front["configs"]] == ["dpo", "rl", "sft"]
    assert front["configs"][1]["data_files"] == [{"split": "train", "path": "rl.parquet"}]
    assert [s["num_examples"] for s in front["dataset_info"][2]["splits"]] == [4]
    meta = front["codemend"]
    assert meta["rl"]["schema_version"] == SCHEMA_VERSION and "compute_score" in meta["rl"]["reward"]
    assert (
        "Sibling attempts" in meta["dpo"]["pairing"]
        and "(rules used: fallback, sibling)" in meta["dpo"]["pairing"]
    )
    assert meta["sft"]["selection"].startswith("--select correct") and meta["sft"]["source"] == "t.db"
    assert "Rows withheld for that reason: 1" in meta["sft"]["hidden_tests"]


def test_in_a_shared_folder_the_card_is_named_after_the_file(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """``--out /tmp/x.jsonl`` must not write ``/tmp/README.md``; a README.md of the user's
    own is left as it was."""
    (tmp_path / "README.md").write_text("# my project\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    result = export_trajectories(records, ExportOptions(format="sft", out=tmp_path / "x.jsonl"))
    assert result.card == tmp_path / "x.README.md"
    front = yaml.safe_load(result.card.read_text().split("---\n")[1])
    assert front["configs"] == [{"config_name": "x", "data_files": [{"split": "train", "path": "x.jsonl"}]}]
    assert (tmp_path / "README.md").read_text() == "# my project\n"
    assert not (tmp_path / ".codemend-exports.json").exists()
    other = tmp_path / "sub"
    other.mkdir()
    (other / "data.csv").write_text("a\n")
    result = export_trajectories(records, ExportOptions(format="sft", out=other / "y.jsonl"))
    assert result.card == other / "y.README.md" and not (other / "README.md").exists()


def test_bad_options_name_the_flag(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    with pytest.raises(UserError, match=r"\.jsonl or \.parquet"):
        export_trajectories(records, ExportOptions(format="sft", out=tmp_path / "x.csv"))
    with pytest.raises(UserError, match="--messages only applies"):
        export(records, tmp_path, "dpo", messages=True)
    with pytest.raises(UserError, match=r"--split-by-task 1\.5"):
        export(records, tmp_path, "rl", test_fraction=1.5)


def test_problem_fixtures_are_what_the_tests_assume() -> None:
    assert [len(p.hidden_tests()) for p in (SQUARE, ADD, ECHO_SUM)] == [1, 1, 1]


def test_a_split_left_empty_is_refused_and_nothing_written(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """One task cannot be split by task: an empty test file would fail ``load_dataset``."""
    one_task = [r for r in records if r.problem.id == records[0].problem.id]
    options = ExportOptions(format="rl", out=tmp_path / "rl.jsonl", test_fraction=0.5)
    with pytest.raises(EmptyExport, match="the test split would be empty"):
        export_trajectories(one_task, options)
    assert list(tmp_path.iterdir()) == []


def test_problem_metadata_survives_the_store_and_the_exports(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    meta = {"difficulty": "competition", "release_date": "2024-03-01", "rating": 1800}
    problem = records[0].problem.model_copy(update={"metadata": meta})
    tagged = records[0].model_copy(update={"problem": problem})
    with TrajectoryStore(tmp_path / "t.db") as store:
        store.start_run(run_record())
        store.add_trajectory(tagged)
        [back] = store.trajectories(RUN_ID)
    assert back.problem.metadata == meta
    [row] = export([back], tmp_path, "raw")
    assert json.loads(row["problem"])["metadata"] == meta and from_raw_row(row) == tagged
