"""Store contract: events (publish, read, purge), event schedules (per event and debounced),
run lifecycle events and the schedules they fire."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from store_helpers import (
    LEASE,
    MINUTE,
    SECOND,
    T0,
    claim,
    enqueue_one,
    finish,
    make_spec,
    start_one,
)

from agentcron.errors import ValidationError
from agentcron.events import subscribe
from agentcron.models import Event, NewEvent, Run, RunOutcome, RunStatus, Schedule
from agentcron.scheduler import RunPlanner
from agentcron.store import RunFilter, Store
from agentcron.tasks import TaskRegistry


def planner(now: datetime = T0) -> RunPlanner:
    return RunPlanner(TaskRegistry(), now)


async def publish(
    store: Store, type_: str, data: dict[str, Any] | None = None, now: datetime = T0, **kw: Any
) -> tuple[list[Event], list[Run]]:
    return await store.publish([NewEvent(type_, data or {}, **kw)], now, planner(now))


async def event_schedule(store: Store, name: str, trigger: dict[str, Any], **kw: Any) -> Schedule:
    return await store.add_schedule(
        make_spec(name, task=kw.pop("task", name), trigger=trigger, **kw), None
    )


def ids_of(runs: list[Run]) -> list[int]:
    return [r.id for r in runs]


async def runs_of(store: Store, schedule: Schedule) -> list[Run]:
    runs, _ = await store.list_runs(RunFilter(schedule_id=schedule.id), limit=1000)
    return sorted(runs, key=lambda r: r.id)


async def types_after(store: Store, after: int, pattern: str = "run.*") -> list[str]:
    return [e.type for e in await store.read_events(after, pattern=pattern)]


# -- publish, read, purge ------------------------------------------------------------------------
async def test_publish_stores_events_in_order(store: Store) -> None:
    events, runs = await store.publish(
        [NewEvent("user.signup", {"plan": "pro"}, subject="user:1"), NewEvent("order.paid")],
        T0,
        planner(),
    )
    assert runs == []
    first, second = events
    assert (first.type, first.subject, first.data, first.namespace) == (
        "user.signup", "user:1", {"plan": "pro"}, "default",
    )  # fmt: skip
    assert first.created_at == T0
    assert second.id > first.id
    assert second.data == {}
    assert await store.read_events(first.id - 1) == events
    assert await store.read_events(first.id) == [second]
    assert await store.last_event_id() == second.id


async def test_read_events_filters(store: Store) -> None:
    (a,), _ = await publish(store, "user.signup")
    (b,), _ = await publish(store, "user.login", namespace="acme")
    (c,), _ = await publish(store, "order.paid")
    (d,), _ = await publish(store, "user_x.signup")
    assert await store.read_events(0, pattern="user.*") == [a, b]
    assert await store.read_events(0, pattern="user.signup") == [a]
    assert await store.read_events(0, pattern="user?x.*") == [d]  # "_" is a literal, not a wildcard
    assert await store.read_events(0, pattern="*") == [a, b, c, d]
    assert await store.read_events(0, namespace="acme") == [b]
    assert await store.read_events(0, limit=2) == [a, b]
    assert await store.read_events(a.id, until=c.id) == [b, c]
    assert await store.event_ids(a.id) == [b.id, c.id, d.id]
    assert await store.event_ids(a.id, limit=1) == [b.id]
    assert await store.read_events(d.id) == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (NewEvent("User.Signup"), "type"),
        (NewEvent("user..signup"), "type"),
        (NewEvent("user.*"), "type"),
        (NewEvent(""), "type"),
        (NewEvent("user.signup", subject="x" * 257), "subject"),
        (NewEvent("user.signup", subject=""), "subject"),
        (NewEvent("user.signup", [1, 2]), "data"),  # type: ignore[arg-type]
        (NewEvent("user.signup", {"x": {1, 2}}), "data"),
        (NewEvent("user.signup", {"x": float("nan")}), "data"),
        (NewEvent("user.signup", {"x": "y" * 70_000}), "data"),
        (NewEvent("user.signup", namespace=""), "namespace"),
        (NewEvent("user.signup", namespace="a b"), "namespace"),
        (NewEvent("user.signup", {"x": ["nul\x00"]}), "data"),
    ],
)
async def test_publish_rejects_bad_events_and_stores_nothing(
    store: Store, event: NewEvent, field: str
) -> None:
    before = await store.last_event_id()
    with pytest.raises(ValidationError) as info:
        await store.publish([NewEvent("fine.event"), event], T0, planner())
    assert info.value.field == field
    assert await store.last_event_id() == before


async def test_read_events_rejects_bad_cursor_and_pattern(store: Store) -> None:
    with pytest.raises(ValidationError) as info:
        await store.read_events(-1)
    assert info.value.field == "after"
    with pytest.raises(ValidationError) as info:
        await store.read_events(0, pattern="DROP TABLE")
    assert info.value.field == "pattern"


async def test_purge_events_deletes_older_ones(store: Store) -> None:
    await publish(store, "old.one", now=T0)
    await publish(store, "old.two", now=T0 + SECOND)
    (new,), _ = await publish(store, "new.one", now=T0 + MINUTE)
    assert await store.purge_events(T0 + 2 * SECOND) == 2
    assert await store.read_events(0) == [new]
    assert await store.purge_events(T0 + 2 * SECOND) == 0


@pytest.mark.parametrize("cut", [0, 1, 37, 64, 99, 100])
async def test_purge_events_cuts_exactly_at_the_time(store: Store, cut: int) -> None:
    """Every cut of a longer history (holes left by an earlier purge included): the events
    created before it go, the others stay."""
    for i in range(100):
        await publish(store, f"e.{i}", now=T0 + i * SECOND)
    assert await store.purge_events(T0) == 0
    assert await store.purge_events(T0 + cut * SECOND) == cut
    assert [e.type for e in await store.read_events(0, limit=200)] == [
        f"e.{i}" for i in range(cut, 100)
    ]
    assert await store.purge_events(T0 + (cut + 0.5) * SECOND) == (1 if cut < 100 else 0)
    assert await store.purge_events(T0 + 1000 * SECOND) == max(0, 99 - cut)
    assert await store.read_events(0) == []


# -- event schedules -----------------------------------------------------------------------------
async def test_event_fires_one_run_per_matching_schedule(store: Store) -> None:
    signup = await event_schedule(store, "welcome", {"event": "user.signup"})
    anything = await event_schedule(store, "audit", {"event": "user.*"})
    await event_schedule(store, "orders", {"event": "order.*"})
    await event_schedule(store, "other-ns", {"event": "user.signup"}, namespace="acme")
    (event,), runs = await publish(store, "user.signup", {"plan": "pro"}, subject="user:1")
    assert sorted(r.schedule_id for r in runs) == sorted([signup.id, anything.id])
    run = next(r for r in runs if r.schedule_id == signup.id)
    assert run.status is RunStatus.QUEUED
    assert run.task == "welcome"
    assert run.subject == "user:1"
    assert run.scheduled_for == T0
    assert run.trigger_info == {
        "schedule": "welcome",
        "kind": "event",
        "event": event.to_dict(),
    }
    assert run.dedup_key is not None
    assert f"e{event.id}" in run.dedup_key
    assert await store.get_run(run.id) == run
    queued = await store.read_events(event.id, pattern="run.queued")
    assert sorted(e.data["run_id"] for e in queued) == sorted(r.id for r in runs)
    assert queued[0].subject == "user:1"


async def test_event_schedule_subject_filter_and_state(store: Store) -> None:
    users = await event_schedule(store, "users", {"event": "note.*", "subjects": "user:*"})
    paused = await event_schedule(store, "paused", {"event": "note.*"}, enabled=False)
    _, runs = await publish(store, "note.added", subject="team:1")
    assert runs == []
    _, runs = await publish(store, "note.added")  # no subject: a subject filter never matches
    assert runs == []
    _, runs = await publish(store, "note.added", subject="user:7")
    assert [r.schedule_id for r in runs] == [users.id]
    await store.park_schedules([])  # no task registered: every schedule parked
    _, runs = await publish(store, "note.added", subject="user:7")
    assert runs == []
    assert await runs_of(store, paused) == []


async def test_each_event_fires_once(store: Store) -> None:
    schedule = await event_schedule(store, "welcome", {"event": "user.signup"})
    events, runs = await store.publish(
        [NewEvent("user.signup", subject="user:1"), NewEvent("user.signup", subject="user:1")],
        T0,
        planner(),
    )
    assert len(runs) == 2
    assert [r.trigger_info["event"]["id"] for r in runs if r.trigger_info] == [e.id for e in events]
    assert len(await runs_of(store, schedule)) == 2


# -- debounce ------------------------------------------------------------------------------------
async def test_debounce_gathers_events_per_subject(store: Store) -> None:
    schedule = await event_schedule(store, "digest", {"event": "chat.message", "debounce": "30s"})
    gathered = []
    for i in range(3):
        (event,), runs = await publish(
            store, "chat.message", {"i": i}, T0 + i * SECOND, subject="u:1"
        )
        assert runs == []
        gathered.append(event)
    (other,), _ = await publish(store, "chat.message", {"i": 9}, T0 + 5 * SECOND, subject="u:2")
    # next_run_at only moves earlier on publish: the scheduler wakes when the first group was
    # due, finds it moved, and sleeps until the earliest group left.
    assert (await store.get_schedule(schedule.id)).next_run_at == T0 + 30 * SECOND
    assert await store.fire_due(T0 + 31 * SECOND, planner()) == []
    assert await store.next_due_at() == T0 + 32 * SECOND
    (run,) = await store.fire_due(T0 + 33 * SECOND, planner(T0 + 33 * SECOND))
    assert run.subject == "u:1"
    assert run.scheduled_for == T0 + 32 * SECOND
    info = run.trigger_info or {}
    assert info["kind"] == "event"
    assert [e["id"] for e in info["events"]] == [e.id for e in gathered]
    assert info["event"] == gathered[-1].to_dict()
    assert info["count"] == 3
    assert (await store.get_schedule(schedule.id)).next_run_at == T0 + 35 * SECOND
    (run2,) = await store.fire_due(T0 + 40 * SECOND, planner(T0 + 40 * SECOND))
    assert [e["id"] for e in (run2.trigger_info or {})["events"]] == [other.id]
    after = await store.get_schedule(schedule.id)
    assert after.next_run_at is None
    assert after.last_run_at == T0 + 35 * SECOND
    assert await store.fire_due(T0 + MINUTE, planner()) == []


async def test_debounce_max_wait_caps_the_delay(store: Store) -> None:
    await event_schedule(
        store, "digest", {"event": "chat.message", "debounce": "10s", "max_wait": "25s"}
    )
    for i in range(4):  # one every 8s: the debounce alone would never end
        at = T0 + i * 8 * SECOND
        assert await store.fire_due(at, planner(at)) == []  # the scheduler wakes: not yet due
        await publish(store, "chat.message", {"i": i}, at, subject="u:1")
    assert await store.fire_due(T0 + 24 * SECOND, planner()) == []
    assert await store.next_due_at() == T0 + 25 * SECOND
    (run,) = await store.fire_due(T0 + 25 * SECOND, planner())
    assert run.scheduled_for == T0 + 25 * SECOND
    assert [e["data"]["i"] for e in (run.trigger_info or {})["events"]] == [0, 1, 2, 3]


async def test_debounce_due_survives_pause_and_resume(store: Store) -> None:
    schedule = await event_schedule(store, "digest", {"event": "chat.*", "debounce": "10s"})
    await publish(store, "chat.message", subject="u:1")
    await store.set_schedule_enabled(schedule.id, False, None)
    assert await store.fire_due(T0 + MINUTE, planner()) == []
    resumed = await store.set_schedule_enabled(schedule.id, True, None)
    assert resumed.next_run_at == T0 + 10 * SECOND
    (run,) = await store.fire_due(T0 + MINUTE, planner())
    assert run.subject == "u:1"
    await publish(store, "chat.message", now=T0 + MINUTE, subject="u:2")
    timed = make_spec("digest", task="digest", trigger={"every": "1h"})
    changed = await store.update_schedule(schedule.id, timed, T0 + 60 * MINUTE)
    assert changed.next_run_at == T0 + 60 * MINUTE  # no longer an event schedule: groups gone
    assert await store.fire_due(T0 + 2 * MINUTE, planner()) == []
    await store.delete_schedule(schedule.id)


# -- run lifecycle events ------------------------------------------------------------------------
async def test_lifecycle_events_of_a_run(store: Store) -> None:
    start = await store.last_event_id()
    run = await start_one(store, subject="user:5", namespace="acme")
    await finish(store, run, RunStatus.SUCCEEDED, result={"ok": True})
    events = await store.read_events(start)
    assert [e.type for e in events] == ["run.queued", "run.started", "run.succeeded"]
    assert all(e.namespace == "acme" and e.subject == "user:5" for e in events)
    assert events[-1].data == {
        "run_id": run.id, "task": "work", "status": "succeeded", "schedule_id": None,
        "attempts": 1, "error": None,
    }  # fmt: skip


async def test_started_events_of_first_and_retried_attempts(store: Store) -> None:
    """``run.started`` as a claim writes it (PostgreSQL: in the claiming statement itself):
    the attempt number, and the previous attempt's error without its traceback."""
    err = {"type": "Boom", "message": "no", "traceback": "long"}
    first = await start_one(store, task="work", subject="u:1", namespace="acme")
    await store.finish_runs(
        "w1", [RunOutcome(first.id, RunStatus.QUEUED, error=err, available_at=T0)], T0
    )
    start = await store.last_event_id()
    (again,) = await claim(store, "w2", limit=5)
    assert again.id == first.id
    (event,) = await store.read_events(start)
    assert (event.type, event.namespace, event.subject) == ("run.started", "acme", "u:1")
    assert event.data == {
        "run_id": first.id, "task": "work", "status": "running", "schedule_id": None,
        "attempts": 2, "error": {"type": "Boom", "message": "no"},
    }  # fmt: skip
    fresh = await enqueue_one(store, task="work")
    start = await store.last_event_id()
    await claim(store, "w2", limit=5)
    (event,) = await store.read_events(start)
    assert event.data["run_id"] == fresh.id
    assert (event.data["attempts"], event.data["error"]) == (1, None)


