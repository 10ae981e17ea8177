"""Store contract: run and event ids never repeat, even after a purge took the newest rows
(an event cursor or a run id held by a client would otherwise name something else)."""

from __future__ import annotations

from datetime import datetime

from store_helpers import MINUTE, T0, enqueue_one, finish, make_run, make_spec, start_one

from agentcron.models import NewEvent, RunStatus
from agentcron.scheduler import RunPlanner
from agentcron.store import RunFilter, Store
from agentcron.tasks import TaskRegistry


async def publish_one(store: Store, now: datetime = T0) -> int:
    (event,), _ = await store.publish([NewEvent("e.one", {})], now, RunPlanner(TaskRegistry(), now))
    return event.id


async def test_event_ids_go_on_after_every_event_was_purged(store: Store) -> None:
    for _ in range(3):
        last = await publish_one(store)
    assert await store.purge_events(T0 + MINUTE) == 3
    assert await store.last_event_id() == 0
    again = await publish_one(store, T0 + MINUTE)
    assert again > last
    (event,) = await store.read_events(last)
    assert event.id == again


async def test_event_ids_go_on_after_a_purge_below_older_events(store: Store) -> None:
    await publish_one(store)
    newest = await publish_one(store, T0 + MINUTE)
    assert await store.purge_events(T0 + 2 * MINUTE) == 2
    ids = [await publish_one(store, T0 + 2 * MINUTE) for _ in range(3)]
    assert ids[0] > newest
    assert ids == list(range(ids[0], ids[0] + 3))  # consecutive after the floor too
    assert [e.id for e in await store.read_events(0)] == ids


async def test_run_ids_go_on_after_the_newest_run_was_purged(store: Store) -> None:
    queued = await enqueue_one(store, task="kept")
    done = await finish(store, await start_one(store, task="gone"), RunStatus.SUCCEEDED)
    assert done.id > queued.id
    assert await store.purge_runs(T0 + MINUTE) == 1
    (run,) = await store.enqueue([make_run(task="new")], T0 + MINUTE)
    assert run.id > done.id
    assert (await store.get_run(run.id)).task == "new"


async def test_a_taken_dedup_key_after_a_purge_adds_nothing(store: Store) -> None:
    first = await enqueue_one(store, task="a", dedup_key="k")
    done = await finish(store, await start_one(store, task="gone"), RunStatus.SUCCEEDED)
    assert await store.purge_runs(T0 + MINUTE) == 1
    (same,) = await store.enqueue([make_run(task="a", dedup_key="k")], T0 + MINUTE)
    assert same.id == first.id
    (run,) = await store.enqueue([make_run(task="b")], T0 + MINUTE)
    assert run.id > done.id
    page, _ = await store.list_runs(limit=10)
    assert sorted(r.id for r in page) == [first.id, run.id]


async def test_a_batch_gets_its_ids_and_events_in_order_and_fires_per_run(store: Store) -> None:
    """A batch (one statement on some stores) answers each run with its own id, writes one
    ``run.queued`` event per run with that id, and fires a matching event schedule per run;
    also when a purge took the newest ids first."""
    gone = await finish(store, await start_one(store, task="gone"), RunStatus.SUCCEEDED)
    assert await store.purge_runs(T0 + MINUTE) == 1
    start = await store.last_event_id()
    runs = await store.enqueue([make_run(task=f"t{i}") for i in range(5)], T0 + MINUTE)
    assert runs[0].id > gone.id
    for run in runs:
        assert (await store.get_run(run.id)).task == run.task
    events = await store.read_events(start, pattern="run.queued")
    assert [e.data["run_id"] for e in events] == [r.id for r in runs]
    watch = await store.add_schedule(
        make_spec("watch", task="watch", trigger={"event": "run.queued"}), None
    )
    batch = await store.enqueue([make_run(task="a"), make_run(task="b")], T0 + MINUTE)
    fired, _ = await store.list_runs(RunFilter(schedule_id=watch.id), limit=10)
    assert sorted(r.trigger_info["event"]["data"]["run_id"] for r in fired if r.trigger_info) == [
        r.id for r in batch
    ]
