"""rules.firing: misfire, grace, overlap, serial keys, jitter, dedup keys, fan-out (no I/O)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agentcron.models import Misfire, NewRun, Overlap, RunStatus, Schedule, ScheduleSource
from agentcron.rules.firing import (
    MAX_CATCHUP,
    SKIP_GRACE,
    FirePlan,
    RunDefaults,
    dedup_key,
    lead,
    plan_fire,
    split_fan_out,
)
from agentcron.triggers import CronTrigger, DateTrigger, IntervalTrigger, Trigger

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
EVERY_5M = IntervalTrigger(timedelta(minutes=5))


def no_rand() -> float:
    raise AssertionError("rand() called although there is no jitter")


def make_schedule(trigger: Trigger = EVERY_5M, **fields: Any) -> Schedule:
    values: dict[str, Any] = {
        "id": "sched-1", "name": "digest", "namespace": "tenant", "task": "digest",
        "trigger": trigger.to_dict(), "description": "", "args": {"channel": "email"},
        "enabled": True, "next_run_at": T0, "last_run_at": None, "misfire": Misfire.ONCE,
        "misfire_grace": None, "overlap": Overlap.SKIP, "retries": None, "timeout": None,
        "priority": None, "queue": None, "jitter": None, "source": ScheduleSource.CODE,
        "parked": False, "created_at": T0, "updated_at": T0,
    }  # fmt: skip
    values.update(fields)
    return Schedule(**values)


def plan(
    now: datetime,
    trigger: Trigger = EVERY_5M,
    *,
    busy: bool = False,
    defaults: RunDefaults = RunDefaults(),
    rand: Any = no_rand,
    **fields: Any,
) -> FirePlan:
    return plan_fire(make_schedule(trigger, **fields), trigger, now, busy, defaults, rand)


def only(fire: FirePlan) -> NewRun:
    assert len(fire.runs) == 1
    return fire.runs[0]


def slots(fire: FirePlan) -> list[datetime | None]:
    return [run.scheduled_for for run in fire.runs]


# -- the plain case --------------------------------------------------------------------------


def test_on_time_fire() -> None:
    fire = plan(T0)
    run = only(fire)
    assert run.status is RunStatus.QUEUED
    assert run.error is None
    assert (run.task, run.args, run.namespace, run.schedule_id) == (
        "digest", {"channel": "email"}, "tenant", "sched-1"
    )  # fmt: skip
    assert run.scheduled_for == T0
    assert run.available_at == T0
    assert run.dedup_key == dedup_key("sched-1", T0)
    assert run.trigger_info == {"schedule": "digest", "kind": "interval"}
    assert (run.queue, run.priority, run.max_attempts, run.timeout) == ("default", 0, 1, None)
    assert fire.next_run_at == T0 + 5 * MIN
    assert fire.last_run_at == T0


def test_late_but_no_later_slot() -> None:
    fire = plan(T0 + 2 * MIN)
    assert slots(fire) == [T0]
    assert "missed" not in (only(fire).trigger_info or {})
    assert fire.next_run_at == T0 + 5 * MIN


def test_no_next_fire_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no next fire time"):
        plan(T0, next_run_at=None)


def test_a_slot_fired_early_is_planned_as_at_its_own_time() -> None:
    """Pre-firing: the slot's run is made before the slot and waits for it."""
    fire = plan(T0, next_run_at=T0 + MIN)
    run = only(fire)
    assert run.scheduled_for == T0 + MIN
    assert run.available_at == T0 + MIN
    assert run.status is RunStatus.QUEUED
    assert "missed" not in (run.trigger_info or {})
    assert fire.lead_s == 1.0  # min(1 s, a quarter of the 5 min period)


@pytest.mark.parametrize(
    ("gap", "expected"), [(timedelta(hours=1), 1.0), (timedelta(seconds=2), 0.5),
                          (timedelta(milliseconds=200), 0.05)],
)  # fmt: skip
def test_lead_is_at_most_a_quarter_of_the_period(gap: timedelta, expected: float) -> None:
    assert lead(T0 + gap, T0 + 2 * gap, T0) == pytest.approx(expected)


# -- misfire ---------------------------------------------------------------------------------