async def test_claims_fire_run_started_schedules(store: Store) -> None:
    """An event schedule on ``run.started`` fires when a run is claimed (one run per claimed
    run), not for the runs it fires itself once they start."""
    audit = await event_schedule(store, "audit", {"event": "run.started"})
    work = [await enqueue_one(store, task="work") for _ in range(3)]
    claimed = await claim(store, limit=3, tasks=["work"])
    assert sorted(ids_of(claimed)) == sorted(ids_of(work))
    fired = await runs_of(store, audit)
    assert len(fired) == 3
    assert all(r.status is RunStatus.QUEUED for r in fired)
    await claim(store, limit=10, tasks=["audit"])
    assert len(await runs_of(store, audit)) == 3


async def test_lifecycle_events_of_failures(store: Store) -> None:
    err = {"type": "Boom", "message": "no", "traceback": "long"}
    retried = await start_one(store)
    permanent = await start_one(store)
    dead = await start_one(store)
    shutdown = await start_one(store)
    start = await store.last_event_id()
    retry_at = T0 + MINUTE
    written = await store.finish_runs(
        "w1",
        [
            RunOutcome(retried.id, RunStatus.QUEUED, error=err, available_at=retry_at),
            RunOutcome(permanent.id, RunStatus.FAILED, error=err),
            RunOutcome(dead.id, RunStatus.DEAD, error=err),
            RunOutcome(shutdown.id, RunStatus.QUEUED, error={"type": "WorkerShutdown",
                       "message": "bye"}, available_at=T0),
            RunOutcome(987_654_321, RunStatus.SUCCEEDED),  # not held: no event
        ],
        T0,
    )  # fmt: skip
    assert written == 4
    by_run = {e.data["run_id"]: e for e in await store.read_events(start)}
    assert set(by_run) == {retried.id, permanent.id, dead.id, shutdown.id}
    assert by_run[retried.id].type == "run.failed"
    assert by_run[retried.id].data["final"] is False
    assert by_run[retried.id].data["retry_at"] == "2026-01-01T00:01:00.000Z"
    assert by_run[retried.id].data["error"] == {"type": "Boom", "message": "no"}
    assert by_run[retried.id].data["status"] == "queued"
    assert by_run[permanent.id].type == "run.failed"
    assert by_run[permanent.id].data["final"] is True
    assert by_run[dead.id].type == "run.dead"
    assert by_run[shutdown.id].type == "run.queued"


