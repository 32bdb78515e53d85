"""Writing rows: JSON Lines or Parquet with a schema derived from the row model, and the
Hugging Face ``features`` description of that schema (for the dataset card)."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from pydantic import BaseModel

_PRIMITIVES: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}


def arrow_type(annotation: Any) -> pa.DataType:
    """The Arrow type of a row-model annotation (``X | None`` is a nullable X)."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"unsupported union in a row model: {annotation!r}")
        return arrow_type(inner[0])
    if origin is Literal:
        return arrow_type(type(get_args(annotation)[0]))
    if origin is list:
        return pa.list_(arrow_type(get_args(annotation)[0]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return pa.struct([pa.field(n, arrow_type(f.annotation)) for n, f in annotation.model_fields.items()])
    if annotation in _PRIMITIVES:
        return _PRIMITIVES[annotation]
    raise TypeError(f"unsupported type in a row model: {annotation!r}")


def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    """The Arrow schema of ``model``'s rows: one field per model field, in order."""
    return pa.schema([pa.field(n, arrow_type(f.annotation)) for n, f in model.model_fields.items()])


def write_rows(rows: list[dict[str, Any]], path: Path, schema: pa.Schema) -> None:
    """``.jsonl``: one JSON object per line, exactly the rows; ``.parquet``: ``schema``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    else:
        with tmp.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


def features(schema: pa.Schema) -> list[dict[str, Any]]:
    """The ``dataset_info.features`` list of a Hugging Face dataset card."""
    return [{"name": f.name, **_feature(f.type)} for f in schema]


def _feature(t: pa.DataType) -> dict[str, Any]:
    if pa.types.is_struct(t):
        return {
            "struct": [{"name": t.field(i).name, **_feature(t.field(i).type)} for i in range(t.num_fields)]
        }
    if pa.types.is_list(t):
        inner = _feature(t.value_type)
        if "dtype" in inner:
            return {"list": inner["dtype"]}
        return {"list": inner.get("struct", inner)}
    return {"dtype": _dtype(t)}


def _dtype(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    return str(t)  # int64, float64
