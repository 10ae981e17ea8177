"""Cron triggers: DST policy, calendar oddities, agreement with cronsim and croniter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from cronsim import CronSim

from agentcron.triggers import CronTrigger, next_times


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires_on(trigger: CronTrigger, day: date) -> list[datetime]:
    """The fire times whose local date (in the trigger's zone) is ``day``."""
    zone = ZoneInfo(trigger.timezone)
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), zone)
    times = next_times(trigger, start, 200)
    return [t for t in times if t.astimezone(zone).date() == day]


# 2026 transitions. Berlin: 29 Mar 02:00 CET -> 03:00 CEST, 25 Oct 03:00 CEST -> 02:00 CET.
# New York: 8 Mar 02:00 EST -> 03:00 EDT, 1 Nov 02:00 EDT -> 01:00 EST.
DST_DAYS = [
    # zone, day, daily expression, the one expected fire (UTC), what it is locally
    ("Europe/Berlin", date(2026, 3, 29), "30 2 * * *", utc(2026, 3, 29, 1, 0)),  # 03:00 CEST
    ("Europe/Berlin", date(2026, 10, 25), "30 2 * * *", utc(2026, 10, 25, 0, 30)),  # 02:30 CEST
    ("America/New_York", date(2026, 3, 8), "30 2 * * *", utc(2026, 3, 8, 7, 0)),  # 03:00 EDT
    ("America/New_York", date(2026, 11, 1), "30 2 * * *", utc(2026, 11, 1, 7, 30)),  # 02:30 EST
    ("America/New_York", date(2026, 11, 1), "30 1 * * *", utc(2026, 11, 1, 5, 30)),  # 01:30 EDT
    # the same with seconds (6 fields): cronsim alone skips / doubles these
    ("Europe/Berlin", date(2026, 3, 29), "0 30 2 * * *", utc(2026, 3, 29, 1, 0)),
    ("Europe/Berlin", date(2026, 10, 25), "0 30 2 * * *", utc(2026, 10, 25, 0, 30)),
    ("America/New_York", date(2026, 3, 8), "15 30 2 * * *", utc(2026, 3, 8, 7, 0)),
    ("America/New_York", date(2026, 11, 1), "0 30 1 * * *", utc(2026, 11, 1, 5, 30)),
]


@pytest.mark.parametrize(("zone", "day", "expr", "expected"), DST_DAYS)
def test_daily_wall_clock_job_fires_once_on_dst_days(
    zone: str, day: date, expr: str, expected: datetime
) -> None:
    trigger = CronTrigger(expr, zone)
    assert fires_on(trigger, day) == [expected]
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        assert len(fires_on(trigger, other)) == 1


def test_raw_cronsim_with_seconds_needs_the_guard() -> None:
    """Measured: cronsim 2.8 applies its DST fix-up only to 5-field expressions."""
    berlin = ZoneInfo("Europe/Berlin")
    fall = CronSim("0 30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=berlin))
    assert [next(fall).astimezone(UTC) for _ in range(2)] == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),  # 02:30 CET, the repeat: the trigger does not fire here
    ]
    spring = CronSim("0 30 2 * * *", datetime(2026, 3, 28, 12, tzinfo=berlin))
    assert next(spring).astimezone(UTC) == utc(2026, 3, 30, 0, 30)  # 29 March skipped


@pytest.mark.parametrize("expr", ["0,30 2 * * *", "*/30 2 * * *", "0 0,30 2 * * *"])
def test_gap_collapses_several_wall_times_into_one_fire(expr: str) -> None:
    trigger = CronTrigger(expr, "Europe/Berlin")
    assert fires_on(trigger, date(2026, 3, 29)) == [utc(2026, 3, 29, 1, 0)]
    assert fires_on(trigger, date(2026, 10, 25)) == [utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30)]


def test_after_inside_the_repeated_hour_moves_on() -> None:
    """From 02:10 CET (the second 02:10), 02:30 has already fired as CEST: next is the day after."""
    trigger = CronTrigger("30 2 * * *", "Europe/Berlin")
    assert trigger.next_after(utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 26, 1, 30)
    every_minute = CronTrigger("* 2 * * *", "Europe/Berlin")
    assert every_minute.next_after(utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 26, 1, 0)


HOURLY_WINDOWS = [
    ("Europe/Berlin", utc(2026, 3, 28, 20)),
    ("Europe/Berlin", utc(2026, 10, 24, 20)),
    ("America/New_York", utc(2026, 3, 8, 2)),
    ("America/New_York", utc(2026, 11, 1, 2)),
]


@pytest.mark.parametrize(("zone", "start"), HOURLY_WINDOWS)
@pytest.mark.parametrize("expr", ["30 * * * *", "0 30 * * * *", "30 */1 * * *"])
def test_hourly_fires_on_every_real_hour(zone: str, start: datetime, expr: str) -> None:
    """Measured: hour-`*` expressions run on elapsed time, in the repeated hour too."""
    times = next_times(CronTrigger(expr, zone), start, 12)
    assert times == [start + timedelta(minutes=30) + timedelta(hours=i) for i in range(12)]


