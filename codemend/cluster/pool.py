"""The driver's handle on the cluster's runners: start them, send each call to the least loaded one
(calls in flight per sandbox worker of its node), and account for lost ones.

Ray detects a lost runner (its process or its node died): the calls it had in flight fail with a
``RayActorError`` and go to another runner, at most ``MAX_LOSSES`` times each; their results, if
the lost runner had produced any, never arrive, so nothing is counted twice. A replacement runner
is requested at once and joins when the cluster has room for it (the same node after a worker
crash, a node that joins after a node loss). An ``InfrastructureError`` raised on a runner (its
sandbox cannot start) is retried there by Ray (``retry_exceptions``); any other error, and a wrong
answer above all, is never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from codemend.cluster.node import NodeRunner, RunnerConfig
from codemend.errors import CodemendError, InfrastructureError

log = logging.getLogger(__name__)

RESOURCE = "sandbox"
MAX_LOSSES = 3
INFRA_RETRIES = 2
READY_TIMEOUT_S = 300.0


@dataclass(slots=True)
class _Runner:
    handle: Any
    node_id: str
    capacity: int = 1
    """Runs its node's sandbox pool takes at once: a bigger node gets proportionally more work."""
    in_flight: int = 0

    def load_with_one_more(self) -> float:
        return (self.in_flight + 1) / self.capacity


LossHook = Callable[[str, str], None]
"""(node id, why) when a runner is lost."""


class RunnerPool:
    def __init__(
        self, config: RunnerConfig, runners: list[_Runner], *, on_loss: LossHook | None = None
    ) -> None:
        self.config = config
        self.live = runners
        self.on_loss = on_loss
        self.losses = 0
        self._joined = asyncio.Event()
        self._replacing: set[asyncio.Task[None]] = set()
        self._pending: list[Any] = []

    @staticmethod
    def _spawn(config: RunnerConfig) -> Any:
        actor = ray.remote(NodeRunner).options(
            num_cpus=0, resources={RESOURCE: 1}, max_restarts=0, max_concurrency=10_000
        )
        return actor.remote(config)

    @classmethod
    async def start(cls, config: RunnerConfig, *, on_loss: LossHook | None = None) -> RunnerPool:
        """One runner per unit of the cluster's ``sandbox`` resource, each with its pool started."""
        units = int(ray.cluster_resources().get(RESOURCE, 0))
        if units < 1:
            raise InfrastructureError(
                f"no node of the Ray cluster offers the `{RESOURCE}` resource: start the nodes that may "
                f"run candidates with `ray start ... --resources '{{\"{RESOURCE}\": 1}}'`"
            )
        handles = [cls._spawn(config) for _ in range(units)]
        try:
            ready = await asyncio.wait_for(
                asyncio.gather(*(h.ready.remote() for h in handles)), timeout=READY_TIMEOUT_S
            )
        except (RayActorError, RayTaskError, TimeoutError) as exc:
            for handle in handles:
                ray.kill(handle)
            raise InfrastructureError(f"the cluster's runners did not start: {exc}") from None
        runners = [_Runner(h, node, size) for h, (node, size) in zip(handles, ready, strict=True)]
        return cls(config, runners, on_loss=on_loss)

    @classmethod
    def of(cls, config: RunnerConfig, runners: list[tuple[Any, str, int]]) -> RunnerPool:
        """A pool over runners started elsewhere (as ``handles`` gives them)."""
        return cls(config, [_Runner(handle, node, size) for handle, node, size in runners])

    @property
    def handles(self) -> list[tuple[Any, str, int]]:
        """The live runners' actor handles, node ids and capacities (handles pickle into other Ray
        processes)."""
        return [(r.handle, r.node_id, r.capacity) for r in self.live]

    @property
    def nodes(self) -> list[str]:
        """The node ids of the live runners, one per runner."""
        return [r.node_id for r in self.live]

    async def _pick(self) -> _Runner:
        while not self.live:
            self._joined.clear()
            try:
                await asyncio.wait_for(self._joined.wait(), timeout=READY_TIMEOUT_S)
            except TimeoutError:
                raise InfrastructureError(
                    f"no runner left: every node offering `{RESOURCE}` is gone and none came back"
                ) from None
        return min(self.live, key=_Runner.load_with_one_more)

    async def call(self, method: str, *args: Any, retry_infra: bool = False) -> Any:
        """``method(*args)`` on the least loaded runner; on another one if that runner is lost."""
        for _ in range(MAX_LOSSES + 1):
            runner = await self._pick()
            bound = getattr(runner.handle, method)
            if retry_infra:
                bound = bound.options(max_task_retries=INFRA_RETRIES, retry_exceptions=[InfrastructureError])
            runner.in_flight += 1
            try:
                return await bound.remote(*args)
            except RayActorError as exc:
                self._lost(runner, exc)
            except RayTaskError as exc:
                if isinstance(exc.cause, CodemendError):
                    raise exc.cause from None
                raise
            finally:
                runner.in_flight -= 1
        raise InfrastructureError(f"{method} lost its runner {MAX_LOSSES + 1} times; resume the run later")

    def _lost(self, runner: _Runner, exc: BaseException) -> None:
        if runner not in self.live:
            return  # another call already saw it go
        self.live.remove(runner)
        self.losses += 1
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        # one line: Ray's own account of the loss (the raylet's log) stays in Ray's logs, and the
        # whole error goes to the loss hook (the run dir's cluster.jsonl)
        log.warning(
            "lost the runner on node %s (%s); its work goes to the other runners",
            runner.node_id,
            type(exc).__name__,
        )
        if self.on_loss is not None:
            self.on_loss(runner.node_id, why)
        task = asyncio.get_running_loop().create_task(self._replace())
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        handle = self._spawn(self.config)
        self._pending.append(handle)
        try:
            node, size = await handle.ready.remote()
        except (RayActorError, RayTaskError) as exc:
            log.warning("a replacement runner did not start: %s", exc)
            return
        finally:
            self._pending.remove(handle)
        self.live.append(_Runner(handle, node, size))
        self._joined.set()

    async def close(self, timeout_s: float = 30.0) -> None:
        """Cancel pending replacements, close every runner's pool and clients, end the runners."""
        for task in list(self._replacing):
            task.cancel()
        for handle in self._pending:
            ray.kill(handle)
        handles = [r.handle for r in self.live]
        with contextlib.suppress(RayActorError, RayTaskError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(h.close.remote() for h in handles)), timeout=timeout_s)
        for handle in handles:
            ray.kill(handle)
        self.live = []
