"""Store contract: schedule verbs (add, get, update, list, delete, enable, park, next_due_at)."""

from __future__ import annotations

import base64
import json
import random
from datetime import timedelta

import pytest
from store_helpers import LEAD, MINUTE, T0, RecordingPlanner, enqueue_one, make_spec

from agentcron.errors import ScheduleExists, ScheduleNotFound, ValidationError
from agentcron.models import Misfire, Overlap, ScheduleSource
from agentcron.store import Store

FULL_SPEC = make_spec(
    "nightly-report",
    task="report",
    trigger={"cron": "0 2 * * *", "timezone": "Europe/Berlin"},
    namespace="tenant-a",
    args={"channel": "email", "users": [1, 2], "nested": {"ok": True}, "text": "grüße"},
    enabled=True,
    misfire=Misfire.ALL,
    misfire_grace=timedelta(minutes=5),
    overlap=Overlap.QUEUE,
    retries=3,
    timeout=timedelta(seconds=90),
    priority=7,
    queue="reports",
    jitter=timedelta(seconds=10),
    source=ScheduleSource.CONFIG,
    description="every night at 2",
)


async def test_add_schedule_keeps_every_field(store: Store) -> None:
    schedule = await store.add_schedule(FULL_SPEC, T0)
    assert schedule.spec == FULL_SPEC
    assert schedule.id
    assert schedule.next_run_at == T0
    assert schedule.last_run_at is None
    assert schedule.parked is False
    assert schedule.created_at.tzinfo is not None
    assert schedule.updated_at >= schedule.created_at


async def test_add_schedule_with_defaults_and_no_next_run(store: Store) -> None:
    spec = make_spec("plain")
    schedule = await store.add_schedule(spec, None)
    assert schedule.spec == spec
    assert schedule.next_run_at is None
    assert schedule.retries is None
    assert schedule.timeout is None
    assert schedule.queue is None


async def test_get_schedule_by_id_and_by_name(store: Store) -> None:
    added = await store.add_schedule(FULL_SPEC, T0)
    assert await store.get_schedule(added.id) == added
    assert await store.get_schedule("nightly-report", "tenant-a") == added
    plain = await store.add_schedule(make_spec("plain"), T0)
    assert await store.get_schedule("plain") == plain  # namespace defaults to "default"
    assert await store.get_schedule(plain.id, "tenant-a") == plain  # an id is global


async def test_get_schedule_an_id_wins_over_an_equal_name(store: Store) -> None:
    first = await store.add_schedule(make_spec("first"), T0)
    named_like_it = await store.add_schedule(make_spec(first.id), T0)
    assert await store.get_schedule(first.id) == first
    assert await store.get_schedule(named_like_it.id) == named_like_it


async def test_get_schedule_missing_raises(store: Store) -> None:
    await store.add_schedule(FULL_SPEC, T0)
    with pytest.raises(ScheduleNotFound) as caught:
        await store.get_schedule("nope")
    assert "nope" in str(caught.value)
    with pytest.raises(ScheduleNotFound):
        await store.get_schedule("nightly-report")  # it lives in tenant-a, not default
    with pytest.raises(ScheduleNotFound):
        await store.get_schedule("nightly-report", "tenant-b")


async def test_duplicate_name_in_namespace_raises(store: Store) -> None:
    await store.add_schedule(make_spec("dup"), T0)
    with pytest.raises(ScheduleExists) as caught:
        await store.add_schedule(make_spec("dup", task="other"), None)
    assert "dup" in str(caught.value)
    schedules, _ = await store.list_schedules()
    assert [s.task for s in schedules] == ["digest"]  # nothing stored by the failed add


async def test_same_name_in_another_namespace_is_allowed(store: Store) -> None:
    first = await store.add_schedule(make_spec("dup"), T0)
    second = await store.add_schedule(make_spec("dup", namespace="other"), T0)
    assert first.id != second.id
    assert (await store.get_schedule("dup", "other")).id == second.id


async def test_update_schedule_replaces_caller_fields(store: Store) -> None:
    added = await store.add_schedule(make_spec("plain"), T0)
    updated = await store.update_schedule(added.id, FULL_SPEC, T0 + MINUTE)
    assert updated.id == added.id
    assert updated.spec == FULL_SPEC
    assert updated.next_run_at == T0 + MINUTE
    assert updated.created_at == added.created_at
    assert updated.updated_at >= added.updated_at
    assert await store.get_schedule(added.id) == updated
    with pytest.raises(ScheduleNotFound):
        await store.get_schedule("plain")


