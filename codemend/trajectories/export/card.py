"""The dataset card, with Hugging Face YAML front matter (``configs``,
``dataset_info.features``) and codemend's own metadata (schema version, reward definition,
pairing and selection rules, source runs).

In a dataset directory (one that was empty, or holds codemend exports only) the card is its
``README.md``, and several exports there become several configs of one dataset; what each
contributed is kept in ``.codemend-exports.json`` so the card can be written again whole.
Anywhere else (``/tmp``, a project folder) the card of ``x.jsonl`` is ``x.README.md`` beside
it, for that export alone: a bare ``README.md`` never lands in a shared folder, and a
``README.md`` that codemend did not write is never touched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from codemend.errors import UserError

MARKER = "<!-- codemend export card -->"
SIDECAR = ".codemend-exports.json"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_VALUE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def is_dataset_dir(directory: Path) -> bool:
    """Whether exports into ``directory`` make up one dataset (it is new, empty, or ours)."""
    if not directory.exists():
        return True
    return (directory / SIDECAR).exists() or not any(directory.iterdir())


def card_path(directory: Path, stem: str, dataset_dir: bool) -> Path:
    """Where the dataset card goes: ``README.md`` in a dataset directory, else ``<stem>.README.md``."""
    return directory / ("README.md" if dataset_dir else f"{stem}.README.md")


def write_card(directory: Path, entry: dict[str, Any], *, dataset_dir: bool) -> Path:
    """Write the card of the export ``entry``: in a dataset directory, add (or replace) it
    among the directory's configs and write ``README.md`` again; elsewhere, ``<stem>.README.md``."""
    path = card_path(directory, entry["config_name"], dataset_dir)
    if not dataset_dir:
        path.write_text(render([entry]), encoding="utf-8")
        return path
    sidecar = directory / SIDECAR
    entries: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}
    entries[entry["config_name"]] = entry
    sidecar.write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if path.exists() and MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        raise UserError(f"{path} exists and was not written by codemend")  # only by a race
    path.write_text(render(list(entries.values())), encoding="utf-8")
    return path


def render(entries: list[dict[str, Any]]) -> str:
    """The dataset card of ``entries``: YAML front matter naming each config's files, features and
    split sizes, then a section per config."""
    entries = sorted(entries, key=lambda e: e["config_name"])
    front = {
        "configs": [
            {
                "config_name": e["config_name"],
                "data_files": [{"split": s, "path": p} for s, p in e["files"].items()],
            }
            for e in entries
        ],
        "dataset_info": [
            {
                "config_name": e["config_name"],
                "features": e["features"],
                "splits": [{"name": s, "num_examples": n} for s, n in e["rows"].items()],
            }
            for e in entries
        ],
        "tags": ["codemend", "code", "trajectories"],
        "codemend": {e["config_name"]: e["metadata"] for e in entries},
    }
    body = [f"---\n{to_yaml(front)}---\n", MARKER, "# codemend trajectory export\n"]
    body += [_section(e) for e in entries]
    return "\n".join(body)


def _section(e: dict[str, Any]) -> str:
    meta = e["metadata"]
    files = ", ".join(f"`{p}` ({e['rows'][s]} rows, {s})" for s, p in e["files"].items())
    lines = [
        f"## `{e['config_name']}` — format `{meta['format']}`\n",
        f"{meta['description']}\n",
        f"- files: {files}; JSON Schema: `{e['schema']}`",
        f"- schema version: {meta['schema_version']}",
        f"- selection: {meta['selection']}",
        f"- source: {meta['source']}",
    ]
    lines += [f"- {k}: {meta[k]}" for k in ("pairing", "reward") if meta.get(k)]
    lines.append(f"- hidden tests: {meta['hidden_tests']}")
    loader = "parquet" if str(next(iter(e["files"].values()))).endswith(".parquet") else "json"
    files_arg = ", ".join(f'"{s}": "{p}"' for s, p in e["files"].items())
    lines.append(f'\n```python\nload_dataset("{loader}", data_files={{{files_arg}}})\n```\n')
    return "\n".join(lines)


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars; strings are double-quoted (JSON escapes
    are valid YAML), so no value is ever misread."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        out = []
        for k, v in value.items():
            key = k if _PLAIN_KEY.match(k) else json.dumps(k)
            if _is_scalar(v) or v in ({}, []):
                out.append(f"{pad}{key}: {_scalar(v)}\n")
            else:
                out.append(f"{pad}{key}:\n{to_yaml(v, indent + 2)}")
        return "".join(out)
    if isinstance(value, list):
        out = []
        for item in value:
            if _is_scalar(item) or item in ({}, []):
                out.append(f"{pad}- {_scalar(item)}\n")
            else:
                nested = to_yaml(item, indent + 2)
                out.append(f"{pad}- {nested[indent + 2 :]}")
        return "".join(out)
    return pad + _scalar(value) + "\n"


def _is_scalar(v: Any) -> bool:
    return not isinstance(v, (dict, list))


def _scalar(v: Any) -> str:
    if v in ({}, []):
        return "{}" if isinstance(v, dict) else "[]"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    text = str(v)
    if _PLAIN_VALUE.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)