async def test_lifecycle_events_of_cancel_retry_reap_and_skip(store: Store) -> None:
    queued = await enqueue_one(store)
    start = await store.last_event_id()
    await store.cancel_run(queued.id, T0)
    await store.retry_run(queued.id, T0)
    assert await types_after(store, start) == ["run.cancelled", "run.queued"]
    running = await start_one(store, task="other", max_attempts=1)
    start = await store.last_event_id()
    await store.cancel_run(running.id, T0)  # only requested: no state change, no event
    assert await types_after(store, start) == []
    (reaped,) = await store.reap_expired(T0 + LEASE + SECOND)
    (event,) = await store.read_events(start)
    assert (event.type, event.data["run_id"]) == ("run.cancelled", reaped.id)
    skipped = await enqueue_one(store, status=RunStatus.SKIPPED)
    (event,) = await store.read_events(event.id)
    assert (event.type, event.data["run_id"]) == ("run.skipped", skipped.id)


async def test_no_event_for_a_deduplicated_enqueue(store: Store) -> None:
    await enqueue_one(store, dedup_key="once")
    start = await store.last_event_id()
    await enqueue_one(store, dedup_key="once")
    assert await store.read_events(start) == []


async def test_fire_due_writes_lifecycle_events(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("every-minute"), T0)
    start = await store.last_event_id()
    (run,) = await store.fire_due(T0, planner())
    (event,) = await store.read_events(start)
    assert (event.type, event.data["run_id"], event.data["schedule_id"]) == (
        "run.queued", run.id, schedule.id,
    )  # fmt: skip