def test_misfire_once_runs_the_latest_slot_and_counts_the_rest() -> None:
    fire = plan(T0 + 12 * MIN)
    run = only(fire)
    assert run.scheduled_for == T0 + 10 * MIN
    assert run.status is RunStatus.QUEUED
    assert run.trigger_info == {"schedule": "digest", "kind": "interval", "missed": 2}
    assert fire.next_run_at == T0 + 15 * MIN
    assert fire.last_run_at == T0 + 10 * MIN


def test_misfire_once_within_grace_runs() -> None:
    run = only(plan(T0 + 12 * MIN, misfire_grace=3 * MIN))
    assert run.status is RunStatus.QUEUED


def test_misfire_once_past_grace_is_recorded_as_skipped() -> None:
    fire = plan(T0 + 12 * MIN, misfire_grace=MIN)
    run = only(fire)
    assert run.status is RunStatus.SKIPPED
    assert run.error is not None
    assert run.error["type"] == "Skipped"
    assert "misfire" in run.error["message"]
    assert run.scheduled_for == T0 + 10 * MIN
    assert run.trigger_info is not None
    assert run.trigger_info["missed"] == 2
    assert fire.next_run_at == T0 + 15 * MIN  # the schedule still moves on


def test_grace_is_exclusive() -> None:
    assert only(plan(T0 + 11 * MIN, misfire_grace=MIN)).status is RunStatus.QUEUED
    late = T0 + 11 * MIN + timedelta(microseconds=1)
    assert only(plan(late, misfire_grace=MIN)).status is RunStatus.SKIPPED


def test_misfire_skip_uses_a_default_grace() -> None:
    assert SKIP_GRACE.total_seconds() == 60
    on_time = only(plan(T0 + 10 * MIN + 30 * timedelta(seconds=1), misfire=Misfire.SKIP))
    assert on_time.status is RunStatus.QUEUED
    late = plan(T0 + 12 * MIN, misfire=Misfire.SKIP)
    assert only(late).status is RunStatus.SKIPPED
    assert only(late).scheduled_for == T0 + 10 * MIN
    assert late.next_run_at == T0 + 15 * MIN


def test_misfire_skip_with_explicit_grace() -> None:
    run = only(plan(T0 + 12 * MIN, misfire=Misfire.SKIP, misfire_grace=5 * MIN))
    assert run.status is RunStatus.QUEUED


def test_misfire_all_runs_every_due_slot() -> None:
    fire = plan(T0 + 12 * MIN, misfire=Misfire.ALL)
    assert slots(fire) == [T0, T0 + 5 * MIN, T0 + 10 * MIN]
    assert all(run.status is RunStatus.QUEUED for run in fire.runs)
    assert len({run.dedup_key for run in fire.runs}) == 3
    assert all("missed" not in (run.trigger_info or {}) for run in fire.runs)
    assert fire.next_run_at == T0 + 15 * MIN
    assert fire.last_run_at == T0 + 10 * MIN


def test_misfire_all_with_grace_skips_the_old_slots() -> None:
    fire = plan(T0 + 12 * MIN, misfire=Misfire.ALL, misfire_grace=4 * MIN)
    statuses = [run.status for run in fire.runs]
    assert statuses == [RunStatus.SKIPPED, RunStatus.SKIPPED, RunStatus.QUEUED]


def test_misfire_all_is_capped_to_the_newest_slots() -> None:
    """The older slots are not dropped unseen: one skipped run, at the first, says which."""
    trigger = IntervalTrigger(MIN)
    start = T0 - 3000 * MIN
    fire = plan(T0, trigger, misfire=Misfire.ALL, next_run_at=start)
    left_out, *runs = fire.runs
    assert len(runs) == MAX_CATCHUP
    assert runs[-1].scheduled_for == T0
    assert runs[0].scheduled_for == T0 - (MAX_CATCHUP - 1) * MIN
    assert all(run.status is RunStatus.QUEUED for run in runs)
    assert (left_out.status, left_out.scheduled_for) == (RunStatus.SKIPPED, start)
    assert left_out.error is not None
    assert left_out.error["message"] == (
        "misfire: the due slots from 2025-12-29T22:00:00.000Z to before "
        "2025-12-31T07:21:00.000Z were not run (misfire=all catches up the newest 1000)"
    )
    assert fire.next_run_at == T0 + MIN


