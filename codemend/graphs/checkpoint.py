"""Checkpoints in SQLite, so an interrupted solve resumes from its last finished node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from codemend.records import StepRecord, TestReport

_STATE_TYPES = (StepRecord, TestReport)  # the models the state holds; nested ones travel as dicts


def checkpoint_serializer() -> JsonPlusSerializer:
    """LangGraph's serializer, allowed to rebuild exactly the records the state holds."""
    return JsonPlusSerializer(allowed_msgpack_modules=list(_STATE_TYPES))


@asynccontextmanager
async def sqlite_checkpointer(path: str | Path) -> AsyncIterator[AsyncSqliteSaver]:
    """An ``AsyncSqliteSaver`` on ``path`` (a file, created with its folder if missing)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        yield AsyncSqliteSaver(conn, serde=checkpoint_serializer())
