"""Store contract: `Store.fan_out_now`, the fan-out of a manual trigger of a
``for_each_subject`` schedule: one run per matching subject, as a firing of it makes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest
from store_helpers import MINUTE, T0, all_runs, make_spec

from agentcron.errors import ScheduleNotFound
from agentcron.models import FanOut, NewRun, Quota, RunStatus, Schedule
from agentcron.scheduler import RunPlanner
from agentcron.store import FannedOut, RunFilter, Store
from agentcron.store.core import fanout
from agentcron.tasks import TaskRegistry

HOUR = timedelta(hours=1)


async def grader(store: Store, **fields: Any) -> Schedule:
    fields.setdefault("for_each_subject", FanOut(subjects="user:*", batch_size=2))
    spec = make_spec("grader", task="grade", trigger={"manual": True}, **fields)
    return await store.add_schedule(spec, None)


async def trigger(store: Store, schedule: Schedule, now: datetime) -> FannedOut:
    run = NewRun(
        task=schedule.task,
        args=schedule.args,
        namespace=schedule.namespace,
        schedule_id=schedule.id,
        scheduled_for=now,
        trigger_info={"schedule": schedule.name, "kind": "manual"},
    )
    return await store.fan_out_now(schedule, run, RunPlanner(TaskRegistry(), now))


async def subjects(store: Store, *names: str, namespace: str = "default") -> None:
    for name in names:
        await store.record_activity(namespace, name, "message", T0 - HOUR)


async def test_one_run_per_matching_subject_with_the_args_given(store: Store) -> None:
    await subjects(store, "user:3", "user:1", "user:2", "team:1")
    await subjects(store, "user:9", namespace="other")
    schedule = await grader(store, args={"level": 1})
    given = dataclasses.replace(schedule, args={"level": 2})  # this trigger's args
    done = await trigger(store, given, T0)

    assert (done.queued, done.skipped) == (3, 0)
    assert [r.subject for r in done.runs] == ["user:1", "user:2", "user:3"]
    assert {r.status for r in done.runs} == {RunStatus.QUEUED}
    assert {r.scheduled_for for r in done.runs} == {T0}
    assert {r.available_at for r in done.runs} == {T0}
    assert all(r.args == {"level": 2} for r in done.runs)
    assert all(r.trigger_info == {"schedule": "grader", "kind": "manual"} for r in done.runs)
    stored = await all_runs(store, RunFilter(schedule_id=schedule.id))
    assert sorted(r.id for r in stored) == sorted(r.id for r in done.runs)
    after = await store.get_schedule(schedule.id)
    assert (after.next_run_at, after.last_run_at) == (None, None)  # the schedule did not move

    again = await trigger(store, schedule, T0 + MINUTE)  # another trigger: another slot
    assert again.queued == 3
    assert {r.args["level"] for r in again.runs} == {1}
    assert len(await all_runs(store, RunFilter(schedule_id=schedule.id))) == 6


async def test_runs_over_the_quota_are_counted_as_skipped(store: Store) -> None:
    await subjects(store, "user:1", "user:2")
    schedule = await grader(store, limit=Quota(1, "day"))
    assert (await trigger(store, schedule, T0)).queued == 2
    await subjects(store, "user:3")
    second = await trigger(store, schedule, T0 + HOUR)
    assert (second.queued, second.skipped) == (1, 2)
    by_subject = {r.subject: r for r in second.runs}
    assert by_subject["user:3"].status is RunStatus.QUEUED
    assert by_subject["user:1"].status is RunStatus.SKIPPED
    assert by_subject["user:1"].error == {
        "type": "Skipped", "message": "limit: 1 per day reached for user:1"
    }  # fmt: skip


async def test_counts_every_run_but_returns_the_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "FAN_OUT_RETURNED", 2)
    await subjects(store, *(f"user:{i}" for i in range(5)))
    schedule = await grader(store)
    done = await trigger(store, schedule, T0)
    assert (done.queued, done.skipped) == (5, 0)
    assert [r.subject for r in done.runs] == ["user:0", "user:1"]
    assert len(await all_runs(store, RunFilter(schedule_id=schedule.id))) == 5


async def test_no_matching_subject_queues_nothing(store: Store) -> None:
    await subjects(store, "team:1")
    done = await trigger(store, await grader(store), T0)
    assert done == FannedOut(0, 0, [])


async def test_writes_the_lifecycle_events_of_the_runs(store: Store) -> None:
    await subjects(store, "user:1", "user:2")
    after = await store.last_event_id()
    done = await trigger(store, await grader(store), T0)
    events = await store.read_events(after, pattern="run.queued")
    assert sorted(e.data["run_id"] for e in events) == sorted(r.id for r in done.runs)


async def test_a_deleted_schedule_raises_and_nothing_is_queued(store: Store) -> None:
    await subjects(store, "user:1")
    schedule = await grader(store)
    await store.delete_schedule(schedule.id)
    with pytest.raises(ScheduleNotFound):
        await trigger(store, schedule, T0)
    assert await all_runs(store, RunFilter(schedule_id=schedule.id)) == []