def test_misfire_all_cap_with_cron() -> None:
    trigger = CronTrigger("* * * * *")
    fire = plan(T0, trigger, misfire=Misfire.ALL, next_run_at=T0 - 1500 * MIN)
    assert len(fire.runs) == MAX_CATCHUP + 1
    assert fire.runs[0].status is RunStatus.SKIPPED
    assert slots(fire)[1:] == [T0 - i * MIN for i in reversed(range(MAX_CATCHUP))]


def test_misfire_all_after_a_long_outage_of_a_per_second_cron() -> None:
    """A day of a per-second cron (86,400 slots) is not walked: the newest are searched back
    from now, one slot at a time."""
    trigger = CronTrigger("* * * * * *")
    fire = plan(T0, trigger, misfire=Misfire.ALL, next_run_at=T0 - timedelta(days=1))
    assert len(fire.runs) == MAX_CATCHUP + 1
    assert fire.runs[0].scheduled_for == T0 - timedelta(days=1)
    assert fire.runs[0].status is RunStatus.SKIPPED
    assert slots(fire)[1:] == [T0 - i * SEC for i in reversed(range(MAX_CATCHUP))]


@pytest.mark.parametrize("trigger", [IntervalTrigger(MIN), CronTrigger("* * * * *")])
def test_misfire_all_within_the_cap_leaves_nothing_out(trigger: Any) -> None:
    fire = plan(T0, trigger, misfire=Misfire.ALL, next_run_at=T0 - (MAX_CATCHUP - 1) * MIN)
    assert len(fire.runs) == MAX_CATCHUP
    assert {run.status for run in fire.runs} == {RunStatus.QUEUED}


def test_misfire_once_counts_a_long_interval_gap_exactly() -> None:
    trigger = IntervalTrigger(MIN)
    run = only(plan(T0, trigger, next_run_at=T0 - 3000 * MIN))
    assert run.scheduled_for == T0
    assert run.trigger_info is not None
    assert run.trigger_info["missed"] == 3000


def test_misfire_once_cron_gap_count_is_bounded() -> None:
    trigger = CronTrigger("* * * * *")
    run = only(plan(T0, trigger, next_run_at=T0 - 3000 * MIN))
    assert run.scheduled_for == T0
    assert run.trigger_info is not None
    assert MAX_CATCHUP <= run.trigger_info["missed"] <= 3000


# -- triggers --------------------------------------------------------------------------------


def test_cron_trigger_in_a_zone() -> None:
    trigger = CronTrigger("0 9 * * *", "Europe/Berlin")  # 08:00 UTC in winter
    due = datetime(2026, 1, 1, 8, tzinfo=UTC)
    fire = plan(due + timedelta(days=3, minutes=30), trigger, next_run_at=due)
    run = only(fire)
    assert run.scheduled_for == due + timedelta(days=3)
    assert run.trigger_info == {"schedule": "digest", "kind": "cron", "missed": 3}
    assert fire.next_run_at == due + timedelta(days=4)


def test_cron_every_five_minutes() -> None:
    trigger = CronTrigger("*/5 * * * *")
    fire = plan(T0 + 12 * MIN, trigger, misfire=Misfire.ALL)
    assert slots(fire) == [T0, T0 + 5 * MIN, T0 + 10 * MIN]
    assert fire.next_run_at == trigger.next_after(T0 + 10 * MIN) == T0 + 15 * MIN


def test_interval_with_start_grid() -> None:
    trigger = IntervalTrigger(5 * MIN, start=T0 + 2 * MIN)
    fire = plan(T0 + 13 * MIN, trigger, next_run_at=T0 + 2 * MIN)
    assert slots(fire) == [T0 + 12 * MIN]
    assert fire.next_run_at == T0 + 17 * MIN


def test_date_trigger_fires_once_then_is_exhausted() -> None:
    trigger = DateTrigger(T0)
    fire = plan(T0 + timedelta(hours=1), trigger)
    assert slots(fire) == [T0]
    assert only(fire).trigger_info == {"schedule": "digest", "kind": "date"}
    assert fire.next_run_at is None


