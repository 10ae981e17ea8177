"""Turning a read `Phrase` into one of the existing triggers: cron, interval or date.

- Days, months or a ``-ly`` word make a `CronTrigger` in the phrase's zone; ``every other
  tuesday`` / ``every 3 weeks on monday`` one with ``every_weeks`` counted from its first
  slot after ``now`` (wall time held across DST, unlike an interval of 14 days).
- A part of the day (``every morning at 8``, ``at 6 in the evening``) moves a time written
  without am/pm into that part (``evening at 6`` is 18:00) and rejects one outside it.
- ``every <duration>`` alone makes an `IntervalTrigger` (elapsed time, like ``every 5m``);
  with days (``every 15 minutes on weekdays``) it becomes cron when it divides an hour or a
  day evenly.
- ``at <time>``, ``tomorrow``, ``next friday``, ``on <date>``, ``in <duration>`` make a
  `DateTrigger`, resolved against ``now`` in the zone by the DST policy of `resolve_local`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from agentcron.triggers._clauses import Phrase
from agentcron.triggers._phrase import Unreadable
from agentcron.triggers._time import load_zone, resolve_local
from agentcron.triggers._values import CalendarDay, Clock
from agentcron.triggers._words import duration_words
from agentcron.triggers.base import Trigger
from agentcron.triggers.cron import CronTrigger
from agentcron.triggers.date import DateTrigger
from agentcron.triggers.interval import IntervalTrigger

__all__ = ["compose"]

_DAY, _WEEK = timedelta(days=1), timedelta(weeks=1)
_MIDNIGHT = (Clock(0, 0),)
_ONCE = ("delay", "day_offset", "next_weekday", "calendar_day")
_PART_HOURS = {
    "morning": (frozenset(range(1, 12)), "01:00 to 11:59", 8),
    "afternoon": (frozenset(range(12, 18)), "12:00 to 17:59", 3),
    "evening": (frozenset(range(17, 24)), "17:00 to 23:59", 6),
    "night": (frozenset({*range(19, 24), *range(5)}), "19:00 to 04:59", 10),
}
_NAMED_DAYS = ("weekdays", "nth_weekday", "month_days", "calendar_day", "day_offset",
               "next_weekday")  # fmt: skip
_REPEATING = (
    "step", "shortcut", "weekdays", "nth_weekday", "month_days", "every_month", "every_year",
    "minute_of_hour",
)  # fmt: skip


def compose(phrase: Phrase, zone: str, now: datetime) -> Trigger:
    """The trigger ``phrase`` describes; times of day are read in ``zone``."""
    if phrase.day_part is not None:
        _place_in_day_part(phrase)
    if phrase.jitter is not None and not _is_interval(phrase):
        raise Unreadable("jitter goes with an interval, as in 'every hour jitter 30s'")
    if _is_once(phrase):
        return DateTrigger(_once(phrase, load_zone(zone), now))
    if _is_interval(phrase):
        assert phrase.step is not None
        return IntervalTrigger(phrase.step, jitter=phrase.jitter)
    if any(name in phrase.said for name in _REPEATING):
        return _cron_trigger(phrase, zone, now)
    raise Unreadable("it does not say when ('every weekday at 9am', 'at 17:00', 'in 2 hours')")


def _is_interval(phrase: Phrase) -> bool:
    said = set(phrase.said) - {"step", "jitter"}
    return phrase.step is not None and not said


def _is_once(phrase: Phrase) -> bool:
    yearly = phrase.every_year or phrase.shortcut == "yearly"
    once = [name for name in _ONCE if name in phrase.said]
    if yearly and once == ["calendar_day"]:
        return False
    repeating = [name for name in _REPEATING if name in phrase.said]
    if once and repeating:
        first, then = phrase.said[once[0]], phrase.said[repeating[0]]
        raise Unreadable(f"{first!r} is one time but {then!r} repeats")
    return bool(once) or (phrase.times is not None and not repeating)


def _place_in_day_part(phrase: Phrase) -> None:
    """Move each time into the phrase's part of the day (``evening at 6`` -> 18:00)."""
    part, said = phrase.day_part, phrase.said["day_part"]
    assert part is not None
    hours, span, example = _PART_HOURS[part]
    if phrase.times is None:
        raise Unreadable(f"{said!r} needs a time of day, as in 'every {part} at {example}'")
    placed = []
    for clock in phrase.times:
        choices = (clock.hour % 12, clock.hour % 12 + 12) if clock.either_half else (clock.hour,)
        hour = next((h for h in choices if h in hours), None)
        if hour is None:
            raise Unreadable(f"{clock} is not in the {part} ({span}), as {said!r} says")
        placed.append(Clock(hour, clock.minute, clock.second))
    phrase.times = tuple(placed)
    late = [clock for clock in placed if clock.hour < 5]
    if part == "night" and late and phrase.day_offset is not None and not phrase.weekdays:
        phrase.day_offset += 1  # "tonight at 1" is 01:00 tomorrow
    elif part == "night" and late and _names_a_day(phrase):
        raise Unreadable(
            f"{late[0]} on {said!r} is after midnight, so on the next day: name that day "
            "and time, as in 'every saturday at 1am'"
        )


