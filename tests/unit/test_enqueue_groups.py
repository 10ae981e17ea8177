"""Group commit of single enqueues (PostgreSQL store): who goes alone, who goes together, and
whose error is whose. The store's real round trip is replaced by a sender that records what
it was given and waits until the test lets it answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from agentcron.errors import StoreError, StoreUnavailable
from agentcron.models import NewRun, Run, RunStatus
from agentcron.store._pg_runs import EnqueueGroups

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


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_enqueue_goes_at_once_and_the_others_go_together() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    first = asyncio.create_task(groups.enqueue(NewRun("t", {"i": 0}), T0))
    await _settle()
    rest = [asyncio.create_task(groups.enqueue(NewRun("t", {"i": i}), T0)) for i in (1, 2, 3)]
    await _settle()
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
    first = asyncio.create_task(groups.enqueue(NewRun("t", {"i": 0}), T0))
    await _settle()
    kept = asyncio.create_task(groups.enqueue(NewRun("t", {"i": 1}), T0))
    gone = asyncio.create_task(groups.enqueue(NewRun("t", {"i": 2}), T0))
    await _settle()
    gone.cancel()
    send.release.set()
    assert [r.id for r in await asyncio.gather(first, kept)] == [0, 1]
    assert send.calls == [[0], [1]]
    await groups.drain()


async def test_a_refused_group_is_resent_run_by_run_and_fails_only_its_bad_run() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    first = asyncio.create_task(groups.enqueue(NewRun("t", {"i": 0}), T0))
    await _settle()
    args = [{"i": 1}, {"i": 2, "bad": True}, {"i": 3}]
    rest = [asyncio.create_task(groups.enqueue(NewRun("t", a), T0)) for a in args]
    await _settle()
    send.release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert [r.id if isinstance(r, Run) else type(r) for r in results] == [0, 1, StoreError, 3]
    assert send.calls == [[0], [1, 2, 3], [1], [2], [3]]
    await groups.drain()


async def test_an_unreachable_server_fails_the_whole_group_without_resending() -> None:
    send = Sender()
    groups = EnqueueGroups(send)
    first = asyncio.create_task(groups.enqueue(NewRun("t", {"i": 0}), T0))
    await _settle()
    rest = [asyncio.create_task(groups.enqueue(NewRun("t", {"i": i}), T0)) for i in (1, 2)]
    await _settle()
    send.down = True
    send.release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert send.calls == [[0], [1, 2]]  # not resent: it might have been written
    with pytest.raises(StoreUnavailable):
        await groups.enqueue(NewRun("t", {"i": 9}), T0)
    await groups.drain()