@pytest.mark.parametrize("start", [None, T0], ids=["relative", "grid"])
def test_misfire_once_with_an_ended_interval_runs_the_last_slot(
    start: datetime | None, request: pytest.FixtureRequest
) -> None:
    trigger = IntervalTrigger(5 * MIN, start=start, end=T0 + 7 * MIN)
    fire = plan(T0 + 12 * MIN, trigger)
    run = only(fire)
    assert run.scheduled_for == T0 + 5 * MIN
    assert run.trigger_info is not None
    assert run.trigger_info["missed"] == 1
    assert fire.next_run_at is None


@pytest.mark.parametrize("now_offset", [0, 1, 7, 12, 29])
def test_next_run_at_is_the_slot_after_the_latest(now_offset: int) -> None:
    for trigger in (EVERY_5M, CronTrigger("*/5 * * * *")):
        fire = plan(T0 + now_offset * MIN, trigger)
        assert fire.last_run_at is not None
        assert fire.next_run_at == trigger.next_after(fire.last_run_at)
        assert fire.next_run_at is not None
        assert fire.next_run_at > T0 + now_offset * MIN


# -- overlap and serial keys -----------------------------------------------------------------


def test_overlap_skip_when_busy_records_a_skip() -> None:
    run = only(plan(T0, busy=True))
    assert run.status is RunStatus.SKIPPED
    assert run.error is not None
    assert "overlap" in run.error["message"]


def test_misfire_reason_wins_over_overlap() -> None:
    run = only(plan(T0 + 12 * MIN, busy=True, misfire_grace=MIN))
    assert run.error is not None
    assert "misfire" in run.error["message"]


@pytest.mark.parametrize(
    ("overlap", "busy", "serial"),
    [
        (Overlap.SKIP, False, None),  # nothing to wait for
        (Overlap.QUEUE, False, "sched-1"),
        (Overlap.QUEUE, True, "sched-1"),  # waits for the previous run
        (Overlap.ALLOW, False, None),
        (Overlap.ALLOW, True, None),  # runs alongside
    ],
)
def test_overlap_serial_keys(overlap: Overlap, busy: bool, serial: str | None) -> None:
    run = only(plan(T0, overlap=overlap, busy=busy))
    assert run.status is RunStatus.QUEUED
    assert run.serial_key == serial


@pytest.mark.parametrize(
    ("overlap", "serial"),
    [(Overlap.SKIP, "sched-1"), (Overlap.QUEUE, "sched-1"), (Overlap.ALLOW, None)],
)
def test_misfire_all_runs_one_at_a_time_unless_allowed(
    overlap: Overlap, serial: str | None
) -> None:
    fire = plan(T0 + 12 * MIN, misfire=Misfire.ALL, overlap=overlap)
    assert [run.serial_key for run in fire.runs] == [serial] * 3
    assert all(run.status is RunStatus.QUEUED for run in fire.runs)


# -- jitter ----------------------------------------------------------------------------------


def test_schedule_jitter_delays_availability_not_the_slot() -> None:
    run = only(plan(T0, jitter=timedelta(seconds=10), rand=lambda: 0.5))
    assert run.scheduled_for == T0
    assert run.available_at == T0 + timedelta(seconds=5)
    assert run.dedup_key == dedup_key("sched-1", T0)


def test_trigger_jitter_applies_when_the_schedule_has_none() -> None:
    trigger = IntervalTrigger(5 * MIN, jitter=timedelta(seconds=20))
    run = only(plan(T0, trigger, rand=lambda: 0.25))
    assert run.available_at == T0 + timedelta(seconds=5)
    run = only(plan(T0, trigger, jitter=timedelta(seconds=4), rand=lambda: 0.25))
    assert run.available_at == T0 + timedelta(seconds=1)  # the schedule's wins


def test_jitter_bounds() -> None:
    source = random.Random(11)
    jitter = timedelta(seconds=30)
    for _ in range(200):
        run = only(plan(T0, jitter=jitter, rand=source.random))
        assert run.available_at is not None
        assert T0 <= run.available_at < T0 + jitter
    assert only(plan(T0, jitter=jitter, rand=lambda: 0.0)).available_at == T0


