"""Group commit of single enqueues (PostgreSQL store): who goes together (the enqueues of one
turn of the event loop; those made while a group is on its way), and whose error is whose.
The store's real round trip is replaced by a sender that records what it was given and waits
until the test lets it answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from agentcron.errors import StoreError, StoreUnavailable
from agentcron.models import NewRun, Run, RunStatus
from agentcron.store.postgres.groups import EnqueueGroups

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _run(new: NewRun, run_id: int) -> Run:
    return Run(id=run_id, namespace=new.namespace, task=new.task, queue=new.queue,
               priority=new.priority, schedule_id=None, subject=None,
               status=RunStatus.QUEUED, args=new.args, attempts=0, max_attempts=1,
               timeout=None, scheduled_for=None, queued_at=T0, available_at=T0,
               started_at=None, finished_at=None, result=None, error=None, worker=None,
               lease_expires_at=None, dedup_key=None, trigger_info=None)  # fmt: skip


class Sender:
    """Answers each call when released; a run whose args say ``{"bad": true}`` makes its
    call fail, unless ``down`` (then every call fails as unreachable)."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.release = asyncio.Event()
        self.down = False

    async def __call__(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        self.calls.append([r.args["i"] for r in runs])
        await self.release.wait()
        if self.down:
            raise StoreUnavailable("server gone")
        if any(r.args.get("bad") for r in runs):
            raise StoreError("refused")
        return [_run(r, r.args["i"]) for r in runs]


async def _until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` holds (a bounded number of turns)."""
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def _behind_one(
    send: Sender, groups: EnqueueGroups, rest: list[dict[str, Any]]
) -> tuple[asyncio.Task[Run], list[asyncio.Task[Run]]]:
    """Run 0 on its way (the sender holds it), then ``rest`` enqueued while it is."""
    first = asyncio.create_task(groups.enqueue(NewRun("t", {"i": 0}), T0))
    await _until(lambda: send.calls == [[0]])
    tasks = [asyncio.create_task(groups.enqueue(NewRun("t", a), T0)) for a in rest]
    await _until(lambda: len(groups._waiting) == len(rest))
    return first, tasks


async def test_the_enqueues_of_one_loop_turn_go_together() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    tasks = [asyncio.create_task(groups.enqueue(NewRun("t", {"i": i}), T0)) for i in range(5)]
    await _until(lambda: bool(send.calls))
    assert send.calls == [[0, 1, 2, 3, 4]]  # one group, in the order they were made
    send.release.set()
    assert [r.id for r in await asyncio.gather(*tasks)] == [0, 1, 2, 3, 4]
    assert send.calls == [[0, 1, 2, 3, 4]]
    await groups.drain()


async def test_a_lone_enqueue_goes_alone_and_the_later_ones_go_together() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    first, rest = await _behind_one(send, groups, [{"i": 1}, {"i": 2}, {"i": 3}])
    assert send.calls == [[0]]  # the others wait for the first to come back
    send.release.set()
    assert [r.id for r in await asyncio.gather(first, *rest)] == [0, 1, 2, 3]
    assert send.calls == [[0], [1, 2, 3]]
    assert (await groups.enqueue(NewRun("t", {"i": 4}), T0)).id == 4  # alone again
    assert send.calls[-1] == [4]
    await groups.drain()


async def test_a_caller_cancelled_before_its_group_leaves_is_not_sent() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    first, (kept, gone) = await _behind_one(send, groups, [{"i": 1}, {"i": 2}])
    gone.cancel()
    send.release.set()
    assert [r.id for r in await asyncio.gather(first, kept)] == [0, 1]
    assert send.calls == [[0], [1]]
    await groups.drain()


async def test_a_refused_group_is_resent_run_by_run_and_fails_only_its_bad_run() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    first, rest = await _behind_one(send, groups, [{"i": 1}, {"i": 2, "bad": True}, {"i": 3}])
    send.release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert [r.id if isinstance(r, Run) else type(r) for r in results] == [0, 1, StoreError, 3]
    assert send.calls == [[0], [1, 2, 3], [1], [2], [3]]
    await groups.drain()


async def test_an_unreachable_server_fails_the_whole_group_without_resending() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    first, rest = await _behind_one(send, groups, [{"i": 1}, {"i": 2}])
    send.down = True
    send.release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert send.calls == [[0], [1, 2]]  # not resent: it might have been written
    with pytest.raises(StoreUnavailable):
        await groups.enqueue(NewRun("t", {"i": 9}), T0)
    await groups.drain()
