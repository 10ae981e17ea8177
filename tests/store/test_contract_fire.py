"""Store contract: fire_due (exactly-once firing of due schedules)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from store_helpers import (
    LEAD,
    MINUTE,
    T0,
    RecordingPlanner,
    all_runs,
    claim,
    enqueue_one,
    finish,
    make_spec,
)

from agentcron.models import NewRun, Run, RunStatus, Schedule
from agentcron.rules.firing import RunDefaults, plan_fire
from agentcron.store import FirePlan, RunFilter, Store
from agentcron.triggers import trigger_from_dict


async def runs_of(store: Store, schedule: Schedule) -> list[Run]:
    return await all_runs(store, RunFilter(schedule_id=schedule.id))


async def test_fire_due_inserts_planned_runs_and_advances(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("every-minute", args={"k": 1}), T0)
    planner = RecordingPlanner()
    fired = await store.fire_due(T0 + timedelta(seconds=5), planner)
    assert len(planner.calls) == 1
    seen, busy = planner.calls[0]
    assert seen == schedule
    assert busy is False
    (run,) = fired
    assert run.status is RunStatus.QUEUED
    assert run.schedule_id == schedule.id
    assert run.scheduled_for == T0
    assert run.args == {"k": 1}
    assert run.dedup_key == f"{schedule.id}@{T0.isoformat()}"
    assert run.trigger_info == {"schedule": "every-minute"}
    assert await store.get_run(run.id) == run
    after = await store.get_schedule(schedule.id)
    assert after.next_run_at == T0 + MINUTE
    assert after.last_run_at == T0
    assert await store.next_due_at() == T0 + MINUTE


async def test_fire_due_ignores_schedules_not_yet_due(store: Store) -> None:
    await store.add_schedule(make_spec("later"), T0 + MINUTE)
    await store.add_schedule(make_spec("never"), None)
    planner = RecordingPlanner()
    assert await store.fire_due(T0, planner) == []
    assert planner.calls == []
    fired = await store.fire_due(T0 + MINUTE, planner)  # next_run_at <= now: due
    assert planner.names == ["later"]
    assert len(fired) == 1


async def test_fire_due_skips_disabled_schedules(store: Store) -> None:
    await store.add_schedule(make_spec("off", enabled=False), T0)
    planner = RecordingPlanner()
    assert await store.fire_due(T0, planner) == []
    assert planner.calls == []


async def test_same_slot_fired_twice_inserts_one_run(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("twice"), T0)
    planner = RecordingPlanner()
    (first,) = await store.fire_due(T0, planner)
    await store.set_schedule_enabled(schedule.id, True, T0)  # back to the same slot
    assert await store.fire_due(T0, planner) == []
    assert len(planner.calls) == 2
    assert [r.id for r in await runs_of(store, schedule)] == [first.id]
    assert (await store.get_schedule(schedule.id)).next_run_at == T0 + MINUTE


async def test_fire_due_respects_limit_earliest_first(store: Store) -> None:
    for name, offset in (("b", 1), ("c", 3), ("a", 2), ("d", 0)):
        await store.add_schedule(make_spec(name), T0 - offset * MINUTE)
    planner = RecordingPlanner(step=timedelta(hours=1))
    fired = await store.fire_due(T0, planner, limit=2)
    assert planner.names == ["c", "a"]
    assert [r.scheduled_for for r in fired] == [T0 - 3 * MINUTE, T0 - 2 * MINUTE]
    assert await store.next_due_at() == T0 - MINUTE - LEAD  # "b", added, keeps its lead
    await store.fire_due(T0, planner, limit=2)
    assert planner.names == ["c", "a", "b", "d"]


async def test_fire_due_moves_each_schedule_once_per_call(store: Store) -> None:
    """A schedule still due after firing (a slot behind now) waits for the next call."""
    await store.add_schedule(make_spec("behind"), T0 - 10 * MINUTE)
    planner = RecordingPlanner()
    fired = await store.fire_due(T0, planner)
    assert len(fired) == 1
    assert planner.names == ["behind"]
    assert await store.next_due_at() == T0 - 9 * MINUTE


async def test_busy_flag_follows_unfinished_runs(store: Store) -> None:
    """The planner hears ``busy`` when a queued or running run of the schedule exists."""
    schedule = await store.add_schedule(make_spec("busy"), T0)
    other = await store.add_schedule(make_spec("other"), None)
    seen: list[bool] = []

    def probe(s: Schedule, busy: bool) -> FirePlan:
        seen.append(busy)
        return FirePlan(runs=[], next_run_at=None)

    async def busy_now() -> bool:
        await store.set_schedule_enabled(schedule.id, True, T0)
        await store.fire_due(T0, probe)
        return seen[-1]

    assert await busy_now() is False
    await enqueue_one(store, task="x", schedule_id=other.id)  # another schedule's run
    await enqueue_one(store, schedule_id=schedule.id, status=RunStatus.SKIPPED)
    assert await busy_now() is False
    queued = await enqueue_one(store, task="mine", schedule_id=schedule.id)
    assert await busy_now() is True
    (running,) = await claim(store, tasks=["mine"])
    assert running.id == queued.id
    assert await busy_now() is True
    await finish(store, running, RunStatus.SUCCEEDED)
    assert await busy_now() is False
    cancelled = await enqueue_one(store, task="mine", schedule_id=schedule.id)
    await store.cancel_run(cancelled.id, T0)
    assert await busy_now() is False
    assert len(seen) == 6


async def test_fire_due_inserts_skipped_records_and_several_runs(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("many"), T0)

    def planner(s: Schedule, busy: bool) -> FirePlan:
        runs = [
            NewRun(task=s.task, schedule_id=s.id, scheduled_for=T0 - MINUTE,
                   dedup_key=f"{s.id}@a", status=RunStatus.SKIPPED,
                   error={"type": "Skipped", "message": "misfire"}),
            NewRun(task=s.task, schedule_id=s.id, scheduled_for=T0, dedup_key=f"{s.id}@b"),
        ]  # fmt: skip
        return FirePlan(runs=runs, next_run_at=T0 + MINUTE, last_run_at=T0)

    skipped, queued = await store.fire_due(T0, planner)
    assert skipped.status is RunStatus.SKIPPED
    assert skipped.error == {"type": "Skipped", "message": "misfire"}
    assert skipped.finished_at is not None
    assert queued.status is RunStatus.QUEUED
    assert queued.finished_at is None
    claimed = await claim(store)
    assert [r.id for r in claimed] == [queued.id]  # a skipped record is never claimed
    assert len(await runs_of(store, schedule)) == 2


async def test_fire_due_with_exhausted_trigger(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("once"), T0)
    fired = await store.fire_due(T0, RecordingPlanner(step=None))
    assert len(fired) == 1
    after = await store.get_schedule(schedule.id)
    assert after.next_run_at is None
    assert after.last_run_at == T0
    assert await store.next_due_at() is None
    assert await store.fire_due(T0 + timedelta(days=1), RecordingPlanner()) == []


async def test_fire_due_with_empty_plan_still_moves_on(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("broken"), T0)

    def planner(s: Schedule, busy: bool) -> FirePlan:
        return FirePlan(runs=[], next_run_at=T0 + MINUTE)

    assert await store.fire_due(T0, planner) == []
    after = await store.get_schedule(schedule.id)
    assert after.next_run_at == T0 + MINUTE
    assert after.last_run_at is None


async def test_fire_due_with_the_real_policy(store: Store) -> None:
    """plan_fire in the firing transaction: missed slots counted, next slot after the latest."""
    spec = make_spec("digest", trigger={"every": "5m"}, retries=2, priority=3)
    schedule = await store.add_schedule(spec, T0)
    now = T0 + timedelta(minutes=12)

    def planner(s: Schedule, busy: bool) -> FirePlan:
        return plan_fire(s, trigger_from_dict(s.trigger), now, busy, RunDefaults())

    (run,) = await store.fire_due(now, planner)
    assert run.scheduled_for == T0 + timedelta(minutes=10)
    assert run.trigger_info == {"schedule": "digest", "kind": "interval", "missed": 2}
    assert run.max_attempts == 3
    assert run.priority == 3
    after = await store.get_schedule(schedule.id)
    assert after.next_run_at == T0 + timedelta(minutes=15)
    assert after.last_run_at == T0 + timedelta(minutes=10)


async def test_concurrent_schedulers_fire_each_slot_once(store: Store, other_store: Store) -> None:
    """The firing lock alone (no dedup keys here) keeps a slot from firing twice."""
    for i in range(6):
        await store.add_schedule(make_spec(f"s{i}"), T0 - i * timedelta(seconds=1))
    planners = [RecordingPlanner(dedup=False) for _ in range(4)]
    stores = [store, other_store, store, other_store]
    results = await asyncio.gather(
        *(s.fire_due(T0, p, limit=2) for s, p in zip(stores, planners, strict=True))
    )
    fired = [run for result in results for run in result]
    assert len(fired) == 6
    assert len({run.schedule_id for run in fired}) == 6
    assert sum(len(p.calls) for p in planners) == 6
    assert len(await all_runs(store)) == 6
    assert await store.next_due_at() == T0 - 5 * timedelta(seconds=1) + MINUTE