# -- lifecycle events fire event schedules ---------------------------------------------------------
async def test_run_succeeded_fires_a_chained_schedule(store: Store) -> None:
    await store.register_tasks({"report": {"queue": "slow", "priority": 3, "retries": 2}}, T0)
    chained = await event_schedule(store, "then-report", {"event": "run.succeeded"}, task="report")
    first = await start_one(store, task="extract")
    await finish(store, first, RunStatus.SUCCEEDED)
    (run,) = await runs_of(store, chained)
    assert run.task == "report"
    assert (run.queue, run.priority, run.max_attempts) == ("slow", 3, 3)  # the task's defaults
    event = (run.trigger_info or {})["event"]
    assert event["type"] == "run.succeeded"
    assert event["data"]["run_id"] == first.id
    assert run.trigger_info
    assert run.trigger_info["chain"] == 1


async def test_a_run_never_fires_its_own_schedule(store: Store) -> None:
    watcher = await event_schedule(store, "watch", {"event": "run.succeeded"})
    other = await start_one(store, task="other")
    await finish(store, other, RunStatus.SUCCEEDED)
    (fired,) = await runs_of(store, watcher)
    (mine,) = await claim(store, tasks=["watch"])
    await finish(store, mine, RunStatus.SUCCEEDED)
    assert [r.id for r in await runs_of(store, watcher)] == [fired.id]  # nothing more