async def test_update_schedule_keeps_store_owned_fields(store: Store) -> None:
    """last_run_at and parked are not the caller's: an update leaves them as they are."""
    added = await store.add_schedule(make_spec("plain"), T0)
    await store.fire_due(T0, RecordingPlanner())
    await store.park_schedules(["something-else"])
    updated = await store.update_schedule(added.id, make_spec("plain", priority=3), T0)
    assert updated.last_run_at == T0
    assert updated.parked is True


async def test_update_schedule_missing_or_taken_name(store: Store) -> None:
    first = await store.add_schedule(make_spec("first"), T0)
    await store.add_schedule(make_spec("second"), T0)
    with pytest.raises(ScheduleNotFound):
        await store.update_schedule("no-such-id", make_spec("third"), T0)
    with pytest.raises(ScheduleNotFound):  # missing wins over a taken name
        await store.update_schedule("no-such-id", make_spec("second"), T0)
    assert (await store.update_schedule(first.id, make_spec("first"), T0)).name == "first"
    with pytest.raises(ScheduleExists):
        await store.update_schedule(first.id, make_spec("second"), T0)
    assert (await store.get_schedule(first.id)).name == "first"


async def test_list_schedules_ordered_by_namespace_then_name(store: Store) -> None:
    keys = [(ns, f"s{i}") for ns in ("b-ns", "a-ns") for i in (3, 1, 2)]
    random.Random(4).shuffle(keys)
    for ns, name in keys:
        await store.add_schedule(make_spec(name, namespace=ns), T0)
    items, cursor = await store.list_schedules()
    assert [(s.namespace, s.name) for s in items] == sorted(keys)
    assert cursor is None


async def test_list_schedules_pages_with_cursor(store: Store) -> None:
    names = [f"s{i:02d}" for i in range(7)]
    for name in reversed(names):
        await store.add_schedule(make_spec(name), T0)
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = await store.list_schedules(limit=3, cursor=cursor)
        pages += 1
        assert len(page) <= 3
        seen += [s.name for s in page]
        if cursor is None:
            break
    assert seen == names
    assert pages == 3


async def test_list_schedules_exact_page_has_no_next_cursor(store: Store) -> None:
    for name in ("a", "b"):
        await store.add_schedule(make_spec(name), T0)
    page, cursor = await store.list_schedules(limit=2)
    assert [s.name for s in page] == ["a", "b"]
    assert cursor is None


async def test_list_schedules_filters(store: Store) -> None:
    await store.add_schedule(make_spec("code-1"), T0)
    await store.add_schedule(make_spec("cfg-1", source=ScheduleSource.CONFIG), T0)
    await store.add_schedule(make_spec("cfg-2", source=ScheduleSource.CONFIG, namespace="x"), T0)
    by_ns, _ = await store.list_schedules(namespace="x")
    assert [s.name for s in by_ns] == ["cfg-2"]
    by_source, _ = await store.list_schedules(source=ScheduleSource.CONFIG)
    assert [s.name for s in by_source] == ["cfg-1", "cfg-2"]
    both, _ = await store.list_schedules(namespace="default", source=ScheduleSource.CONFIG)
    assert [s.name for s in both] == ["cfg-1"]
    none, cursor = await store.list_schedules(namespace="empty")
    assert none == []
    assert cursor is None


async def test_delete_schedule_keeps_its_runs(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("gone"), T0)
    run = await enqueue_one(store, schedule_id=schedule.id)
    await store.delete_schedule(schedule.id)
    with pytest.raises(ScheduleNotFound):
        await store.get_schedule(schedule.id)
    with pytest.raises(ScheduleNotFound):
        await store.delete_schedule(schedule.id)
    assert (await store.get_run(run.id)).schedule_id == schedule.id
    # the name is free again
    await store.add_schedule(make_spec("gone"), T0)


async def test_set_schedule_enabled_pauses_and_resumes(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("pausable"), T0)
    paused = await store.set_schedule_enabled(schedule.id, False, None)
    assert paused.enabled is False
    assert paused.next_run_at is None
    assert await store.next_due_at() is None
    resumed = await store.set_schedule_enabled(schedule.id, True, T0 + MINUTE)
    assert resumed.enabled is True
    assert resumed.next_run_at == T0 + MINUTE
    assert await store.get_schedule(schedule.id) == resumed
    assert await store.next_due_at() == T0 + MINUTE - LEAD


async def test_disabled_schedule_with_next_run_at_is_not_due(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("off"), T0)
    await store.set_schedule_enabled(schedule.id, False, T0)
    assert await store.next_due_at() is None


async def test_set_schedule_enabled_missing_raises(store: Store) -> None:
    with pytest.raises(ScheduleNotFound):
        await store.set_schedule_enabled("no-such-id", True, T0)


