"""Store contract: subjects (record_activity, list_subjects) and per-subject firing (idle,
messages, for_each_subject fan-out, quotas), through the store verbs with a fixed ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from store_helpers import MINUTE, T0, all_runs, make_spec

from agentcron.errors import ValidationError
from agentcron.models import FanOut, Overlap, Quota, Run, RunStatus, Schedule
from agentcron.scheduler import RunPlanner
from agentcron.store import RunFilter, Store
from agentcron.tasks import TaskRegistry

HOUR = timedelta(hours=1)


def planner(now: datetime) -> RunPlanner:
    return RunPlanner(TaskRegistry(), now)


async def fire(store: Store, now: datetime) -> list[Run]:
    return await store.fire_due(now, planner(now))


async def runs_of(store: Store, schedule: Schedule) -> list[Run]:
    return sorted(await all_runs(store, RunFilter(schedule_id=schedule.id)), key=lambda r: r.id)


async def idle_schedule(store: Store, trigger: dict[str, Any], **fields: Any) -> Schedule:
    return await store.add_schedule(
        make_spec("nudge", task="nudge", trigger=trigger, **fields), None
    )


def subjects_of(runs: list[Run]) -> list[str | None]:
    return sorted(r.subject for r in runs)


# -- record_activity / list_subjects -----------------------------------------------------------
async def test_record_activity_upserts_and_counts_messages(store: Store) -> None:
    first = await store.record_activity("default", "user:1", "message", T0)
    assert (first.subject, first.namespace, first.message_count) == ("user:1", "default", 1)
    assert first.last_activity_at == first.first_seen_at == T0
    await store.record_activity("default", "user:1", "login", T0 + MINUTE)  # not a message
    latest = await store.record_activity("default", "user:1", "message", T0 + 2 * MINUTE)
    assert latest.message_count == 2
    assert latest.last_activity_at == T0 + 2 * MINUTE
    assert latest.first_seen_at == T0
    older = await store.record_activity("default", "user:1", "message", T0 + MINUTE)
    assert older.last_activity_at == T0 + 2 * MINUTE  # never moves back
    assert older.message_count == 3
    other = await store.record_activity("tenant-b", "user:1", "message", T0)
    assert other.message_count == 1  # namespaces are apart


async def test_list_subjects_pages_by_name(store: Store) -> None:
    for name in ["user:3", "user:1", "team:9", "user:2"]:
        await store.record_activity("default", name, "message", T0)
    await store.record_activity("other", "user:0", "message", T0)
    page, cursor = await store.list_subjects("default", limit=3)
    assert [s.subject for s in page] == ["team:9", "user:1", "user:2"]
    assert cursor is not None
    rest, end = await store.list_subjects("default", limit=3, cursor=cursor)
    assert [s.subject for s in rest] == ["user:3"]
    assert end is None
    assert page[0].to_dict()["last_activity_at"] == "2026-01-01T00:00:00.000Z"
    with pytest.raises(ValidationError):
        await store.list_subjects("default", cursor="not-a-cursor")


@pytest.mark.parametrize(
    ("subject", "kind", "field"),
    [("", "message", "subject"), ("x" * 257, "message", "subject"), ("a\x00b", "message",
     "subject"), ("user:1", "Big Kind", "kind"), ("user:1", "", "kind")],
)  # fmt: skip
async def test_record_activity_validates(store: Store, subject: str, kind: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await store.record_activity("default", subject, kind, T0)
    assert caught.value.field == field
    assert await store.list_subjects("default") == ([], None)


# -- idle ----------------------------------------------------------------------------------------
async def test_idle_fires_once_per_idle_subject(store: Store) -> None:
    schedule = await idle_schedule(store, {"idle": "5m"})
    for i, name in enumerate(["a", "b", "c"]):
        await store.record_activity("default", name, "message", T0 + i * MINUTE)
    await store.record_activity("elsewhere", "z", "message", T0)
    assert await store.next_due_at() == T0 + 5 * MINUTE
    assert await fire(store, T0 + 4 * MINUTE) == []

    (run,) = await fire(store, T0 + 5 * MINUTE)
    assert (run.subject, run.scheduled_for, run.status) == ("a", T0 + 5 * MINUTE, RunStatus.QUEUED)
    assert run.trigger_info == {"schedule": "nudge", "kind": "idle",
                                "idle_since": "2026-01-01T00:00:00.000Z"}  # fmt: skip
    assert run.task == "nudge"
    assert (await store.get_schedule(schedule.id)).next_run_at == T0 + 6 * MINUTE

    later = await fire(store, T0 + 10 * MINUTE)
    assert subjects_of(later) == ["b", "c"]
    assert (await store.get_schedule(schedule.id)).next_run_at is None
    assert await fire(store, T0 + HOUR) == []
    assert len(await runs_of(store, schedule)) == 3


async def test_idle_fires_again_only_after_new_activity(store: Store) -> None:
    schedule = await idle_schedule(store, {"idle": "5m"})
    await store.record_activity("default", "a", "message", T0)
    assert subjects_of(await fire(store, T0 + 5 * MINUTE)) == ["a"]
    await store.set_schedule_enabled(schedule.id, True, T0 + 20 * MINUTE)  # look again
    assert await fire(store, T0 + 20 * MINUTE) == []  # still idle, already answered

    await store.record_activity("default", "a", "message", T0 + 30 * MINUTE)
    assert await store.next_due_at() == T0 + 35 * MINUTE
    (again,) = await fire(store, T0 + 35 * MINUTE)
    assert (again.subject, again.scheduled_for) == ("a", T0 + 35 * MINUTE)
    assert len(await runs_of(store, schedule)) == 2


async def test_activity_before_the_deadline_postpones_idle(store: Store) -> None:
    await idle_schedule(store, {"idle": "5m"})
    await store.record_activity("default", "a", "message", T0)
    await store.record_activity("default", "a", "message", T0 + 3 * MINUTE)
    assert await fire(store, T0 + 5 * MINUTE) == []  # active at 3m: idle from 8m
    assert await store.next_due_at() == T0 + 8 * MINUTE
    (run,) = await fire(store, T0 + 8 * MINUTE)
    assert run.scheduled_for == T0 + 8 * MINUTE


async def test_idle_cooldown_defers_the_next_fire(store: Store) -> None:
    schedule = await idle_schedule(store, {"idle": "5m", "cooldown": "1h"})
    await store.record_activity("default", "a", "message", T0)
    assert len(await fire(store, T0 + 5 * MINUTE)) == 1
    await store.record_activity("default", "a", "message", T0 + 6 * MINUTE)
    assert await fire(store, T0 + 11 * MINUTE) == []  # idle again, but within the cooldown
    assert (await store.get_schedule(schedule.id)).next_run_at == T0 + 65 * MINUTE
    (second,) = await fire(store, T0 + 65 * MINUTE)
    assert (second.subject, second.scheduled_for) == ("a", T0 + 11 * MINUTE)
    assert await fire(store, T0 + 3 * HOUR) == []


async def test_deferred_subject_active_again_waits_for_its_new_deadline(store: Store) -> None:
    await idle_schedule(store, {"idle": "5m", "cooldown": "1h"})
    await store.record_activity("default", "a", "message", T0)
    await fire(store, T0 + 5 * MINUTE)
    await store.record_activity("default", "a", "message", T0 + 6 * MINUTE)
    await fire(store, T0 + 11 * MINUTE)  # deferred to 65m
    await store.record_activity("default", "a", "message", T0 + 62 * MINUTE)
    assert await fire(store, T0 + 65 * MINUTE) == []  # active at 62m: not idle now
    (run,) = await fire(store, T0 + 67 * MINUTE)
    assert run.scheduled_for == T0 + 67 * MINUTE


async def test_idle_subject_filter(store: Store) -> None:
    schedule = await idle_schedule(store, {"idle": "5m", "subjects": "user:*"})
    await store.record_activity("default", "team:1", "message", T0)
    assert await store.next_due_at() is None  # not its subject: not woken
    await store.record_activity("default", "user:1", "message", T0)
    await store.record_activity("default", "team:2", "message", T0 + MINUTE)
    (run,) = await fire(store, T0 + HOUR)
    assert run.subject == "user:1"
    assert (await store.get_schedule(schedule.id)).next_run_at is None


async def test_paused_idle_schedule_is_not_woken(store: Store) -> None:
    await idle_schedule(store, {"idle": "5m"}, enabled=False)
    await store.record_activity("default", "a", "message", T0)
    assert await store.next_due_at() is None


async def test_resumed_or_updated_idle_schedule_finds_its_next_time(store: Store) -> None:
    schedule = await idle_schedule(store, {"idle": "5m"})
    await store.record_activity("default", "a", "message", T0)
    await store.set_schedule_enabled(schedule.id, False, None)
    await store.record_activity("default", "b", "message", T0 + MINUTE)  # paused: not woken
    assert await store.next_due_at() is None
    resumed = await store.set_schedule_enabled(schedule.id, True, None)
    assert resumed.next_run_at == T0 + 5 * MINUTE  # from its subjects, no clock needed
    assert subjects_of(await fire(store, T0 + 10 * MINUTE)) == ["a", "b"]

    await store.record_activity("default", "c", "message", T0 + 20 * MINUTE)
    spec = make_spec("nudge", task="nudge", trigger={"idle": "5m", "cooldown": "1h"})
    updated = await store.update_schedule(schedule.id, spec, None)
    assert updated.next_run_at == T0 + 25 * MINUTE


async def test_subjects_idle_before_the_schedule_saw_activity_do_not_fire(store: Store) -> None:
    await store.record_activity("default", "old", "message", T0 - HOUR)
    await idle_schedule(store, {"idle": "5m"})
    await store.record_activity("default", "new", "message", T0)
    assert subjects_of(await fire(store, T0 + 5 * MINUTE)) == ["new"]


async def test_idle_evaluates_many_subjects_in_bounded_batches(store: Store) -> None:
    schedule = await idle_schedule(store, {"idle": "1m"})
    for i in range(1203):  # more than one batch, many on the same instant
        await store.record_activity("default", f"s{i:04}", "message", T0 + (i // 500) * MINUTE)
    fired: list[Run] = []
    now = T0 + 10 * MINUTE
    for _ in range(5):
        fired += await fire(store, now)
    assert len(fired) == len({r.subject for r in fired}) == 1203
    assert (await store.get_schedule(schedule.id)).next_run_at is None


# -- messages ------------------------------------------------------------------------------------
async def test_messages_fire_every_n(store: Store) -> None:
    schedule = await idle_schedule(store, {"messages": 3})
    for i in range(2):
        await store.record_activity("default", "a", "message", T0 + i * MINUTE)
    await store.record_activity("default", "a", "login", T0 + 2 * MINUTE)  # not a message
    assert await store.next_due_at() is None
    await store.record_activity("default", "a", "message", T0 + 3 * MINUTE)
    assert await store.next_due_at() == T0 + 3 * MINUTE
    (run,) = await fire(store, T0 + 3 * MINUTE)
    assert run.subject == "a"
    assert run.trigger_info == {"schedule": "nudge", "kind": "messages", "count": 3}
    assert (await store.get_schedule(schedule.id)).next_run_at is None

    for i in range(7):  # 4..10: multiples 6 and 9 before the scheduler looks
        await store.record_activity("default", "a", "message", T0 + (4 + i) * MINUTE)
    later = await fire(store, T0 + 20 * MINUTE)
    assert [r.trigger_info["count"] for r in later if r.trigger_info] == [6, 9]
    assert len({r.dedup_key for r in await runs_of(store, schedule)}) == 3
    assert await fire(store, T0 + HOUR) == []


async def test_messages_per_subject_and_filter(store: Store) -> None:
    await idle_schedule(store, {"messages": 2, "subjects": "user:*"})
    for name in ["user:1", "user:2", "team:1", "user:1", "team:1", "user:2"]:
        await store.record_activity("default", name, "message", T0)
    assert subjects_of(await fire(store, T0)) == ["user:1", "user:2"]


async def test_messages_schedule_added_late_counts_from_its_first_multiple(store: Store) -> None:
    for _ in range(5):
        await store.record_activity("default", "a", "message", T0)
    await idle_schedule(store, {"messages": 3})
    await store.record_activity("default", "a", "message", T0 + MINUTE)  # 6
    (run,) = await fire(store, T0 + MINUTE)
    assert run.trigger_info is not None
    assert run.trigger_info["count"] == 6


# -- fan-out -----------------------------------------------------------------------------------
async def fan_out_schedule(store: Store, **fields: Any) -> Schedule:
    fields.setdefault("for_each_subject", FanOut(subjects="user:*", batch_size=2))
    spec = make_spec("grader", task="grade", trigger={"every": "1h"}, **fields)
    return await store.add_schedule(spec, T0)


async def test_fan_out_one_run_per_subject_deduplicated(store: Store) -> None:
    for name in ["user:1", "user:2", "user:3", "user:4", "user:5", "team:1"]:
        await store.record_activity("default", name, "message", T0 - HOUR)
    await store.record_activity("other", "user:9", "message", T0 - HOUR)
    schedule = await fan_out_schedule(store)
    fired = await fire(store, T0)
    assert subjects_of(fired) == ["user:1", "user:2", "user:3", "user:4", "user:5"]
    assert {r.scheduled_for for r in fired} == {T0}
    assert {r.status for r in fired} == {RunStatus.QUEUED}
    assert fired[0].trigger_info == {"schedule": "grader", "kind": "fan-out"}
    after = await store.get_schedule(schedule.id)
    assert (after.next_run_at, after.last_run_at) == (T0 + HOUR, T0)

    await store.set_schedule_enabled(schedule.id, True, T0)  # the same slot again
    assert await fire(store, T0) == []
    assert len(await runs_of(store, schedule)) == 5


async def test_fan_out_without_filter_takes_every_subject(store: Store) -> None:
    for name in ["a", "b", "c"]:
        await store.record_activity("default", name, "message", T0)
    await fan_out_schedule(store, for_each_subject=FanOut(), overlap=Overlap.ALLOW)
    assert subjects_of(await fire(store, T0)) == ["a", "b", "c"]
    assert subjects_of(await fire(store, T0 + HOUR)) == ["a", "b", "c"]


async def test_fan_out_records_a_skipped_slot_as_planned(store: Store) -> None:
    await store.record_activity("default", "user:1", "message", T0)
    schedule = await fan_out_schedule(store)
    await fire(store, T0)  # user:1's run stays queued: the next slot overlaps
    (skip,) = await fire(store, T0 + HOUR)
    assert (skip.status, skip.subject) == (RunStatus.SKIPPED, None)
    assert len(await runs_of(store, schedule)) == 2


# -- quotas --------------------------------------------------------------------------------------
async def test_quota_skips_idle_fires_over_the_limit(store: Store) -> None:
    await idle_schedule(store, {"idle": "5m"}, limit=Quota(1, "day"))
    await store.record_activity("default", "user:42", "message", T0)
    (first,) = await fire(store, T0 + 5 * MINUTE)
    assert first.status is RunStatus.QUEUED
    await store.record_activity("default", "user:42", "message", T0 + HOUR)
    (second,) = await fire(store, T0 + HOUR + 5 * MINUTE)
    assert second.status is RunStatus.SKIPPED
    assert second.error == {"type": "Skipped", "message": "limit: 1 per day reached for user:42"}
    await store.record_activity("default", "user:42", "message", T0 + 24 * HOUR)
    (next_day,) = await fire(store, T0 + 25 * HOUR)
    assert next_day.status is RunStatus.QUEUED


async def test_quota_counts_days_in_the_schedule_time_zone(store: Store) -> None:
    tokyo = await idle_schedule(store, {"idle": "5m"}, limit=Quota(1, "day"), timezone="Asia/Tokyo")
    spec = make_spec("utc", task="nudge", trigger={"idle": "5m"}, limit=Quota(1, "day"))
    utc = await store.add_schedule(spec, None)
    for hour in (14, 16):  # 14:05 and 16:05 UTC: one day in UTC, two in Tokyo (23:05, 01:05)
        await store.record_activity("default", "a", "message", T0 + hour * HOUR)
        await fire(store, T0 + (hour + 1) * HOUR)
    assert [r.status for r in await runs_of(store, tokyo)] == [RunStatus.QUEUED] * 2
    assert [r.status for r in await runs_of(store, utc)] == [RunStatus.QUEUED, RunStatus.SKIPPED]


async def test_quota_on_messages(store: Store) -> None:
    await idle_schedule(store, {"messages": 1}, limit=Quota(2, "hour"))
    for _ in range(3):
        await store.record_activity("default", "a", "message", T0)
    fired = await fire(store, T0)
    assert [r.status for r in fired] == [RunStatus.QUEUED, RunStatus.QUEUED, RunStatus.SKIPPED]
    assert fired[2].error is not None
    assert fired[2].error["message"] == "limit: 2 per hour reached for a"


async def test_quota_on_fan_out(store: Store) -> None:
    await store.record_activity("default", "user:1", "message", T0)
    await fan_out_schedule(store, limit=Quota(1, "day"), overlap=Overlap.ALLOW)
    assert [r.status for r in await fire(store, T0)] == [RunStatus.QUEUED]
    (over,) = await fire(store, T0 + HOUR)
    assert over.status is RunStatus.SKIPPED
    assert over.error is not None
    assert over.error["message"] == "limit: 1 per day reached for user:1"


async def test_subject_filter_wildcards_only_where_written(store: Store) -> None:
    await idle_schedule(store, {"idle": "5m", "subjects": "a_b%?"})
    for name in ["a_b%1", "axb%1", "a_bx1", "a_b%12"]:  # _ and % are literal in a glob
        await store.record_activity("default", name, "message", T0)
    assert subjects_of(await fire(store, T0 + HOUR)) == ["a_b%1"]
