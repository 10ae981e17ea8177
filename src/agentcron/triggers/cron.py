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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from cronsim import CronSim

from agentcron.triggers._cronexpr import is_wall_clock, normalize_cron
from agentcron.triggers._time import load_zone, require_aware, resolve_local
from agentcron.triggers._words import cron_words

__all__ = ["CronTrigger"]

# Candidates at or before `after` are skipped (a repeated hour can hold up to 3600 of them,
# one per second); past this many something is wrong and looping on would hang a scheduler.
_MAX_SKIPS = 10_000


@dataclass(frozen=True)
class CronTrigger:
    """Fire on a cron expression in an IANA time zone (see the module docstring for DST)."""

    expr: str
    timezone: str = "UTC"
    kind: ClassVar[str] = "cron"
    _zone: tzinfo = field(init=False, repr=False, compare=False)
    _wall_clock: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = load_zone(self.timezone)
        object.__setattr__(self, "expr", normalize_cron(self.expr))
        object.__setattr__(self, "timezone", "UTC" if zone is UTC else str(zone))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_wall_clock", is_wall_clock(self.expr) and zone is not UTC)

    @property
    def jitter(self) -> timedelta | None:
        return None

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after``, aware UTC; None if there is none."""
        after = require_aware(after, "after")
        try:
            return _first_after(self._candidates(after), after)
        except OverflowError:  # past year 9999
            return None

    def _candidates(self, after: datetime) -> Iterator[datetime]:
        local = after.astimezone(self._zone)
        if not self._wall_clock:
            yield from CronSim(self.expr, local)
            return
        for naive in CronSim(self.expr, local.replace(tzinfo=None)):
            yield resolve_local(naive, self._zone)

    def to_dict(self) -> dict[str, Any]:
        return {"cron": self.expr, "timezone": self.timezone}

    def describe(self) -> str:
        return f"{cron_words(self.expr)} ({self.timezone})"


def _first_after(candidates: Iterator[datetime], after: datetime) -> datetime | None:
    """The first candidate strictly after ``after``: the guard that keeps time moving on."""
    for _ in range(_MAX_SKIPS):
        candidate = next(candidates, None)
        if candidate is None:
            return None
        if candidate > after:
            return candidate.astimezone(UTC)
    raise RuntimeError(f"cron search made no progress after {after.isoformat()}")
