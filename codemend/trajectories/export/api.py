"""``export_trajectories``: trajectories in, training files + JSON Schema + dataset card out."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel

from codemend.errors import UserError
from codemend.records import SCHEMA_VERSION, RunRecord, TrajectoryRecord
from codemend.trajectories.export import arrow, card, rows
from codemend.trajectories.export.formats import Built, kto_rows, openai_sft_rows, raw_rows, sft_rows
from codemend.trajectories.export.pairs import dpo_rows, openai_dpo_rows
from codemend.trajectories.export.rl import number_rl_rows, rl_rows, source_of
from codemend.trajectories.export.rules import DESCRIPTIONS, HIDDEN_TESTS, PAIRING, REWARD
from codemend.trajectories.export.select import (
    Row,
    SelectMode,
    cap_per_task,
    dedup,
    select_trajectories,
    split_by_task,
)

Format = Literal["raw", "sft", "dpo", "kto", "rl", "openai-sft", "openai-dpo"]
FORMATS: tuple[str, ...] = get_args(Format)
SUFFIXES = (".jsonl", ".parquet")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions:
    """What to export and how to select it (the ``codemend export`` flags).

    ``select=None`` means the format's default: ``correct`` for ``sft`` and ``openai-sft``,
    ``all`` otherwise. ``test_fraction`` (``--split-by-task``) puts that share of the tasks,
    chosen with ``seed``, in a ``test`` split.
    """

    format: Format
    out: Path
    select: SelectMode | None = None
    min_reward: float | None = None
    max_per_task: int | None = None
    dedup: bool = False
    test_fraction: float | None = None
    seed: int = 0
    messages: bool = False
    data_source: str | None = None
    """rl: the ``data_source`` column; None: ``codemend/<benchmark>`` of each trajectory's run
    (``rl.source_of``)."""
    env_class: str = "codemend-repair"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportResult:
    files: dict[str, Path]
    rows: dict[str, int]
    schema: Path
    card: Path
    trajectories: int
    withheld: int


def export_trajectories(
    trajectories: Iterable[TrajectoryRecord],
    options: ExportOptions,
    *,
    source: str = "",
    runs: Iterable[RunRecord] = (),
) -> ExportResult:
    """Write ``options.out`` (split into ``<stem>-train``/``-test`` files with
    ``test_fraction``), ``<stem>.schema.json`` and the dataset card beside them (``README.md``
    in a dataset directory, ``<stem>.README.md`` elsewhere: see ``card``)."""
    _check(options)
    out = options.out
    dataset_dir = card.is_dataset_dir(out.parent)  # decided before any file is written
    mode: SelectMode = options.select or ("correct" if options.format in ("sft", "openai-sft") else "all")
    chosen = select_trajectories(trajectories, mode, options.min_reward)
    built = _builder(options, {r.run_id: r for r in runs})(chosen)
    kept = _refine(built.rows, options)
    _check_not_empty(kept, options, len(chosen))
    model = _model(options)
    schema = arrow.arrow_schema(model)
    files = _write(kept, out, schema, split=options.test_fraction is not None)
    schema_path = out.with_name(f"{out.stem}.schema.json")
    schema_path.write_text(json.dumps(_json_schema(model, options), indent=1) + "\n", encoding="utf-8")
    counts = {split: sum(r.split == split for r in kept) for split in files}
    entry = {
        "config_name": out.stem,
        "files": {s: p.name for s, p in files.items()},
        "rows": counts,
        "schema": schema_path.name,
        "features": arrow.features(schema),
        "metadata": _metadata(options, mode, source, len(chosen), built.withheld, kept),
    }
    readme = card.write_card(out.parent, entry, dataset_dir=dataset_dir)
    return ExportResult(
        files=files,
        rows=counts,
        schema=schema_path,
        card=readme,
        trajectories=len(chosen),
        withheld=built.withheld,
    )


class EmptyExport(UserError):
    """The selection matched no row: nothing is written (an empty Parquet or JSON Lines file
    makes ``datasets.load_dataset`` fail, so no trainer is handed one)."""


def _check_not_empty(kept: list[Row], options: ExportOptions, trajectories: int) -> None:
    mode = options.select or ("correct" if options.format in ("sft", "openai-sft") else "all")
    if not kept:
        raise EmptyExport(
            f"nothing to export: {trajectories} trajectories matched --select {mode}"
            + (f" --min-reward {options.min_reward}" if options.min_reward is not None else "")
            + f" and they gave no {options.format} row; nothing was written"
            + (" (sft keeps solved trajectories only: try --select best)" if mode == "correct" else "")
        )
    if options.test_fraction is not None:
        for split in ("train", "test"):
            if not any(r.split == split for r in kept):
                raise EmptyExport(
                    f"the {split} split would be empty ({len(kept)} rows in all): change "
                    "--split-by-task or export more tasks; nothing was written"
                )


def _check(options: ExportOptions) -> None:
    if options.format not in FORMATS:
        raise UserError(f"unknown format {options.format!r}: choose one of {', '.join(FORMATS)}")
    if options.out.suffix not in SUFFIXES:
        raise UserError(f"--out {options.out}: the file name must end in .jsonl or .parquet")
    if options.messages and options.format != "sft":
        raise UserError("--messages only applies to --format sft")
    if options.test_fraction is not None and not 0 < options.test_fraction < 1:
        raise UserError(f"--split-by-task {options.test_fraction}: give the test share, between 0 and 1")
    if options.max_per_task is not None and options.max_per_task < 1:
        raise UserError(f"--max-per-task {options.max_per_task}: give a positive number")


def _builder(
    options: ExportOptions, runs: dict[str, RunRecord]
) -> Callable[[list[TrajectoryRecord]], Built]:
    named = options.data_source

    def data_source(t: TrajectoryRecord) -> str:
        return named if named is not None else source_of(runs.get(t.run_id))

    builders: dict[str, Callable[[list[TrajectoryRecord]], Built]] = {
        "raw": raw_rows,
        "sft": lambda ts: sft_rows(ts, messages=options.messages),
        "dpo": dpo_rows,
        "kto": kto_rows,
        "rl": lambda ts: rl_rows(ts, data_source=data_source, env_class=options.env_class),
        "openai-sft": openai_sft_rows,
        "openai-dpo": openai_dpo_rows,
    }
    return builders[options.format]


def _model(options: ExportOptions) -> type[BaseModel]:
    if options.format == "sft" and options.messages:
        return rows.SftMessagesRow
    models: dict[str, type[BaseModel]] = {
        "raw": rows.RawRow,
        "sft": rows.SftRow,
        "dpo": rows.DpoRow,
        "kto": rows.KtoRow,
        "rl": rows.RlRow,
        "openai-sft": rows.OpenAISftRow,
        "openai-dpo": rows.OpenAIDpoRow,
    }
    return models[options.format]


def _refine(found: list[Row], options: ExportOptions) -> list[Row]:
    if options.dedup:
        found = dedup(found)
    if options.max_per_task is not None:
        found = cap_per_task(found, options.max_per_task)
    if options.test_fraction is not None:
        found = split_by_task(found, options.test_fraction, options.seed)
    if options.format == "rl":
        number_rl_rows(found)
    return found


def _write(found: list[Row], out: Path, schema: Any, *, split: bool) -> dict[str, Path]:
    if not split:
        arrow.write_rows([r.data for r in found], out, schema)
        return {"train": out}
    files = {}
    for name in ("train", "test"):
        path = out.with_name(f"{out.stem}-{name}{out.suffix}")
        arrow.write_rows([r.data for r in found if r.split == name], path, schema)
        files[name] = path
    return files


def _json_schema(model: type[BaseModel], options: ExportOptions) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = DESCRIPTIONS[options.format]
    schema["x-codemend-schema-version"] = SCHEMA_VERSION
    return schema


def _metadata(
    options: ExportOptions, mode: str, source: str, n_traj: int, withheld: int, kept: list[Row]
) -> dict[str, Any]:
    rules = [f"--select {mode}"]
    rules += [f"--min-reward {options.min_reward}"] if options.min_reward is not None else []
    rules += ["--dedup (normalised code)"] if options.dedup else []
    rules += [f"--max-per-task {options.max_per_task}"] if options.max_per_task else []
    if options.test_fraction is not None:
        rules.append(
            f"--split-by-task {options.test_fraction} --seed {options.seed} (no task in both splits)"
        )
    pairing_rules = sorted({str(r.meta["rule"]) for r in kept if "rule" in r.meta})
    return {
        "format": options.format + (" --messages" if options.messages else ""),
        "description": DESCRIPTIONS[options.format],
        "schema_version": SCHEMA_VERSION,
        "selection": "; ".join(rules) + f" -> {n_traj} trajectories",
        "pairing": (PAIRING + f" (rules used: {', '.join(pairing_rules) or 'none'})")
        if options.format in ("dpo", "openai-dpo")
        else "",
        "reward": REWARD if options.format in ("rl", "raw", "kto") else "",
        "hidden_tests": HIDDEN_TESTS + f" Rows withheld for that reason: {withheld}.",
        "source": source or "trajectories given in code",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