def _names_a_day(phrase: Phrase) -> bool:
    return any(name in phrase.said for name in _NAMED_DAYS)


# -- one time ----------------------------------------------------------------------------------
def _once(phrase: Phrase, zone: tzinfo, now: datetime) -> datetime:
    clock = _one_time_of_day(phrase)
    today = now.astimezone(zone).date()
    if phrase.delay is not None:
        if clock is None:
            return now + phrase.delay
        return _local(today + timedelta(days=_whole_days(phrase)), clock, zone)
    if phrase.calendar_day is not None:
        return _on_day(phrase.calendar_day, clock or _MIDNIGHT[0], zone, now)
    if phrase.day_offset is None and phrase.next_weekday is None:  # "at 17:00"
        assert clock is not None
        at = _local(today, clock, zone)
        return at if at > now else _local(today + _DAY, clock, zone)
    if clock is None:
        said = phrase.said.get("day_offset") or phrase.said["next_weekday"]
        raise Unreadable(f"{said!r} needs a time of day, as in '{said} at 10'")
    if phrase.next_weekday is not None:
        ahead = (phrase.next_weekday - (today.weekday() + 1)) % 7 or 7
        return _local(today + timedelta(days=ahead), clock, zone)
    at = _local(today + timedelta(days=phrase.day_offset or 0), clock, zone)
    if at <= now:
        local = now.astimezone(zone)
        raise Unreadable(f"today at {clock} has already passed (it is {local:%H:%M} there now)")
    return at


def _one_time_of_day(phrase: Phrase) -> Clock | None:
    if phrase.times is None:
        return None
    if len(phrase.times) > 1:
        raise Unreadable(
            f"a one-time trigger has one time, got {phrase.said['times']!r}; for a daily "
            f"schedule say 'every day {phrase.said['times']}'"
        )
    return phrase.times[0]


def _whole_days(phrase: Phrase) -> int:
    assert phrase.delay is not None
    days, rest = divmod(phrase.delay, _DAY)
    if rest or not days:
        raise Unreadable(
            f"{phrase.said['delay']!r} and {phrase.said['times']!r} do not go together "
            f"('in 2 days at 9' does)"
        )
    return int(days)


def _on_day(day: CalendarDay, clock: Clock, zone: tzinfo, now: datetime) -> datetime:
    """A date's time; without a year, the first year in which it is still ahead."""
    if day.year is not None:
        return _local(date(day.year, day.month, day.day), clock, zone)
    year = now.astimezone(zone).year
    for candidate in range(year, year + 9):  # February 29 comes within 8 years
        try:
            at = _local(date(candidate, day.month, day.day), clock, zone)
        except ValueError:
            continue
        if at > now:
            return at
    raise Unreadable(f"{day.month}-{day.day} does not come again")  # pragma: no cover


