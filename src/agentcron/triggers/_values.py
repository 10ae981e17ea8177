"""The values inside a natural-language phrase: times of day, durations, dates, day lists.

Each reader takes a `Words` cursor and returns the value, moving the cursor past it, or
returns None and leaves the cursor where it was. A reader raises `Unreadable` when the
words are clearly its kind but wrong (``25:00``, ``february 30``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from agentcron.durations import parse_duration
from agentcron.errors import InvalidDuration
from agentcron.triggers._phrase import (
    DAYS,
    MONTHS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    UNITS,
    Unreadable,
    Words,
)

__all__ = [
    "CalendarDay",
    "Clock",
    "ordinal",
    "read_clock",
    "read_clocks",
    "read_date",
    "read_days",
    "read_span",
]

_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2})(?::(\d{2}))?)?(am|pm)?")
_NAMED_TIMES = {"noon": (12, 0), "midday": (12, 0), "midnight": (0, 0)}
_PARTS_OF_HOUR = {"half": 30, "quarter": 15}
_FRACTIONS = {"half": 2, "quarter": 4}
_ORDINAL_NUMBER = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")
_COMPACT_SPAN = re.compile(r"(\d+(\.\d+)?(ms|s|m|h|d|w))+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_YEAR = re.compile(r"\d{4}")
_WEEKDAYS = frozenset(range(1, 6))
_WEEKEND = frozenset({0, 6})


@dataclass(frozen=True)
class Clock:
    """A wall-clock time of day. ``either_half``: written without am/pm as an hour from 1 to
    12 (``at 6``, ``6:30``, ``half past 6``), so a part of the day (``in the evening``) may
    move it to the afternoon half."""

    hour: int
    minute: int
    second: int = 0
    either_half: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        text = f"{self.hour:02d}:{self.minute:02d}"
        return f"{text}:{self.second:02d}" if self.second else text


@dataclass(frozen=True)
class CalendarDay:
    """A day of the year, with or without its year."""

    month: int
    day: int
    year: int | None = None


def clock_token(word: str, *, bare: bool) -> Clock | None:
    """``9am``, ``9:30pm``, ``21:15``, ``noon``; a plain ``9`` only when ``bare``."""
    if word in _NAMED_TIMES:
        return Clock(*_NAMED_TIMES[word])
    match = _TIME.fullmatch(word)
    if not match or (not bare and match[2] is None and match[4] is None):
        return None
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise Unreadable(f"{word!r} is not a time of day (with am/pm the hour is 1-12)")
        hour = hour % 12 + (12 if match[4] == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise Unreadable(f"{word!r} is not a time of day (use 00:00 to 23:59)")
    either = not match[4] and 1 <= hour <= 12 and not match[1].startswith("0")
    return Clock(hour, minute, second, either_half=either)


def read_clock(words: Words, *, bare: bool) -> Clock | None:
    """A time of day: ``9am``, ``21:15``, ``noon``, ``9 o'clock``, ``half past 8``."""
    relative = _relative_clock(words)
    if relative is not None:
        return relative
    clock = clock_token(words.peek(), bare=bare or words.peek(1) == "oclock")
    if clock is None:
        return None
    words.take()
    words.accept("oclock")
    return clock


def read_clocks(words: Words, *, bare: bool) -> tuple[Clock, ...]:
    """One or more times: ``9am and 5pm``, ``9, 12 and 17``."""
    first = read_clock(words, bare=bare)
    if first is None:
        return ()
    clocks = [first]
    while True:
        mark = words.pos
        if not words.accept("and", ","):
            break
        clock = read_clock(words, bare=True)
        if clock is None:
            words.pos = mark
            break
        clocks.append(clock)
    return tuple(clocks)