@pytest.mark.parametrize(("zone", "start"), HOURLY_WINDOWS)
def test_every_20_minutes_runs_on_elapsed_time(zone: str, start: datetime) -> None:
    times = next_times(CronTrigger("*/20 * * * *", zone), start, 36)
    assert times == [start + timedelta(minutes=20 * (i + 1)) for i in range(36)]


SWEEP_EXPRS = [
    "30 2 * * *",
    "0 30 2 * * *",
    "0,30 1-3 * * *",
    "*/30 2 * * *",
    "15 30 2 * * *",
    "30 * * * *",
    "*/20 * * * *",
    "0 0-23/2 * * *",
    "0 */2 * * *",
]
SWEEP_WINDOWS = [
    ("Europe/Berlin", utc(2026, 3, 28, 20)),
    ("Europe/Berlin", utc(2026, 10, 24, 20)),
    ("America/New_York", utc(2026, 3, 8, 2)),
    ("America/New_York", utc(2026, 11, 1, 2)),
]


@pytest.mark.parametrize(("zone", "start"), SWEEP_WINDOWS)
@pytest.mark.parametrize("expr", SWEEP_EXPRS)
def test_next_after_is_one_fixed_set_of_instants(zone: str, start: datetime, expr: str) -> None:
    """From any instant, next_after is the first fire of one sequence: strictly later,
    never repeated, and monotone (what latest_slot_at_or_before's bisection relies on)."""
    trigger = CronTrigger(expr, zone)
    reference = next_times(trigger, start, 400)
    assert reference == sorted(set(reference))
    end = start + timedelta(hours=12)
    probe = start
    while probe < end:
        expected = next(t for t in reference if t > probe)
        assert trigger.next_after(probe) == expected, probe
        probe += timedelta(minutes=6, seconds=7)


def test_next_after_returns_utc_for_any_input_zone() -> None:
    trigger = CronTrigger("0 9 * * *", "Asia/Tokyo")
    after = datetime(2026, 6, 1, 12, tzinfo=ZoneInfo("America/Los_Angeles"))
    result = trigger.next_after(after)
    assert result == utc(2026, 6, 2, 0)  # 19:00 UTC is 04:00 in Tokyo; 09:00 JST next
    assert result is not None
    assert result.tzinfo is UTC


def test_leap_day() -> None:
    trigger = CronTrigger("0 0 29 2 *")
    assert trigger.next_after(utc(2026, 1, 1)) == utc(2028, 2, 29)
    assert next_times(trigger, utc(2026, 1, 1), 3) == [
        utc(2028, 2, 29),
        utc(2032, 2, 29),
        utc(2036, 2, 29),
    ]


def test_last_day_of_month() -> None:
    times = next_times(CronTrigger("0 12 L * *"), utc(2026, 1, 15), 4)
    assert times == [
        utc(2026, 1, 31, 12),
        utc(2026, 2, 28, 12),
        utc(2026, 3, 31, 12),
        utc(2026, 4, 30, 12),
    ]


def test_nth_weekday() -> None:
    times = next_times(CronTrigger("0 9 * * MON#2", "Europe/Berlin"), utc(2026, 1, 1), 3)
    assert times == [utc(2026, 1, 12, 8), utc(2026, 2, 9, 8), utc(2026, 3, 9, 8)]


def test_last_weekday_of_month() -> None:
    times = next_times(CronTrigger("0 9 * * 5L"), utc(2026, 1, 1), 2)
    assert times == [utc(2026, 1, 30, 9), utc(2026, 2, 27, 9)]


def test_sub_second_after_still_moves_forward() -> None:
    trigger = CronTrigger("* * * * * *")
    after = utc(2026, 1, 1) + timedelta(microseconds=999_999)
    assert trigger.next_after(after) == utc(2026, 1, 1, 0, 0, 1)


def test_far_future_ends() -> None:
    assert CronTrigger("0 0 1 1 *").next_after(datetime(9999, 12, 31, 12, tzinfo=UTC)) is None


# (cronsim / agentcron expression, croniter expression or None when the same)
CROSS_CHECK = [
    ("* * * * *", None),
    ("*/7 * * * *", None),
    ("0 * * * *", None),
    ("15,45 */2 * * *", None),
    ("0 9 * * 1-5", None),
    ("30 18 * * SAT,SUN", None),
    ("0 0 1 * *", None),
    ("0 0 L * *", None),
    ("0 12 * * MON#2", None),
    ("0 9 * * 5L", "0 9 * * L5"),
    ("5 4 * * 0", None),
    ("23 0-20/2 * * *", None),
    ("0 0 1,15 * 3", None),
    ("0 0 * JAN,JUL *", None),
    ("*/15 * * * * *", None),
    ("0 30 9 * * 1-5", None),
    ("0 0 29 2 *", None),
]


@pytest.mark.parametrize(("expr", "croniter_expr"), CROSS_CHECK)
def test_agrees_with_cronsim_and_croniter_in_utc(expr: str, croniter_expr: str | None) -> None:
    start = utc(2026, 1, 1, 0, 0, 30)
    ours = next_times(CronTrigger(expr), start, 50)
    sim = CronSim(expr, start)
    assert ours == [next(sim) for _ in range(50)]
    other = croniter(croniter_expr or expr, start, second_at_beginning=len(expr.split()) == 6)
    assert ours == [other.get_next(datetime) for _ in range(50)]
