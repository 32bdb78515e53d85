"""Synchronous access to ``RepairEnv`` for trainers that call ``step`` from plain code.

Every synchronous environment runs on one shared event loop in a daemon thread, so many of
them (and the ``run_many`` batches of the TRL adapter) share one sandbox pool and overlap their
test runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from codemend.env.core import ChatMessages, EnvStep, RepairEnv

T = TypeVar("T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The event loop the synchronous environments share, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="codemend-env", daemon=True).start()
            _loop = loop
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the shared loop and wait for it (not from inside that loop)."""
    return asyncio.run_coroutine_threadsafe(coro, background_loop()).result()


class SyncRepairEnv:
    """``RepairEnv`` with blocking ``reset``/``step``/``close``; ``env`` is the async one."""

    def __init__(self, env: RepairEnv) -> None:
        self.env = env

    def reset(self) -> ChatMessages:
        """``RepairEnv.reset``, blocking: the first observation."""
        return run_sync(self.env.reset())

    def step(self, action: str) -> EnvStep:
        """``RepairEnv.step``, blocking."""
        return run_sync(self.env.step(action))

    def close(self) -> None:
        """``RepairEnv.aclose``, blocking."""
        run_sync(self.env.aclose())