async def test_runs_fired_by_events_do_not_fire_in_the_same_transaction(store: Store) -> None:
    welcome = await event_schedule(store, "welcome", {"event": "user.signup"})
    on_queued = await event_schedule(store, "on-queued", {"event": "run.queued"})
    _, runs = await publish(store, "user.signup")
    assert [r.schedule_id for r in runs] == [welcome.id]
    assert await runs_of(store, on_queued) == []


async def test_chains_of_run_events_stop(store: Store) -> None:
    ping = await event_schedule(store, "ping", {"event": "run.succeeded"})
    pong = await event_schedule(store, "pong", {"event": "run.succeeded"})
    first = await start_one(store, task="start")
    await finish(store, first, RunStatus.SUCCEEDED)  # fires ping and pong, which fire each other
    for _ in range(40):
        claimed = await claim(store, limit=100)
        if not claimed:
            break
        await store.finish_runs("w1", [RunOutcome(r.id, RunStatus.SUCCEEDED) for r in claimed], T0)
    else:
        pytest.fail("the chain did not stop")
    chains = [(r.trigger_info or {}).get("chain") for r in await runs_of(store, ping)]
    chains += [(r.trigger_info or {}).get("chain") for r in await runs_of(store, pong)]
    assert max(c or 0 for c in chains) == 16


