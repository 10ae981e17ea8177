"""Interval/date/manual fire times, next_times and latest_slot_at_or_before."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcron.triggers import (
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    ManualTrigger,
    Trigger,
    latest_slot_at_or_before,
    next_times,
    parse_trigger,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class CountingTrigger:
    """Wraps a trigger and counts next_after calls (to show the search does not walk)."""

    def __init__(self, inner: Trigger) -> None:
        self.inner = inner
        self.calls = 0
        self.kind = inner.kind
        self.jitter = inner.jitter

    def next_after(self, after: datetime) -> datetime | None:
        self.calls += 1
        return self.inner.next_after(after)

    def to_dict(self) -> dict[str, object]:
        return self.inner.to_dict()

    def describe(self) -> str:
        return self.inner.describe()


def test_interval_without_start_is_relative() -> None:
    trigger = IntervalTrigger(timedelta(minutes=5))
    after = T0 + timedelta(seconds=17)
    assert trigger.next_after(after) == after + timedelta(minutes=5)


def test_interval_with_start_is_a_grid() -> None:
    trigger = IntervalTrigger(timedelta(minutes=5), start=T0 + timedelta(seconds=10))
    assert trigger.next_after(T0) == T0 + timedelta(seconds=10)
    assert trigger.next_after(T0 + timedelta(seconds=10)) == T0 + timedelta(minutes=5, seconds=10)
    far = T0 + timedelta(days=400, seconds=11)
    assert trigger.next_after(far) == T0 + timedelta(days=400, minutes=5, seconds=10)


def test_interval_end() -> None:
    trigger = IntervalTrigger(MINUTE, start=T0, end=T0 + 3 * MINUTE)
    assert next_times(trigger, T0 - MINUTE, 10) == [
        T0,
        T0 + MINUTE,
        T0 + 2 * MINUTE,
        T0 + 3 * MINUTE,
    ]
    relative = IntervalTrigger(MINUTE, end=T0)
    assert relative.next_after(T0 - MINUTE) == T0
    assert relative.next_after(T0) is None


def test_interval_accepts_any_zone_and_answers_in_utc() -> None:
    start = datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    trigger = IntervalTrigger(timedelta(hours=1), start=start)
    result = trigger.next_after(start)
    assert result == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # one elapsed hour: 03:00 CEST
    assert result is not None
    assert result.tzinfo is UTC
    assert trigger.start is not None
    assert trigger.start.tzinfo is UTC


def test_date_trigger() -> None:
    trigger = DateTrigger(T0)
    assert trigger.next_after(T0 - timedelta(microseconds=1)) == T0
    assert trigger.next_after(T0) is None
    assert next_times(trigger, T0 - MINUTE, 5) == [T0]


def test_manual_never_fires() -> None:
    assert ManualTrigger().next_after(T0) is None
    assert next_times(ManualTrigger(), T0, 3) == []


def test_next_times_is_strictly_increasing() -> None:
    for text in ("*/5 * * * * *", "every 7s", "@hourly"):
        times = next_times(parse_trigger(text), T0, 100)
        assert len(times) == 100
        assert all(a < b for a, b in itertools.pairwise(times))
        assert times[0] > T0


def test_next_times_zero() -> None:
    assert next_times(parse_trigger("every 5m"), T0, 0) == []


def walk_to(trigger: Trigger, prev: datetime, now: datetime) -> datetime | None:
    """The slow, obvious answer: walk forward from prev."""
    latest = None
    cursor = trigger.next_after(prev)
    while cursor is not None and cursor <= now:
        latest, cursor = cursor, trigger.next_after(cursor)
    return latest


# latest_slot_at_or_before ---------------------------------------------------------------


def test_every_second_over_a_week_gap_is_arithmetic() -> None:
    trigger = IntervalTrigger(timedelta(seconds=1), start=T0)
    now = T0 + timedelta(days=7, milliseconds=500)
    assert latest_slot_at_or_before(trigger, T0, now) == T0 + timedelta(days=7)
    assert latest_slot_at_or_before(trigger, None, now) == T0 + timedelta(days=7)


def test_every_second_cron_over_a_week_gap_does_not_walk() -> None:
    trigger = CountingTrigger(CronTrigger("* * * * * *"))
    now = T0 + timedelta(days=7, milliseconds=500)
    assert latest_slot_at_or_before(trigger, T0, now) == T0 + timedelta(days=7)
    assert trigger.calls < 100  # a walk would take 604,800 calls


def test_interval_without_start_counts_from_prev() -> None:
    trigger = IntervalTrigger(timedelta(minutes=5))
    assert latest_slot_at_or_before(trigger, T0, T0 + timedelta(minutes=17)) == T0 + 15 * MINUTE
    assert latest_slot_at_or_before(trigger, T0, T0 + timedelta(minutes=4)) is None
    assert latest_slot_at_or_before(trigger, None, T0) is None


def test_interval_bounds() -> None:
    trigger = IntervalTrigger(MINUTE, start=T0, end=T0 + 10 * MINUTE)
    assert latest_slot_at_or_before(trigger, None, T0 + timedelta(hours=1)) == T0 + 10 * MINUTE
    assert latest_slot_at_or_before(trigger, T0 + 10 * MINUTE, T0 + timedelta(hours=1)) is None
    assert latest_slot_at_or_before(trigger, None, T0 - MINUTE) is None
    assert latest_slot_at_or_before(trigger, T0 + 2 * MINUTE, T0 + 2 * MINUTE) is None


@pytest.mark.parametrize(
    ("expr", "zone", "prev", "now", "expected"),
    [
        # weekdays 09:00: Monday 5 Jan 2026 to Friday 9 Jan noon
        (
            "0 9 * * 1-5",
            "UTC",
            T0.replace(day=5, hour=9),
            T0.replace(day=9, hour=12),
            T0.replace(day=9, hour=9),
        ),
        # now exactly on a slot counts; prev exactly on it does not
        ("0 9 * * *", "UTC", None, T0.replace(hour=9), T0.replace(hour=9)),
        ("0 9 * * *", "UTC", T0.replace(hour=9), T0.replace(hour=9), None),
        ("0 9 * * *", "UTC", T0.replace(hour=9), T0.replace(hour=20), None),
        # yearly, found from the 366-day window
        ("0 0 1 1 *", "UTC", None, T0.replace(month=6), T0),
        # nothing within a year back when prev is None
        ("0 0 29 2 *", "UTC", None, T0.replace(month=6), None),
        # ... but an explicit prev has no such limit
        (
            "0 0 29 2 *",
            "UTC",
            datetime(2023, 1, 1, tzinfo=UTC),
            T0.replace(month=6),
            datetime(2024, 2, 29, tzinfo=UTC),
        ),
        (
            "* * * * * *",
            "UTC",
            None,
            T0 + timedelta(seconds=5, microseconds=1),
            T0 + timedelta(seconds=5),
        ),
        (
            "* * 1 * * *",
            "UTC",
            None,
            T0.replace(day=10, hour=5),
            T0.replace(day=10, hour=1, minute=59, second=59),
        ),
        # Berlin fall-back: 02:30 fired once, as CEST (00:30 UTC); from 02:40 CET nothing new
        (
            "30 2 * * *",
            "Europe/Berlin",
            None,
            datetime(2026, 10, 25, 1, 40, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        (
            "30 2 * * *",
            "Europe/Berlin",
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 40, tzinfo=UTC),
            None,
        ),
        # Berlin spring-forward: 02:30 became 03:00 CEST (01:00 UTC)
        (
            "30 2 * * *",
            "Europe/Berlin",
            None,
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        ),
        # hourly in the repeated hour: the second 02:30 is a real slot
        (
            "30 * * * *",
            "Europe/Berlin",
            None,
            datetime(2026, 10, 25, 1, 40, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        ),
    ],
)
def test_latest_cron_slot(
    expr: str, zone: str, prev: datetime | None, now: datetime, expected: datetime | None
) -> None:
    assert latest_slot_at_or_before(CronTrigger(expr, zone), prev, now) == expected


@pytest.mark.parametrize(
    ("expr", "gaps_days"),
    [
        ("*/7 * * * *", (0.01, 0.3, 2, 9)),
        ("0 9 * * 1-5", (0.3, 2, 9, 40)),
        ("0 0 L * *", (2, 9, 40, 100)),
        ("0 12 * * MON#2", (2, 40, 100, 400)),
        ("30 2 * * *", (0.3, 2, 9, 40)),
        ("*/13 * * * * *", (0.0001, 0.01, 0.3)),
    ],
)
def test_latest_cron_slot_matches_a_forward_walk(expr: str, gaps_days: tuple[float, ...]) -> None:
    trigger = CronTrigger(expr, "Europe/Berlin")
    prev = datetime(2026, 9, 20, 7, 3, 11, tzinfo=UTC)
    for days in gaps_days:
        now = prev + timedelta(days=days)
        assert latest_slot_at_or_before(trigger, prev, now) == walk_to(trigger, prev, now)


def test_latest_date_and_manual() -> None:
    at = DateTrigger(T0)
    assert latest_slot_at_or_before(at, None, T0 + MINUTE) == T0
    assert latest_slot_at_or_before(at, T0 - MINUTE, T0) == T0
    assert latest_slot_at_or_before(at, T0, T0 + MINUTE) is None
    assert latest_slot_at_or_before(at, None, T0 - MINUTE) is None
    assert latest_slot_at_or_before(ManualTrigger(), None, T0) is None


def test_latest_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_slot_at_or_before(ManualTrigger(), None, datetime(2026, 1, 1))