def test_jitter_applies_to_each_caught_up_slot() -> None:
    fire = plan(T0 + 12 * MIN, misfire=Misfire.ALL, jitter=MIN, rand=lambda: 0.5)
    for run in fire.runs:
        assert run.scheduled_for is not None
        assert run.available_at == run.scheduled_for + 30 * timedelta(seconds=1)


# -- dedup keys ------------------------------------------------------------------------------


def test_dedup_key_is_stable_per_slot() -> None:
    first = only(plan(T0 + 11 * MIN))
    second = only(plan(T0 + 14 * MIN, busy=True, overlap=Overlap.ALLOW))
    assert first.scheduled_for == second.scheduled_for == T0 + 10 * MIN
    assert first.dedup_key == second.dedup_key
    assert only(plan(T0 + 16 * MIN)).dedup_key != first.dedup_key


def test_dedup_key_format() -> None:
    millis = round(T0.timestamp() * 1000)
    assert dedup_key("abc", T0) == f"abc@{millis}"
    assert dedup_key("abc", T0, "user:42") == f"abc@{millis}/user:42"
    assert dedup_key("abc", T0, None) == dedup_key("abc", T0)
    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))
    assert dedup_key("abc", berlin) == dedup_key("abc", T0)  # the instant, not the zone
    assert dedup_key("abc", T0 + timedelta(milliseconds=1)) != dedup_key("abc", T0)


# -- run fields from the schedule and the task defaults --------------------------------------


def test_task_defaults_fill_what_the_schedule_leaves_open() -> None:
    defaults = RunDefaults(queue="llm", priority=4, retries=3, timeout=timedelta(seconds=9))
    run = only(plan(T0, defaults=defaults))
    assert (run.queue, run.priority, run.max_attempts) == ("llm", 4, 4)
    assert run.timeout == timedelta(seconds=9)


def test_schedule_fields_win_over_task_defaults() -> None:
    defaults = RunDefaults(queue="llm", priority=4, retries=3, timeout=timedelta(seconds=9))
    run = only(
        plan(
            T0,
            defaults=defaults,
            queue="fast",
            priority=-2,
            retries=0,
            timeout=timedelta(seconds=1),
        )
    )
    assert (run.queue, run.priority, run.max_attempts) == ("fast", -2, 1)
    assert run.timeout == timedelta(seconds=1)


# -- fan-out: which runs are inserted as planned, which slots fan out ------------------------


def test_fan_out_split_fans_out_queued_slots_and_keeps_skipped_records() -> None:
    schedule = make_schedule(misfire=Misfire.ALL, misfire_grace=8 * MIN)
    fire = plan_fire(schedule, EVERY_5M, T0 + 12 * MIN, False, RunDefaults(), no_rand)
    records, fanned = split_fan_out(schedule, fire)
    assert [r.scheduled_for for r in records] == [T0]  # 12 minutes late: past the grace
    assert all(r.status is RunStatus.SKIPPED for r in records)
    assert [r.scheduled_for for r in fanned] == [T0 + 5 * MIN, T0 + 10 * MIN]
    assert all(r.status is RunStatus.QUEUED for r in fanned)


def test_fan_out_split_leaves_out_slots_fanned_out_before() -> None:
    schedule = make_schedule(misfire=Misfire.ALL, last_run_at=T0 + 5 * MIN)
    fire = FirePlan(
        [
            plan_fire(make_schedule(next_run_at=at), EVERY_5M, at, False, RunDefaults()).runs[0]
            for at in (T0, T0 + 5 * MIN, T0 + 10 * MIN)
        ],
        T0 + 15 * MIN,
    )
    records, fanned = split_fan_out(schedule, fire)
    assert records == []
    assert [r.scheduled_for for r in fanned] == [T0 + 10 * MIN]


def test_fan_out_split_of_an_overlap_skip() -> None:
    schedule = make_schedule()
    fire = plan_fire(schedule, EVERY_5M, T0, True, RunDefaults(), no_rand)
    records, fanned = split_fan_out(schedule, fire)
    assert [r.status for r in records] == [RunStatus.SKIPPED]
    assert fanned == []


def test_the_store_protocol_speaks_of_the_same_plan() -> None:
    from agentcron import store
    from agentcron.rules import firing

    assert store.FirePlan is firing.FirePlan
    assert store.Planner is firing.Planner
