"""Store contract: workers, tasks, stats, vacuum, wake-ups, migrations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from store_helpers import (
    MINUTE,
    T0,
    all_runs,
    enqueue_one,
    finish,
    make_spec,
    start_one,
)

from agentcron.models import NewEvent, Run, RunStatus, WorkerInfo
from agentcron.scheduler import RunPlanner
from agentcron.store import Store, migrate
from agentcron.tasks import TaskRegistry

WAKE_DEADLINE_S = 10.0


def worker(worker_id: str, **fields: object) -> WorkerInfo:
    values: dict[str, object] = {
        "id": worker_id, "host": "box", "pid": 123, "queues": ["default", "llm"],
        "concurrency": 8, "started_at": T0, "last_heartbeat_at": T0,
    }  # fmt: skip
    values.update(fields)
    return WorkerInfo(**values)  # type: ignore[arg-type]


# -- workers ---------------------------------------------------------------------------------


async def test_register_list_heartbeat_remove_workers(store: Store) -> None:
    assert await store.list_workers() == []
    first = worker("w1")
    second = worker("w2", started_at=T0 + MINUTE, last_heartbeat_at=T0 + MINUTE, queues=[])
    await store.register_worker(second)
    await store.register_worker(first)
    assert await store.list_workers() == [first, second]  # oldest first
    await store.heartbeat_worker("w1", T0 + 2 * MINUTE, running=5)
    beat = (await store.list_workers())[0]
    assert (beat.id, beat.last_heartbeat_at, beat.running) == ("w1", T0 + 2 * MINUTE, 5)
    assert beat.started_at == T0
    await store.remove_worker("w1")
    assert await store.list_workers() == [second]
    await store.remove_worker("w1")  # gone already: nothing to do
    await store.heartbeat_worker("unknown", T0, running=1)  # no error, no row
    assert await store.list_workers() == [second]


async def test_register_worker_again_replaces_it(
    store: Store, request: pytest.FixtureRequest
) -> None:
    await store.register_worker(worker("w1", concurrency=2))
    again = worker("w1", concurrency=16, pid=999, last_heartbeat_at=T0 + MINUTE)
    await store.register_worker(again)
    assert await store.list_workers() == [again]


# -- tasks -----------------------------------------------------------------------------------


async def test_register_and_know_tasks(store: Store) -> None:
    assert await store.known_tasks() == {}
    await store.register_tasks(
        {"digest": {"queue": "default", "retries": 2}, "nudge": {"description": "ping"}}, T0
    )
    await store.register_tasks({"digest": {"queue": "llm"}, "cleanup": {}}, T0 + MINUTE)
    assert await store.known_tasks() == {
        "digest": {"queue": "llm"},
        "nudge": {"description": "ping"},
        "cleanup": {},
    }
    await store.register_tasks({}, T0)
    assert len(await store.known_tasks()) == 3


# -- stats -----------------------------------------------------------------------------------


async def test_stats_counts(store: Store) -> None:
    empty = await store.stats()
    assert sum(empty.runs_by_status.values()) == 0
    assert (empty.schedules, empty.schedules_enabled, empty.schedules_parked) == (0, 0, 0)
    assert (empty.oldest_queued_at, empty.workers) == (None, 0)

    await store.add_schedule(make_spec("a", task="known"), T0)
    await store.add_schedule(make_spec("b", task="gone"), T0)
    await store.add_schedule(make_spec("c", task="known", enabled=False), None)
    await store.add_schedule(make_spec("d", task="known", namespace="other"), T0)
    await store.park_schedules(["known"])
    await enqueue_one(store, T0 + MINUTE, task="q1")
    await enqueue_one(store, T0 + 2 * MINUTE, task="q2")
    await enqueue_one(store, T0 - MINUTE, task="q3", namespace="other")
    await start_one(store, task="r")
    await finish(store, await start_one(store, task="s"), RunStatus.SUCCEEDED)
    await finish(store, await start_one(store, task="d"), RunStatus.DEAD)
    await store.register_worker(worker("w1"))

    stats = await store.stats()
    counts = {status: n for status, n in stats.runs_by_status.items() if n}
    assert counts == {"queued": 3, "running": 1, "succeeded": 1, "dead": 1}
    assert (stats.schedules, stats.schedules_enabled, stats.schedules_parked) == (4, 3, 1)
    assert stats.oldest_queued_at == T0 - MINUTE
    assert stats.workers == 1

    scoped = await store.stats(namespace="other")
    assert {s: n for s, n in scoped.runs_by_status.items() if n} == {"queued": 1}
    assert (scoped.schedules, scoped.schedules_enabled, scoped.schedules_parked) == (1, 1, 0)
    assert scoped.oldest_queued_at == T0 - MINUTE
    default = await store.stats(namespace="default")
    assert default.oldest_queued_at == T0 + MINUTE


# -- maintenance -----------------------------------------------------------------------------


async def test_vacuum_keeps_the_data(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("kept"), T0)
    runs = []
    for i in range(20):
        runs.append(await enqueue_one(store, args={"i": i}))
    await store.purge_runs(T0)  # nothing finished: nothing purged
    await store.vacuum()
    assert await store.get_schedule(schedule.id) == schedule
    assert [r.id for r in await all_runs(store)] == sorted((r.id for r in runs), reverse=True)
    await store.vacuum()  # twice is fine


async def test_migrate_is_idempotent(store: Store, store_kind: str) -> None:
    version = await store.schema_version()
    assert version == migrate.latest_version(store_kind)
    assert version >= 1
    assert await store.migrate() == []
    assert await store.migrate() == []
    assert await store.schema_version() == version


# -- wake-ups --------------------------------------------------------------------------------


async def woken(
    store: Store, channel: str, action: Callable[[], Awaitable[object]]
) -> tuple[bool, float]:
    """Start waiting on ``channel``, run ``action``, and say whether the waiter woke. The
    channel is quiet first (a store may wake a first waiter once, when it starts listening)."""
    assert await quiet(store, channel)
    started = time.monotonic()
    waiter = asyncio.create_task(store.wait(channel, WAKE_DEADLINE_S))
    await asyncio.sleep(0)  # the waiter is now waiting
    await action()
    result = await waiter
    return result, time.monotonic() - started


async def quiet(store: Store, channel: str) -> bool:
    """Whether a short wait on ``channel`` times out (False), within the deadline.

    A store may wake waiters once when it (re)connects, since a notification could have been
    missed meanwhile (waiters re-read the tables anyway); after that a quiet channel is quiet.
    """
    deadline = time.monotonic() + WAKE_DEADLINE_S
    while time.monotonic() < deadline:
        if not await store.wait(channel, 0.05):
            return True
    return False


async def test_wait_times_out_without_notification(store: Store) -> None:
    assert await quiet(store, "runs")
    started = time.monotonic()
    assert await store.wait("runs", 0.1) is False
    assert 0.05 <= time.monotonic() - started < WAKE_DEADLINE_S


async def test_notify_wakes_a_waiter(store: Store) -> None:
    async def notify() -> None:
        store.notify("runs")

    result, elapsed = await woken(store, "runs", notify)
    assert result is True
    assert elapsed < WAKE_DEADLINE_S


async def test_notify_wakes_every_waiter(store: Store) -> None:
    waiters = [asyncio.create_task(store.wait("schedules", WAKE_DEADLINE_S)) for _ in range(3)]
    await asyncio.sleep(0)
    store.notify("schedules")
    assert await asyncio.gather(*waiters) == [True, True, True]


async def test_enqueue_wakes_run_waiters(store: Store) -> None:
    result, _ = await woken(store, "runs", lambda: enqueue_one(store))
    assert result is True


async def test_add_schedule_wakes_schedule_waiters(store: Store) -> None:
    result, _ = await woken(store, "schedules", lambda: store.add_schedule(make_spec(), T0))
    assert result is True


async def test_notify_in_one_store_wakes_another(store: Store, other_store: Store) -> None:
    """Two stores on one database (two processes): an enqueue in one wakes the other."""
    assert await quiet(other_store, "runs")
    result, elapsed = await woken(
        other_store, "runs", lambda: enqueue_one(store, available_at=T0 + timedelta(seconds=1))
    )
    assert result is True
    assert elapsed < WAKE_DEADLINE_S


async def test_events_written_in_one_store_wake_event_readers_of_another(
    store: Store, other_store: Store
) -> None:
    """Published events, and the lifecycle events of an enqueue, a claim and a result (a
    worker's writes), wake event readers in another process."""
    planner = RunPlanner(TaskRegistry(), T0)
    assert await quiet(other_store, "events")
    run: Run | None = None

    async def started() -> None:
        nonlocal run
        run = await start_one(store, task="lifecycle")

    async def finished() -> None:
        assert run is not None
        await finish(store, run, RunStatus.SUCCEEDED)

    actions = [
        lambda: store.publish([NewEvent("user.signup")], T0, planner),
        lambda: enqueue_one(store, task="queued-only"),
        started,
        finished,
    ]
    for action in actions:
        result, elapsed = await woken(other_store, "events", action)
        assert result is True
        assert elapsed < WAKE_DEADLINE_S


async def test_after_a_burst_of_event_writes_another_store_is_woken_to_the_last(
    store: Store, other_store: Store
) -> None:
    """Wake-ups may be coalesced, but a reader woken by them always gets to the last event of
    a burst: it waits only on the channel (no reading on a timer) and finds every event."""
    planner = RunPlanner(TaskRegistry(), T0)
    assert await quiet(other_store, "events")
    last_seen = await other_store.last_event_id()

    async def reader() -> list[int]:
        seen: list[int] = []
        while len(seen) < 40:
            if not await other_store.wait("events", WAKE_DEADLINE_S):
                return seen  # no wake-up came for the rest
            fresh = await other_store.read_events(seen[-1] if seen else last_seen)
            seen += [e.id for e in fresh]
        return seen

    reading = asyncio.create_task(reader())
    await asyncio.sleep(0)
    written = []
    for i in range(40):
        events, _ = await store.publish([NewEvent("burst", {"i": i})], T0, planner)
        written += [e.id for e in events]
        if i % 10 == 9:
            await asyncio.sleep(0.005)  # a few pauses inside the coalescing interval
    assert await reading == written