async def test_park_schedules_counts_changes(store: Store) -> None:
    for task in ("a", "b", "c"):
        await store.add_schedule(make_spec(f"s-{task}", task=task), T0)
    assert await store.park_schedules(["a"]) == (2, 0)
    assert await store.park_schedules(["a"]) == (0, 0)
    assert await store.park_schedules(["a", "b", "zzz"]) == (0, 1)
    parked = {s.task: s.parked for s in (await store.list_schedules())[0]}
    assert parked == {"a": False, "b": False, "c": True}
    assert await store.park_schedules(["a", "b", "c"]) == (0, 1)


async def test_park_schedules_accepts_any_iterable(store: Store) -> None:
    await store.add_schedule(make_spec("s-a", task="a"), T0)
    assert await store.park_schedules(iter({"a"})) == (0, 0)
    assert await store.park_schedules(t for t in ("b",)) == (1, 0)


async def test_park_schedules_with_no_known_tasks_parks_all(
    store: Store, request: pytest.FixtureRequest
) -> None:
    for task in ("a", "b"):
        await store.add_schedule(make_spec(f"s-{task}", task=task), T0)
    assert await store.park_schedules([]) == (2, 0)
    assert await store.next_due_at() is None


async def test_parked_schedules_are_not_due(store: Store) -> None:
    await store.add_schedule(make_spec("early", task="gone"), T0)
    await store.add_schedule(make_spec("late", task="here"), T0 + MINUTE)
    await store.park_schedules(["here"])
    assert await store.next_due_at() == T0 + MINUTE - LEAD
    planner = RecordingPlanner()
    fired = await store.fire_due(T0 + MINUTE, planner)
    assert planner.names == ["late"]
    assert len(fired) == 1
    early = await store.get_schedule("early")
    assert early.parked is True
    assert early.next_run_at == T0  # kept, shown, never fired


async def test_next_due_at_is_earliest_enabled_unparked(store: Store) -> None:
    assert await store.next_due_at() is None
    await store.add_schedule(make_spec("none"), None)
    assert await store.next_due_at() is None
    await store.add_schedule(make_spec("later"), T0 + 2 * MINUTE)
    await store.add_schedule(make_spec("soon"), T0 + MINUTE)
    assert await store.next_due_at() == T0 + MINUTE - LEAD
    disabled = await store.add_schedule(make_spec("off", enabled=False), T0 - MINUTE)
    assert disabled.enabled is False
    assert await store.next_due_at() == T0 + MINUTE - LEAD
    await store.add_schedule(make_spec("parked", task="unknown"), T0 - 2 * MINUTE)
    await store.park_schedules(["digest"])
    assert await store.next_due_at() == T0 + MINUTE - LEAD
    await store.add_schedule(make_spec("past"), T0 - 3 * MINUTE)  # overdue still counts
    assert await store.next_due_at() == T0 - 3 * MINUTE - LEAD


async def test_list_schedules_pages_across_namespaces(store: Store) -> None:
    keys = [("a", "x"), ("a", "y"), ("b", "a"), ("b", "b"), ("bb", "a"), ("c", "0")]
    for ns, name in reversed(keys):
        await store.add_schedule(make_spec(name, namespace=ns), T0)
    for limit in (1, 2, 4, 5):
        seen, cursor = [], None
        while True:
            page, cursor = await store.list_schedules(limit=limit, cursor=cursor)
            seen += [(s.namespace, s.name) for s in page]
            if cursor is None:
                break
        assert seen == keys, limit


@pytest.mark.parametrize(
    "parts", [["abc"], [], [{"a": 1}, "x"], [1, 2]], ids=["one", "empty", "object", "numbers"]
)
async def test_list_schedules_forged_cursor_is_a_validation_error(
    store: Store, parts: list[object], request: pytest.FixtureRequest
) -> None:
    """A cursor from a client (stale, forged, or another list's) is bad input, not a crash."""
    cursor = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")
    await store.add_schedule(make_spec("s"), T0)
    with pytest.raises(ValidationError) as caught:
        await store.list_schedules(cursor=cursor)
    assert caught.value.field == "cursor"


async def test_count_schedules_per_namespace(store: Store) -> None:
    assert await store.count_schedules("default") == 0
    for i in range(3):
        await store.add_schedule(make_spec(f"s{i}"), None)
    await store.add_schedule(make_spec("elsewhere", namespace="team-b"), None)
    await store.add_schedule(make_spec("config", source=ScheduleSource.CONFIG), None)
    assert await store.count_schedules("default") == 4  # every source counts
    assert await store.count_schedules("team-b") == 1
    assert await store.count_schedules("nobody") == 0
    first = await store.get_schedule("s0")
    await store.delete_schedule(first.id)
    assert await store.count_schedules("default") == 3