def _local(day: date, clock: Clock, zone: tzinfo) -> datetime:
    wall = datetime(day.year, day.month, day.day, clock.hour, clock.minute, clock.second)
    return resolve_local(wall, zone).astimezone(UTC)


# -- repeating ---------------------------------------------------------------------------------
def _cron_trigger(phrase: Phrase, zone: str, now: datetime) -> CronTrigger:
    """The cron trigger; ``every other monday`` counts its weeks from the first slot."""
    plain = CronTrigger(_cron(phrase), zone)
    weeks = _every_weeks(phrase)
    if weeks == 1:
        return plain
    return CronTrigger(plain.expr, zone, every_weeks=weeks, start=plain.next_after(now))


def _every_weeks(phrase: Phrase) -> int:
    """N for ``every other monday`` (2), ``every 3 weeks on friday`` (3); else 1."""
    step = phrase.step
    if step is None or not _whole_weeks(step) or step == _WEEK:
        return 1
    if phrase.nth_weekday or phrase.month_days or phrase.calendar_day or phrase.every_month:
        raise Unreadable(
            f"{phrase.said['step']!r} goes with days of the week, as in 'every other monday at 9'"
        )
    return step // _WEEK


def _whole_weeks(step: timedelta) -> bool:
    return step >= _WEEK and not step % _WEEK


def _cron(phrase: Phrase) -> str:
    second, minute, hour = _clock_fields(phrase)
    fields = [minute, hour, *_day_fields(phrase)]
    return " ".join(fields if second is None else [second, *fields])


def _clock_fields(phrase: Phrase) -> tuple[str | None, str, str]:
    """``(second or None, minute, hour)``."""
    step = phrase.step
    if step is not None and step < _DAY:
        if phrase.times is not None:
            raise Unreadable(
                f"{phrase.said['step']!r} and {phrase.said['times']!r} do not go together"
            )
        return _step_fields(step, phrase)
    if step is not None and step != _DAY and not _whole_weeks(step):
        raise Unreadable(_no_cron_for(phrase.said["step"]))
    if phrase.shortcut == "hourly":
        if phrase.times is not None:
            raise Unreadable(f"'hourly' and {phrase.said['times']!r} do not go together")
        return None, str(phrase.minute_of_hour or 0), "*"
    if phrase.minute_of_hour is not None:
        raise Unreadable("a minute such as 'at :15' goes with 'every hour' or 'hourly'")
    return _time_fields(phrase.times or _default_time(phrase))


def _no_cron_for(said: str) -> str:
    return (
        f"{said!r} at a time of day cannot be written as cron (months have odd lengths): say "
        "'every day at 9', or use an interval object such as "
        "{'every': '2d', 'start': '2026-12-01T09:00'}"
    )


def _step_fields(step: timedelta, phrase: Phrase) -> tuple[str | None, str, str]:
    """``every 15 minutes`` on some days: ``*/15 * * * 1-5``; it must divide evenly."""
    minute = phrase.minute_of_hour
    if minute is not None and step != timedelta(hours=1):
        raise Unreadable("a minute such as 'at :15' goes with 'every hour' or 'hourly'")
    fields = _even_step(step, minute or 0)
    if fields is None:
        raise Unreadable(
            f"every {duration_words(step)} on particular days cannot be written as cron (the "
            "interval must divide a minute, an hour or a day evenly)"
        )
    return fields


