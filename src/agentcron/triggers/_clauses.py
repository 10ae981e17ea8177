"""Reading a natural-language phrase into its parts (`Phrase`), clause by clause.

A phrase is a run of clauses in any order: ``every weekday`` / ``on mondays`` (which days),
``at 9am`` (when in the day), ``first monday of every month``, ``every 15 minutes``,
``tomorrow`` / ``next friday`` / ``on 2026-12-01`` / ``in 2 hours`` (one time), ``daily``...
Each clause reader takes the cursor and returns the parts it names, or None when the words
ahead are not its clause. `_compose` turns the parts into a trigger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta

from agentcron.triggers._phrase import (
    DAY_PARTS,
    DAYS,
    EXAMPLES,
    MONTHS,
    SHORTCUTS,
    UNITS,
    NotUnderstood,
    Unreadable,
    Words,
)
from agentcron.triggers._values import (
    CalendarDay,
    Clock,
    ordinal,
    read_clocks,
    read_date,
    read_days,
    read_span,
)

__all__ = ["Phrase", "read_phrase"]

_AT_EXAMPLES = ("at 17:00", "tomorrow at 10", "at 2026-12-01T09:00:00+01:00")
_DAY, _WEEK = UNITS["day"], UNITS["week"]


@dataclass
class Phrase:
    """What a phrase said; None (or False) for what it did not."""

    times: tuple[Clock, ...] | None = None
    minute_of_hour: int | None = None
    weekdays: frozenset[int] | None = None
    singular_day: bool = False
    nth_weekday: str | None = None
    month_days: str | None = None
    every_month: bool = False
    every_year: bool = False
    calendar_day: CalendarDay | None = None
    step: timedelta | None = None
    shortcut: str | None = None
    day_offset: int | None = None
    next_weekday: int | None = None
    delay: timedelta | None = None
    jitter: timedelta | None = None
    day_part: str | None = None
    said: dict[str, str] = field(default_factory=dict, compare=False)
    """Which words set each part, for messages."""

    def merge(self, part: Phrase, words: str) -> None:
        """Take the parts ``part`` sets; a part said twice is an error."""
        for item in fields(self):
            value = getattr(part, item.name)
            if item.name == "said" or value is None or value is False:
                continue
            if item.name in self.said:
                earlier = self.said[item.name]
                raise Unreadable(
                    f"it says both {earlier!r} and {words!r}: one phrase is one schedule, "
                    "so say it once (or make two schedules)"
                )
            setattr(self, item.name, value)
            self.said[item.name] = words


Clause = Callable[[Words], Phrase | None]


def read_phrase(words: Words) -> Phrase:
    """All clauses to the end, or `Unreadable` at the first words that fit none."""
    phrase = Phrase()
    while not words.done:
        if words.accept("and", ","):
            continue
        start = words.pos
        for clause in CLAUSES:
            part = clause(words)
            if part is not None:
                phrase.merge(part, words.said(start))
                break
        else:
            raise NotUnderstood(_unexpected(words), examples=EXAMPLES)
    return phrase


def _unexpected(words: Words) -> str:
    understood = words.said(0)
    if understood:
        return f"understood {understood!r} but not what follows: {words.next_said()}"
    return f"did not understand how it starts: {words.next_said()}"


def _every(words: Words) -> Phrase | None:
    """``every weekday``, ``every 15 minutes``, ``every hour``, ``every other day``..."""
    if not words.accept("every", "each"):
        return None
    if words.accept("other"):
        return _every_nth(words, 2, "every other")
    nth = ordinal(words.peek())
    if nth and nth > 1 and words.peek(1) in UNITS and words.peek(2) != "of":  # "every 3rd day"
        words.take()
        return _every_nth(words, nth, "every " + words.said(words.pos - 1))
    if nth is not None and (words.peek() != "second" or _names_a_day(words.peek(1))):
        return _every_month_position(words)  # "every first monday", "every 15th"
    return _every_period(words)


def _every_period(words: Words) -> Phrase:
    """What follows ``every`` when no ordinal does: days, a span, a unit, a date..."""
    days = read_days(words)
    if days is not None:
        return Phrase(weekdays=days[0], day_part=_day_part(words)[0])
    span = read_span(words)
    if span is not None:
        return Phrase(step=span)
    phrase = _every_word(words)
    if phrase is not None:
        return phrase
    raise NotUnderstood(
        f"expected days ('every weekday', 'every monday and friday') or an interval "
        f"('every 15 minutes', 'every hour') after 'every', got {words.next_said()}",
        examples=EXAMPLES,
    )


def _every_word(words: Words) -> Phrase | None:
    """``every morning``, ``every hour``, ``every month``, ``every march 3``..."""
    word = words.peek()
    if word in DAY_PARTS:  # "every morning": every day, in the morning
        words.take()
        return Phrase(step=_DAY, day_part=DAY_PARTS[word])
    if word in UNITS:
        words.take()
        return Phrase(step=UNITS[word])
    if word in ("month", "year"):
        words.take()
        return Phrase(every_month=True) if word == "month" else Phrase(every_year=True)
    if word in MONTHS:
        day = read_date(words)
        if day is not None:
            return Phrase(calendar_day=day, every_year=True)
    return None


def _names_a_day(word: str) -> bool:
    return word in DAYS or word == "weekday"


def _every_nth(words: Words, count: int, said: str) -> Phrase:
    days = read_days(words)
    if days is not None:  # "every other tuesday": those days, in every other week
        return Phrase(weekdays=days[0], step=count * _WEEK, day_part=_day_part(words)[0])
    unit = UNITS.get(words.peek())
    if unit is None:
        raise Unreadable(
            f"'{said} {words.peek()}' cannot be written as cron: only minutes, hours, days, "
            "weeks and days of the week can be skipped ('every other day' is an interval, "
            "'every other monday at 9' fires in every other week)"
        )
    words.take()
    return Phrase(step=count * unit)


def _day_part(words: Words) -> tuple[str | None, bool]:
    """An optional ``morning``/``mornings``... after days: the part, and whether plural."""
    word = words.peek()
    if word not in DAY_PARTS:
        return None, False
    words.take()
    return DAY_PARTS[word], word.endswith("s")


def _every_month_position(words: Words) -> Phrase:
    """``every first monday`` (of the month), ``every 15th``, ``every last day``."""
    mark = words.pos - 1
    part = _month_position(words)
    assert part is not None
    if not part.every_month and words.tokens[mark + 1].text == "second":
        day = words.tokens[mark + 2].text if len(words.tokens) > mark + 2 else "tuesday"
        raise Unreadable(
            f"{words.said(mark)!r} could mean every other week or the second one in each "
            f"month: say 'every other {day}' or 'second {day} of every month'"
        )
    part.every_month = True
    return part


def _on(words: Words) -> Phrase | None:
    """``on weekdays``, ``on mondays``, ``on the 15th``, ``on 2026-12-01``, ``on december 1``."""
    if not words.accept("on"):
        return None
    days = read_days(words)
    if days is not None:  # "on mondays", "on monday mornings" repeat; "on monday" is unclear
        part, plural = _day_part(words)
        return Phrase(weekdays=days[0], singular_day=not (days[1] or plural), day_part=part)
    day = read_date(words)
    if day is not None:
        return Phrase(calendar_day=day)
    position = _month_position(words)
    if position is not None:
        return position
    raise NotUnderstood(
        f"expected days ('on weekdays'), a day of the month ('on the 15th') or a date "
        f"('on 2026-12-01') after 'on', got {words.next_said()}",
        examples=EXAMPLES,
    )


def _month_position(words: Words) -> Phrase | None:
    """``first monday``, ``last day``, ``15th``, ``1st and 15th`` [``of every month``]."""
    first = ordinal(words.peek())
    if first is None:
        return None
    mark = words.pos
    words.take()
    if _names_a_day(words.peek()):
        day = words.take()
        part = _nth_weekday(first, day, words.said(mark))
    else:
        words.accept("day")
        part = Phrase(month_days=_month_days(words, first, mark))
    if words.accept("of"):
        words.accept("every", "each")
        if not words.accept("month"):
            raise NotUnderstood(f"expected 'of every month' after {words.said(mark)!r}")
        part.every_month = True
    return part


def _nth_weekday(nth: int, day: str, said: str) -> Phrase:
    if day == "weekday":
        if nth == -1:
            return Phrase(month_days="LW")
        raise Unreadable(f"{said!r} is not supported; 'last weekday of every month' is")
    if nth == -1:
        return Phrase(nth_weekday=f"{DAYS[day]}L")
    if not 1 <= nth <= 5:
        raise Unreadable(f"{said!r}: a month has at most five of each day")
    return Phrase(nth_weekday=f"{DAYS[day]}#{nth}")


def _month_days(words: Words, first: int, mark: int) -> str:
    days = [first]
    while words.peek() in ("and", ",") and ordinal(words.peek(1)) is not None:
        words.take()
        days.append(ordinal(words.take()) or 0)
        words.accept("day")
    if -1 in days:
        if len(days) > 1:
            raise Unreadable(f"{words.said(mark)!r}: 'last day' must be said on its own")
        return "L"
    if any(not 1 <= day <= 31 for day in days):
        raise Unreadable(f"{words.said(mark)!r}: a day of the month is 1st to 31st")
    return ",".join(str(day) for day in sorted(set(days)))


def _at(words: Words) -> Phrase | None:
    """``at 9am``, ``at 9:30 and 17:00``, ``at half past 8``, ``at :15`` (every hour)."""
    if not words.accept("at"):
        return None
    word = words.peek()
    if word.startswith(":") and word[1:].isdigit():
        words.take()
        if int(word[1:]) > 59:
            raise Unreadable(f"{word!r} is not a minute of the hour (use :00 to :59)")
        return Phrase(minute_of_hour=int(word[1:]))
    day = read_date(words)  # "at 2026-12-01 9am"
    if day is not None:
        return Phrase(calendar_day=day)
    times = read_clocks(words, bare=True)
    if not times:
        got = words.next_said()
        raise NotUnderstood(
            f"{got} is not a time of day and not an ISO 8601 time", examples=_AT_EXAMPLES
        )
    return Phrase(times=times)


def _bare_times(words: Words) -> Phrase | None:
    """A time without ``at`` that cannot be anything else: ``9am``, ``noon``, ``21:15``."""
    times = read_clocks(words, bare=False)
    return Phrase(times=times) if times else None


def _in(words: Words) -> Phrase | None:
    """``in 2 hours``, ``in an hour``, ``in half an hour``, ``in 3 days`` (with ``at``)."""
    if not words.accept("in"):
        return None
    if words.peek() in DAY_PARTS:  # "at 8 in the morning"
        return Phrase(day_part=DAY_PARTS[words.take()])
    span = read_span(words)
    if span is None:
        raise NotUnderstood(
            f"expected a duration after 'in', got {words.next_said()}",
            examples=("in 2 hours", "in 30 minutes", "in half an hour"),
        )
    return Phrase(delay=span)


def _day(words: Words) -> Phrase | None:
    """``today``, ``tomorrow`` [``morning``], ``tonight``, ``this evening``, ``next friday``."""
    word = words.peek()
    if word in ("today", "tomorrow", "tonight"):
        words.take()
        if word == "tonight":
            return Phrase(day_offset=0, day_part="night")
        return Phrase(day_offset=0 if word == "today" else 1, day_part=_day_part(words)[0])
    if words.accept("this"):
        part = _day_part(words)[0]
        if part is None:
            raise NotUnderstood(
                f"expected morning, afternoon, evening or night after 'this', got "
                f"{words.next_said()}",
                examples=("this evening at 6",),
            )
        return Phrase(day_offset=0, day_part=part)
    if not words.accept("next"):
        return None
    if words.peek() not in DAYS:
        raise NotUnderstood(
            f"expected a day after 'next', got {words.next_said()}",
            examples=("next friday at 9am",),
        )
    day = DAYS[words.take()]
    return Phrase(next_weekday=day, day_part=_day_part(words)[0])


def _part_of_day(words: Words) -> Phrase | None:
    """``mornings`` (every day); ``morning`` alone is unclear (which one?)."""
    word = words.peek()
    if word not in DAY_PARTS:
        return None
    words.take()
    part = DAY_PARTS[word]
    if word.endswith("s"):
        return Phrase(step=_DAY, day_part=part)
    raise Unreadable(
        f"{words.said(words.pos - 1)!r} could mean every {part} or the next one: say "
        f"'every {part} at ...' or 'tomorrow {part} at ...'"
    )


def _shortcut(words: Words) -> Phrase | None:
    """``hourly``, ``daily``, ``weekly``, ``monthly``, ``yearly``/``annually``."""
    word = words.peek()
    if word not in SHORTCUTS:
        return None
    words.take()
    return Phrase(shortcut=SHORTCUTS[word])


def _date(words: Words) -> Phrase | None:
    """A date without ``on``: ``2026-12-01 at 9``, ``december 25 every year``."""
    day = read_date(words)
    return None if day is None else Phrase(calendar_day=day)


def _days(words: Words) -> Phrase | None:
    """Days without ``on`` or ``every``: ``weekdays at 9``, ``mondays and fridays``,
    ``weekday mornings at 7``."""
    days = read_days(words)
    if days is None:
        return None
    part, plural = _day_part(words)
    return Phrase(weekdays=days[0], singular_day=not (days[1] or plural), day_part=part)


def _jitter(words: Words) -> Phrase | None:
    """``jitter 30s`` (intervals only)."""
    if not words.accept("jitter"):
        return None
    span = read_span(words)
    if span is None:
        raise NotUnderstood(f"expected a duration after 'jitter', got {words.next_said()}")
    return Phrase(jitter=span)


CLAUSES: tuple[Clause, ...] = (
    _every,
    _on,
    _at,
    _in,
    _day,
    _shortcut,
    _date,
    _month_position,
    _days,
    _part_of_day,
    _bare_times,
    _jitter,
)
