"""Walking a trigger's fire times: the next few, and the latest one already due."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

from agentcron.triggers._time import require_aware
from agentcron.triggers.base import Trigger
from agentcron.triggers.interval import IntervalTrigger

__all__ = ["latest_slot_at_or_before", "next_times", "period"]

# Look back from "now" over growing windows, so a frequent trigger is answered from the
# first window and a rare one from a later one, never by walking forward from `prev`.
_WINDOWS = (
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=32),
    timedelta(days=366),
)
_RESOLUTION = timedelta(microseconds=1)
_PERIOD_SLOTS = 25  # a month of a daily cron, two years of a monthly one


def period(trigger: Trigger, now: datetime) -> timedelta | None:
    """The shortest time between two consecutive fires: an interval's ``every``; for other
    triggers (cron) the shortest gap among the next slots after ``now`` (a weekday cron
    ``0 9 * * 1-5``: 1 day); None when the trigger fires fewer than twice (a date, manual,
    or per-subject trigger)."""
    if isinstance(trigger, IntervalTrigger):
        return trigger.every
    if trigger.kind != "cron":
        return None
    times = next_times(trigger, now, _PERIOD_SLOTS)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    return min(gaps, default=None)


def next_times(trigger: Trigger, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after`` (fewer if the trigger ends)."""
    times: list[datetime] = []
    cursor: datetime | None = require_aware(after, "after")
    while cursor is not None and len(times) < count:
        cursor = trigger.next_after(cursor)
        if cursor is not None:
            times.append(cursor)
    return times


def latest_slot_at_or_before(
    trigger: Trigger, prev: datetime | None, now: datetime
) -> datetime | None:
    """The latest fire time ``t`` with ``prev < t <= now``, or None.

    ``prev`` None means no lower bound, but searched triggers then look back at most 366 days.

    An interval is answered by arithmetic: with ``start`` its slots are a fixed grid; without
    ``start`` they are ``prev + k * every`` (k >= 1), and with ``prev`` None there is none.
    Other triggers (cron, date...) are searched back from ``now`` over growing windows
    (1 minute, 1 hour, 1 day, 32 days, 366 days, then all the way to ``prev``); the first
    window that holds a slot is bisected, so the cost is a few dozen `next_after` calls
    whatever the gap.
    """
    now = require_aware(now, "now")
    prev = None if prev is None else require_aware(prev, "prev")
    if isinstance(trigger, IntervalTrigger):
        return _latest_interval(trigger, prev, now)
    lower = now - _WINDOWS[-1] if prev is None else prev
    return _latest_searched(trigger, lower, now)


def _latest_interval(
    trigger: IntervalTrigger, prev: datetime | None, now: datetime
) -> datetime | None:
    if trigger.start is not None:
        slot = trigger.slot_at_or_before(now)
    elif prev is not None:
        until = now if trigger.end is None else min(now, trigger.end)
        slot = prev + ((until - prev) // trigger.every) * trigger.every if until >= prev else None
    else:
        slot = None
    return slot if slot is not None and (prev is None or slot > prev) else None


def _latest_searched(trigger: Trigger, lower: datetime, now: datetime) -> datetime | None:
    """Find a window (low, now] that holds a slot, then bisect it down to the last one."""
    for low in _window_starts(lower, now):
        first = trigger.next_after(low)
        if first is not None and first <= now:
            return _bisect_last(trigger, low, now)
    return None


def _window_starts(lower: datetime, now: datetime) -> Iterator[datetime]:
    """``now`` minus each window, stopping at ``lower``, which always comes last."""
    for window in _WINDOWS:
        if now - window <= lower:
            break
        yield now - window
    yield lower


def _bisect_last(trigger: Trigger, low: datetime, high: datetime) -> datetime | None:
    """The last slot in (low, high], given one exists. Needs a monotone ``next_after``.

    Invariant: next_after(low) <= now < next_after(high) (None counting as after).
    """
    now = high
    while high - low > _RESOLUTION:
        middle = low + (high - low) / 2
        found = trigger.next_after(middle)
        if found is not None and found <= now:
            low = middle
        else:
            high = middle
    return trigger.next_after(low)
