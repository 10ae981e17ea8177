"""Store contract with the real planner: a slot that cannot be fired is recorded as a
``skipped`` run saying why, never dropped, and the schedule moves on (or ends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store_helpers import T0, all_runs, make_spec

from agentcron.models import Misfire, Overlap, RunStatus
from agentcron.scheduler import RunPlanner
from agentcron.store import RunFilter, Store
from agentcron.tasks import TaskRegistry

LAST_SECOND = datetime(9999, 12, 31, 23, 59, 59, 750_000, tzinfo=UTC)  # exact as a float


def planner(now: datetime) -> RunPlanner:
    return RunPlanner(TaskRegistry(), now)


async def test_a_slot_whose_jittered_start_is_past_year_9999_is_recorded_skipped(
    store: Store,
) -> None:
    """Jitter moves the run past the last representable instant: the slot is a skipped
    run with the reason (before: an error in the log, the slot lost and the scheduler
    retrying the same schedule forever)."""
    # Any delay over 0.25 s overflows: with 1000 weeks of jitter, all but one in 10^9 do.
    spec = make_spec("end-of-time", trigger={"at": LAST_SECOND.isoformat()},
                     jitter=timedelta(weeks=1000))  # fmt: skip
    schedule = await store.add_schedule(spec, LAST_SECOND)

    fired = await store.fire_due(LAST_SECOND, planner(LAST_SECOND))

    (run,) = fired
    assert run.status is RunStatus.SKIPPED
    assert run.scheduled_for == LAST_SECOND
    assert run.error is not None
    assert run.error["type"] == "Skipped"
    assert "cannot be fired" in run.error["message"]
    assert "OverflowError" in run.error["message"]
    assert run.trigger_info == {"schedule": "end-of-time", "kind": "date"}
    assert await all_runs(store, RunFilter(schedule_id=schedule.id)) == [run]
    after = await store.get_schedule(schedule.id)
    assert after.next_run_at is None  # a date trigger has no next slot: the schedule ends
    assert after.last_run_at == LAST_SECOND
    assert await store.next_due_at() is None


async def test_a_stored_trigger_this_code_refuses_records_the_slot_and_ends(
    store: Store,
) -> None:
    """A schedule stored before intervals under 1 s were refused: its due slot becomes a
    skipped run naming the problem; the schedule ends instead of being retried forever."""
    schedule = await store.add_schedule(make_spec("too-fast", trigger={"every": "500ms"}), None)
    await store.set_schedule_enabled(schedule.id, True, T0)

    (run,) = await store.fire_due(T0, planner(T0))

    assert run.status is RunStatus.SKIPPED
    assert run.scheduled_for == T0
    assert run.error is not None
    assert "every: interval must be at least 1s" in run.error["message"]
    assert run.finished_at is not None
    after = await store.get_schedule(schedule.id)
    assert after.next_run_at is None
    assert after.enabled
    assert await store.fire_due(T0 + timedelta(hours=1), planner(T0 + timedelta(hours=1))) == []


async def test_an_unfireable_slot_does_not_hold_back_the_other_due_schedules(
    store: Store,
) -> None:
    """The other schedules of the firing batch fire as planned."""
    broken = await store.add_schedule(make_spec("broken", trigger={"every": "1ms"}), None)
    await store.set_schedule_enabled(broken.id, True, T0)
    fine = await store.add_schedule(make_spec("fine", trigger={"every": "1m"}), T0)

    fired = await store.fire_due(T0, planner(T0))

    by_schedule = {run.schedule_id: run.status for run in fired}
    assert by_schedule == {broken.id: RunStatus.SKIPPED, fine.id: RunStatus.QUEUED}
    assert (await store.get_schedule(fine.id)).next_run_at == T0 + timedelta(minutes=1)


async def test_misfire_all_records_the_slots_it_leaves_out(store: Store) -> None:
    """misfire=all catches up the newest 1000 slots; the older ones were dropped unseen,
    now one skipped run at the first of them says which."""
    spec = make_spec("catch-up", trigger={"cron": "* * * * * *"}, misfire=Misfire.ALL,
                     overlap=Overlap.ALLOW)  # fmt: skip
    schedule = await store.add_schedule(spec, T0)
    now = T0 + timedelta(hours=1)

    fired = await store.fire_due(now, planner(now))

    skipped = [run for run in fired if run.status is RunStatus.SKIPPED]
    queued = sorted(run.scheduled_for for run in fired if run.status is RunStatus.QUEUED)
    assert len(queued) == 1000
    assert queued[-1] == now
    assert [run.scheduled_for for run in skipped] == [T0]
    assert skipped[0].error is not None
    assert "were not run (misfire=all catches up the newest 1000)" in skipped[0].error["message"]
    assert (await store.get_schedule(schedule.id)).next_run_at == now + timedelta(seconds=1)