def _relative_clock(words: Words) -> Clock | None:
    """``half past 8`` (08:30), ``quarter to 5`` (04:45), ``20 past 9``, ``10 minutes to 6``."""
    mark = words.pos
    word = words.take()
    minutes = _PARTS_OF_HOUR.get(word, int(word) if word.isdigit() else None)
    if minutes is not None and word.isdigit():
        words.accept("minutes", "minute", "min", "mins")
    if minutes is None or words.peek() not in ("past", "after", "to", "before"):
        words.pos = mark
        return None
    before = words.take() in ("to", "before")
    hour_word = words.peek()
    base = clock_token(hour_word, bare=True)
    if base is None or base.minute or base.second or minutes >= 60:
        raise Unreadable(f"could not tell the time in {words.said(mark, words.pos + 1)!r}")
    words.take()
    hour = (base.hour or 24) if before else base.hour  # "quarter to midnight" is 23:45
    total = hour * 60 + (-minutes if before else minutes)
    return Clock(total // 60, total % 60, either_half=base.either_half)


def read_span(words: Words) -> timedelta | None:
    """A duration in words: ``2 hours``, ``two hours``, ``an hour and 30 minutes``, ``1h30m``."""
    total = _span_part(words)
    if total is None:
        return None
    while True:
        mark = words.pos
        words.accept("and", ",")
        part = _span_part(words)
        if part is None:
            words.pos = mark
            return total
        total += part


def _span_part(words: Words) -> timedelta | None:
    mark = words.pos
    word = words.take()
    if _COMPACT_SPAN.fullmatch(word):
        try:
            return parse_duration(word)
        except InvalidDuration as exc:
            raise Unreadable(exc.message) from None
    if word in _FRACTIONS:  # "half an hour", "half a day", "quarter hour", "quarter of an hour"
        words.accept("of")
        words.accept("a", "an")
        unit = UNITS.get(words.take())
        if unit is not None:
            return unit / _FRACTIONS[word]
    elif (count := _count(word)) is not None and (unit := UNITS.get(words.take())) is not None:
        return count * unit
    words.pos = mark
    return None


def _count(word: str) -> float | None:
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    return float(word) if re.fullmatch(r"\d+(\.\d+)?", word) else None


def ordinal(word: str) -> int | None:
    """``first``/``1st`` -> 1, ``15th`` -> 15, ``last`` -> -1; None for other words."""
    if word in ORDINAL_WORDS:
        return ORDINAL_WORDS[word]
    match = _ORDINAL_NUMBER.fullmatch(word)
    return int(match[1]) if match else None


def read_days(words: Words) -> tuple[frozenset[int], bool] | None:
    """Days of the week: ``weekdays``, ``monday and friday``, ``sat, sun``.

    Returns the cron day numbers and whether every name was plural (``mondays``).
    """
    found = _day_group(words)
    if found is None:
        return None
    days, plural = found
    while True:
        mark = words.pos
        if not words.accept("and", ","):
            break
        more = _day_group(words)
        if more is None:
            words.pos = mark
            break
        days, plural = days | more[0], plural and more[1]
    return days, plural


def _day_group(words: Words) -> tuple[frozenset[int], bool] | None:
    word = words.peek()
    if "-" in word and all(part in DAYS for part in word.split("-", 1)):  # "mon-fri"
        first, _, last = word.partition("-")
        words.take()
        return _day_range(DAYS[first], DAYS[last]), True  # a range repeats
    if word in DAYS and words.peek(1) in ("to", "through", "thru") and words.peek(2) in DAYS:
        words.take()
        words.take()
        return _day_range(DAYS[word], DAYS[words.take()]), True
    if word in ("weekday", "weekdays"):
        found = _WEEKDAYS, word.endswith("s")
    elif word in ("weekend", "weekends"):
        found = _WEEKEND, word.endswith("s")
        if words.peek(1) in ("day", "days"):  # "weekend days"
            words.take()
    elif word in DAYS:
        found = frozenset({DAYS[word]}), False
    elif word.endswith("s") and len(word) > 6 and word[:-1] in DAYS:  # "mondays"
        found = frozenset({DAYS[word[:-1]]}), True
    else:
        return None
    words.take()
    return found


def _day_range(first: int, last: int) -> frozenset[int]:
    """``monday to friday``; ``friday to monday`` wraps over the weekend."""
    return frozenset((first + step) % 7 for step in range((last - first) % 7 + 1))


def read_date(words: Words) -> CalendarDay | None:
    """``2026-12-01``, ``december 1``, ``dec 1st 2026``, ``1 december``, ``1st of december``."""
    mark = words.pos
    word = words.take()
    if match := _ISO_DATE.fullmatch(word):
        return _checked(CalendarDay(int(match[2]), int(match[3]), int(match[1])), word)
    if word in MONTHS:
        day = _day_number(words.peek())
        if day is not None:
            words.take()
            return _with_year(words, CalendarDay(MONTHS[word], day), mark)
    elif (day := _day_number(word)) is not None:
        words.accept("of")
        if words.peek() in MONTHS:
            return _with_year(words, CalendarDay(MONTHS[words.take()], day), mark)
    words.pos = mark
    return None


def _day_number(word: str) -> int | None:
    if word.isdigit() and len(word) <= 2:
        return int(word)
    number = ordinal(word)
    return number if number is not None and number > 0 else None


def _with_year(words: Words, day: CalendarDay, mark: int) -> CalendarDay:
    after_comma = words.peek(1) if words.peek() == "," else ""
    if _YEAR.fullmatch(words.peek()) or _YEAR.fullmatch(after_comma):
        words.accept(",")
        day = CalendarDay(day.month, day.day, int(words.take()))
    return _checked(day, words.said(mark))


def _checked(day: CalendarDay, said: str) -> CalendarDay:
    try:
        date(2000 if day.year is None else day.year, day.month, day.day)  # 2000: a leap year
    except ValueError:
        raise Unreadable(f"{said!r} is not a date") from None
    return day
