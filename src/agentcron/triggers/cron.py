"""Cron trigger: 5 fields, or 6 with seconds first; timezone-aware (cronsim does the math).

DST policy, for expressions whose hour field names specific hours (``30 2 * * *``,
``0 9-17 * * 1-5``, ``0 30 2 * * *``): the expression is matched against the local wall
clock, and

- a wall time that does not exist (02:30 on spring-forward day) fires once, at the first
  valid instant after the gap (03:00 local);
- a wall time that happens twice (fall-back) fires once, at its first occurrence.

Expressions whose hour field is ``*`` or ``*/n`` (``30 * * * *``, ``*/5 * * * *``) run on
elapsed time: they fire once in every real hour, so a repeated wall-clock hour gets two
fires and a skipped one none. cronsim (2.8) alone draws its line differently: it applies
the wall-clock fix-up only to 5-field expressions whose minute AND hour fields are both
specific, so on its own
``0 30 2 * * *`` skips spring-forward day and fires twice on fall-back day, and
``*/30 2 * * *`` does the same. Here cronsim iterates naive wall-clock times for wall-clock
expressions and this module maps them to instants; cronsim still does all the calendar math.

Every few weeks (``every_weeks``, with ``start``): a slot fires only in every Nth week counted
from the week of ``start`` (weeks run Monday to Sunday in the trigger's zone), and nothing
fires before ``start``. ``{"cron": "0 15 * * 2", "every_weeks": 2, ...}`` is every other
Tuesday at 15:00 local time: the wall time holds across DST, which an interval of 14 days
(elapsed time) would not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from cronsim import CronSim

from agentcron.errors import InvalidTrigger
from agentcron.triggers._cronexpr import is_wall_clock, normalize_cron
from agentcron.triggers._time import (
    aware_field,
    format_instant,
    load_zone,
    require_aware,
    resolve_local,
)
from agentcron.triggers._words import cron_words

__all__ = ["CronTrigger"]

# Candidates at or before `after` are skipped (a repeated hour can hold up to 3600 of them,
# one per second); past this many something is wrong and looping on would hang a scheduler.
_MAX_SKIPS = 10_000
MAX_EVERY_WEEKS = 520
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class CronTrigger:
    """Fire on a cron expression in an IANA time zone (see the module docstring for DST);
    with ``every_weeks`` > 1, only in every Nth week from the week of ``start``."""

    expr: str
    timezone: str = "UTC"
    every_weeks: int = 1
    start: datetime | None = None
    kind: ClassVar[str] = "cron"
    _zone: tzinfo = field(init=False, repr=False, compare=False)
    _wall_clock: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = load_zone(self.timezone)
        object.__setattr__(self, "expr", normalize_cron(self.expr))
        object.__setattr__(self, "timezone", "UTC" if zone is UTC else str(zone))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_wall_clock", is_wall_clock(self.expr) and zone is not UTC)
        weeks = self.every_weeks
        if isinstance(weeks, bool) or not isinstance(weeks, int):
            raise InvalidTrigger(f"expected a whole number, got {weeks!r}", field="every_weeks")
        if not 1 <= weeks <= MAX_EVERY_WEEKS:
            raise InvalidTrigger(f"must be from 1 to {MAX_EVERY_WEEKS}", field="every_weeks")
        if self.start is not None:
            object.__setattr__(self, "start", aware_field(self.start, "start"))
        elif weeks > 1:
            raise InvalidTrigger("every_weeks needs a start (the weeks count from it)",
                                 field="start")  # fmt: skip

    @property
    def jitter(self) -> timedelta | None:
        return None

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after``, aware UTC; None if there is none."""
        after = require_aware(after, "after")
        if self.start is not None and after < self.start:
            after = self.start - _TICK  # start itself may fire
        try:
            for _ in range(_MAX_SKIPS):
                slot = _first_after(self._candidates(after), after)
                skip = self._weeks_off(slot) if slot is not None else 0
                if not skip:
                    return slot
                assert slot is not None
                monday = self._monday(slot) + timedelta(weeks=skip)
                after = self._week_start(monday) - _TICK  # on to the next week that fires
        except OverflowError:  # past year 9999
            return None
        raise RuntimeError(f"cron search made no progress after {after.isoformat()}")

    def _weeks_off(self, slot: datetime) -> int:
        """0 when ``slot`` is in a week that fires, else how many weeks until the next one."""
        if self.every_weeks == 1 or self.start is None:
            return 0
        weeks = (self._monday(slot) - self._monday(self.start)).days // 7
        off = weeks % self.every_weeks
        return self.every_weeks - off if off else 0

    def _monday(self, moment: datetime) -> date:
        """The Monday (local date) of the week of ``moment``."""
        day = moment.astimezone(self._zone).date()
        return day - timedelta(days=day.weekday())

    def _week_start(self, monday: date) -> datetime:
        """Midnight (local, by the DST policy) starting the week of ``monday``, as UTC."""
        midnight = datetime(monday.year, monday.month, monday.day)
        return resolve_local(midnight, self._zone).astimezone(UTC)

    def _candidates(self, after: datetime) -> Iterator[datetime]:
        local = after.astimezone(self._zone)
        if not self._wall_clock:
            yield from CronSim(self.expr, local)
            return
        for naive in CronSim(self.expr, local.replace(tzinfo=None)):
            yield resolve_local(naive, self._zone)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cron": self.expr, "timezone": self.timezone}
        if self.every_weeks > 1:
            data["every_weeks"] = self.every_weeks
        if self.start is not None:
            data["start"] = format_instant(self.start)
        return data

    def describe(self) -> str:
        text = cron_words(self.expr)
        if self.every_weeks > 1:
            text += ", every other week" if self.every_weeks == 2 else (
                f", every {self.every_weeks} weeks")  # fmt: skip
        if self.start is not None:
            text += f", from {self.start.astimezone(self._zone):%Y-%m-%d %H:%M}"
        return f"{text} ({self.timezone})"


def _first_after(candidates: Iterator[datetime], after: datetime) -> datetime | None:
    """The first candidate strictly after ``after``: the guard that keeps time moving on."""
    for _ in range(_MAX_SKIPS):
        candidate = next(candidates, None)
        if candidate is None:
            return None
        if candidate > after:
            return candidate.astimezone(UTC)
    raise RuntimeError(f"cron search made no progress after {after.isoformat()}")