def _even_step(step: timedelta, minute: int) -> tuple[str | None, str, str] | None:
    whole = int(step.total_seconds())
    if whole != step.total_seconds() or whole == 0:
        return None
    if whole < 60:
        return (_every_n(whole), "*", "*") if 60 % whole == 0 else None
    if whole < 3600:
        even = whole % 60 == 0 and 3600 % whole == 0
        return (None, _every_n(whole // 60), "*") if even else None
    if whole % 3600 or 86400 % whole:
        return None
    return None, str(minute), _every_n(whole // 3600)


def _every_n(count: int) -> str:
    return "*" if count == 1 else f"*/{count}"


def _default_time(phrase: Phrase) -> tuple[Clock, ...]:
    """Midnight for ``daily``, ``weekly``, ``monthly``, ``every month``... said alone."""
    days = ("weekdays", "nth_weekday", "month_days", "calendar_day")
    if phrase.shortcut is not None or not any(name in phrase.said for name in days):
        return _MIDNIGHT
    said = " ".join(dict.fromkeys(phrase.said.values()))  # a clause may set several parts
    raise Unreadable(f"{said!r} needs a time of day, as in '{said} at 9am'")


def _time_fields(times: tuple[Clock, ...]) -> tuple[str | None, str, str]:
    """Cron fires at every hour x minute combination, so the times must be such a grid."""
    hours = sorted({clock.hour for clock in times})
    minutes = sorted({clock.minute for clock in times})
    seconds = {clock.second for clock in times}
    if len(seconds) > 1 or len(set(times)) != len(hours) * len(minutes):
        listed = " and ".join(str(clock) for clock in times)
        raise Unreadable(
            f"{listed} cannot be one cron expression (it would fire at every mix of those "
            "hours and minutes): make one schedule for each time"
        )
    second = seconds.pop()
    return (
        str(second) if second else None,
        ",".join(map(str, minutes)),
        ",".join(map(str, hours)),
    )


def _day_fields(phrase: Phrase) -> list[str]:
    """``[day-of-month, month, day-of-week]``."""
    weeks = phrase.step is not None and _whole_weeks(phrase.step)
    weekly = phrase.shortcut == "weekly" or weeks
    monthly = phrase.every_month or phrase.shortcut == "monthly"
    monthly = monthly or "," in (phrase.month_days or "")  # "on the 1st and 15th" repeats
    if phrase.singular_day and not weekly:
        said = phrase.said["weekdays"]
        days = said.removeprefix("on ").removeprefix("On ")
        raise Unreadable(
            f"{said!r} could mean every {days} or just the next one: say "
            f"'every {days} at 9' or 'next {days} at 9'"
        )
    if (phrase.nth_weekday or phrase.month_days) and not monthly:
        said = phrase.said.get("month_days") or phrase.said["nth_weekday"]
        raise Unreadable(f"{said!r} of which month? say '{said} of every month'")
    dom = phrase.month_days or "*"
    dow = _weekday_field(phrase.weekdays) if phrase.weekdays else phrase.nth_weekday or "*"
    if weekly and dow == "*":
        if weeks:
            said = phrase.said["step"]
            raise Unreadable(f"{said!r} on which day? say '{said} on monday at 9'")
        dow = "0"  # like @weekly
    if monthly and dom == "*" and dow == "*":
        dom = "1"  # like @monthly
    month = "*"
    if phrase.every_year or phrase.shortcut == "yearly":
        dom, month = _year_fields(phrase)
    if dom != "*" and dow != "*":
        raise Unreadable(
            "a day of the month and a day of the week cannot be combined (cron would fire "
            "on either): make two schedules"
        )
    return [dom, month, dow]


def _year_fields(phrase: Phrase) -> tuple[str, str]:
    day = phrase.calendar_day or CalendarDay(1, 1)
    if day.year is not None:
        raise Unreadable(f"{phrase.said['calendar_day']!r} is one day, it cannot repeat yearly")
    if phrase.month_days or phrase.nth_weekday:
        raise Unreadable("'every year' goes with a date, as in 'every year on december 25 at 9'")
    return str(day.day), str(day.month)


def _weekday_field(days: frozenset[int]) -> str:
    """``1-5``, ``1,5``, ``0,6``; ``*`` for all seven (runs of three or more are ranges)."""
    ordered = sorted(days)
    if len(ordered) == 7:
        return "*"
    runs: list[list[int]] = []
    for day in ordered:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r)) for r in runs]
    return ",".join(parts)
