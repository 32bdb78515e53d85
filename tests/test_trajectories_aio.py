"""``AsyncTrajectoryStore``: many async solves on one store, steps written behind (committed
within ``step_delay_s``, all of them before ``finish_trajectory`` returns), and a step that
cannot be stored keeping its trajectory unfinished."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from trajectory_data import RUN_ID, SQUARE, run_record

from codemend.errors import UserError
from codemend.records import Outcome
from codemend.trajectories import AsyncTrajectoryStore, StepRecord, TrajectoryRecord, TrajectoryStore

pytest_plugins = ["trajectory_fixtures"]


def _steps_on_disk(db: Path) -> int:
    with TrajectoryStore(db, create=False) as reader:  # its own connection: sees commits only
        return reader.count_steps()


def test_async_solves_share_one_store(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    steps = records[0].steps

    async def solve(astore: AsyncTrajectoryStore, i: int) -> None:
        tid = await astore.start_trajectory(RUN_ID, SQUARE, i)
        for k in range(5):
            await astore.add_step(tid, steps[k % 2].model_copy(update={"index": k}))
            await asyncio.sleep(0)
        await astore.finish_trajectory(tid, Outcome(status="solved", stop_reason="solved", final_reward=1.0))

    async def main() -> set[tuple[str, int]]:
        astore = AsyncTrajectoryStore(TrajectoryStore(tmp_path / "s.db"))
        await astore.start_run(run_record())
        await asyncio.gather(*(solve(astore, i) for i in range(64)))
        await astore.finish_run(RUN_ID)
        pairs = await astore.finished_pairs(RUN_ID)
        await astore.close()
        return pairs

    assert asyncio.run(main()) == {("square", i) for i in range(64)}
    with TrajectoryStore(tmp_path / "s.db") as store:
        finished = list(store.trajectories(RUN_ID))
        assert len(finished) == 64
        assert all([s.index for s in t.steps] == [0, 1, 2, 3, 4] for t in finished)


def test_steps_written_behind_are_committed_without_any_awaited_write(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    db = tmp_path / "s.db"

    async def main() -> int:
        astore = AsyncTrajectoryStore(TrajectoryStore(db), step_delay_s=0.05)
        await astore.start_run(run_record())
        tid = await astore.start_trajectory(RUN_ID, SQUARE, 0)
        await astore.add_step(tid, records[0].steps[0])
        deadline = time.monotonic() + 30  # liveness bound only: the timer, not a flush, commits it
        while (seen := await asyncio.to_thread(_steps_on_disk, db)) < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await astore.close()
        return seen

    assert asyncio.run(main()) == 1


def test_finish_returns_with_every_step_on_disk(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    """With a delay far longer than the test, only the awaited finish can have committed the steps."""
    db = tmp_path / "s.db"

    async def main() -> tuple[int, int]:
        astore = AsyncTrajectoryStore(TrajectoryStore(db), step_delay_s=3600)
        await astore.start_run(run_record())
        tid = await astore.start_trajectory(RUN_ID, SQUARE, 0)
        for k in range(3):
            await astore.add_step(tid, records[0].steps[0].model_copy(update={"index": k}))
        await astore.finish_trajectory(tid, Outcome(status="unsolved", stop_reason="max_rounds"))
        on_disk = await asyncio.to_thread(_steps_on_disk, db)
        tid2 = await astore.start_trajectory(RUN_ID, SQUARE, 1)
        await astore.add_step(tid2, records[0].steps[0])
        await astore.close()  # close commits what is queued
        return on_disk, await asyncio.to_thread(_steps_on_disk, db)

    assert asyncio.run(main()) == (3, 4)
    with TrajectoryStore(db) as store:
        (done,) = store.trajectories(RUN_ID)
        assert [s.index for s in done.steps] == [0, 1, 2] and done.tokens_in > 0
        assert [len(t.steps) for t in store.trajectories(RUN_ID, include_unfinished=True)] == [3, 1]


@pytest.mark.parametrize("when", ["same transaction", "earlier transaction"])
def test_a_step_that_cannot_be_stored_keeps_its_trajectory_unfinished(
    tmp_path: Path, records: list[TrajectoryRecord], caplog: pytest.LogCaptureFixture, when: str
) -> None:
    step = records[0].steps[0]
    db = tmp_path / "s.db"

    async def main() -> UserError:
        astore = AsyncTrajectoryStore(TrajectoryStore(db), step_delay_s=3600)
        await astore.start_run(run_record())
        tid = await astore.start_trajectory(RUN_ID, SQUARE, 0)
        await astore.add_step(tid, step)
        assert await astore.add_step(tid, step) is None  # queued: the error comes later
        if when == "earlier transaction":
            await astore.flush()
        with pytest.raises(UserError) as caught:
            await astore.finish_trajectory(tid, Outcome(status="solved", stop_reason="solved"))
        # starting the trajectory again (as a resume does) clears it
        tid = await astore.start_trajectory(RUN_ID, SQUARE, 0)
        await astore.add_step(tid, step)
        await astore.finish_trajectory(tid, Outcome(status="solved", stop_reason="solved"))
        await astore.close()
        return caught.value

    with caplog.at_level(logging.ERROR, logger="codemend.trajectories.aio"):
        error = asyncio.run(main())
    assert "left unfinished" in str(error) and "already has a step 0" in str(error)
    assert any("step 0 of trajectory" in r.getMessage() for r in caplog.records)
    with TrajectoryStore(db) as store:
        (done,) = store.trajectories(RUN_ID, include_unfinished=True)
        assert done.status == "solved" and len(done.steps) == 1


def test_a_failing_awaited_write_fails_alone(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    """With ``step_delay_s=0`` each step is committed before ``add_step`` returns; writes
    committed together (group commit) still succeed or fail one by one."""
    step = records[0].steps[0]

    async def main() -> list[object]:
        astore = AsyncTrajectoryStore(TrajectoryStore(tmp_path / "s.db"), step_delay_s=0)
        await astore.start_run(run_record())
        tids = [await astore.start_trajectory(RUN_ID, SQUARE, i) for i in range(3)]
        writes = [astore.add_step(tid, step) for tid in tids] + [astore.add_step(tids[1], step)]
        writes.append(astore.add_step("nope", step))
        results = await asyncio.gather(*writes, return_exceptions=True)
        await astore.close()
        return results

    results = asyncio.run(main())
    assert results[:3] == [None, None, None]
    assert isinstance(results[3], UserError) and "already has a step 0" in str(results[3])
    assert isinstance(results[4], UserError) and "start_trajectory" in str(results[4])
    with TrajectoryStore(tmp_path / "s.db") as store:
        assert [len(t.steps) for t in store.trajectories(include_unfinished=True)] == [1, 1, 1]


def test_a_negative_delay_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="step_delay_s"):
        AsyncTrajectoryStore(TrajectoryStore(tmp_path / "s.db"), step_delay_s=-1)


def test_the_store_serves_callers_on_several_event_loops(
    tmp_path: Path, records: list[TrajectoryRecord]
) -> None:
    """One store, two ``asyncio.run`` calls one after the other (as two library calls make)."""
    astore = AsyncTrajectoryStore(TrajectoryStore(tmp_path / "s.db"))
    step: StepRecord = records[0].steps[0]

    async def one(i: int) -> None:
        if i == 0:
            await astore.start_run(run_record())
        tid = await astore.start_trajectory(RUN_ID, SQUARE, i)
        await astore.add_step(tid, step)
        await astore.finish_trajectory(tid, Outcome(status="solved", stop_reason="solved"))

    asyncio.run(one(0))
    asyncio.run(one(1))
    asyncio.run(astore.close())
    with TrajectoryStore(tmp_path / "s.db") as store:
        assert [len(t.steps) for t in store.trajectories(RUN_ID)] == [1, 1]


def test_a_step_is_stored_as_it_was_when_added(tmp_path: Path, records: list[TrajectoryRecord]) -> None:
    """Written behind, yet serialised at once: changing the record afterwards changes nothing."""
    step = records[0].steps[0].model_copy(deep=True)
    original = step.model_dump()

    async def main() -> None:
        astore = AsyncTrajectoryStore(TrajectoryStore(tmp_path / "s.db"), step_delay_s=3600)
        await astore.start_run(run_record())
        tid = await astore.start_trajectory(RUN_ID, SQUARE, 0)
        await astore.add_step(tid, step)
        step.reply = "changed after add_step"
        step.messages.clear()
        await astore.close()

    asyncio.run(main())
    with TrajectoryStore(tmp_path / "s.db") as store:
        (t,) = store.trajectories(include_unfinished=True)
        assert t.steps[0].model_dump() == original