# -- subscriptions (agentcron.events over each store) ---------------------------------------------
async def test_subscription_gets_events_from_another_connection(
    store: Store, other_store: Store
) -> None:
    async with subscribe(store, "user.*") as events:
        (first,), _ = await publish(other_store, "user.signup")
        await publish(other_store, "order.paid")
        (second,), _ = await publish(other_store, "user.login")
        assert await asyncio.wait_for(anext(events), 10) == first
        assert await asyncio.wait_for(anext(events), 10) == second
        assert events.cursor is not None
        assert events.cursor >= second.id


async def test_subscription_waits_for_an_uncommitted_id(
    store: Store, store_kind: str, postgres_url: str
) -> None:
    """PostgreSQL: an id taken by a transaction still open is not skipped; one rolled back is
    given up after the gap timeout."""
    if store_kind != "postgres":
        pytest.skip("SQLite has one writer: ids become visible in order")
    import psycopg

    async with subscribe(store, after=await store.last_event_id(), gap_timeout_s=60) as events:
        async with await psycopg.AsyncConnection.connect(postgres_url) as slow:
            await slow.execute(
                "INSERT INTO events (namespace, type, data, created_at) "
                "VALUES ('default', 'slow.one', '{}', 0)"
            )  # holds the next id, uncommitted
            (fast,), _ = await publish(store, "fast.one", now=datetime.now(UTC))
            waiting = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait([waiting], timeout=0.5)
            assert not done  # fast.one is held back behind the open transaction
            await slow.commit()
        assert (await asyncio.wait_for(waiting, 10)).type == "slow.one"
        assert await asyncio.wait_for(anext(events), 10) == fast

    async with subscribe(store, after=fast.id, gap_timeout_s=0.3) as events:
        async with await psycopg.AsyncConnection.connect(postgres_url) as aborted:
            await aborted.execute(
                "INSERT INTO events (namespace, type, data, created_at) "
                "VALUES ('default', 'never.seen', '{}', 0)"
            )
            await aborted.rollback()
        (after,), _ = await publish(store, "after.gap", now=datetime.now(UTC))
        assert await asyncio.wait_for(anext(events), 10) == after


async def test_an_enqueue_writes_its_queued_event_and_fires_what_matches(store: Store) -> None:
    """A single enqueue (a fast path on some stores) writes the same ``run.queued`` event as
    any other, and fires the event schedules it matches, but not another namespace's."""
    start = await store.last_event_id()
    plain = await enqueue_one(store, subject="user:1", namespace="acme")
    (event,) = await store.read_events(start)
    assert (event.type, event.namespace, event.subject) == ("run.queued", "acme", "user:1")
    assert event.data == {
        "run_id": plain.id, "task": "work", "status": "queued", "schedule_id": None,
        "attempts": 0, "error": None,
    }  # fmt: skip
    assert await store.get_run(plain.id) == plain
    elsewhere = await event_schedule(store, "elsewhere", {"event": "run.queued"})  # default ns
    watcher = await event_schedule(store, "watch", {"event": "r*.queued"}, namespace="acme")
    unrelated = await event_schedule(store, "other", {"event": "user.*"}, namespace="acme")
    queued = await enqueue_one(store, namespace="acme")
    (fired,) = await runs_of(store, watcher)
    assert fired.trigger_info is not None
    assert fired.trigger_info["event"]["data"]["run_id"] == queued.id
    assert await runs_of(store, elsewhere) == []
    assert await runs_of(store, unrelated) == []
    again = await enqueue_one(store, namespace="acme", dedup_key="k")
    assert await enqueue_one(store, namespace="acme", dedup_key="k") == again
    assert len(await runs_of(store, watcher)) == 2  # the second enqueue wrote nothing
