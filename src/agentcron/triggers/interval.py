"""Interval trigger: every fixed duration, optionally on a grid anchored at ``start``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from agentcron.durations import format_duration
from agentcron.errors import InvalidTrigger
from agentcron.triggers._time import aware_field, format_instant, require_aware
from agentcron.triggers._words import duration_words, every_words, instant_words

__all__ = ["MIN_INTERVAL", "IntervalTrigger"]

MIN_INTERVAL = timedelta(seconds=1)
"""The shortest interval a trigger may have."""


@dataclass(frozen=True)
class IntervalTrigger:
    """Fire every ``every``.

    With ``start`` the fire times are ``start + k * every`` (k >= 0); without it they are
    relative to the previous one (``next_after(t) == t + every``). Nothing fires after
    ``end``. ``jitter`` is carried for the scheduler, which adds a random delay of up to
    ``jitter`` to each run; it does not change the fire times computed here.

    ``every`` is at least `MIN_INTERVAL` (1 s: finer would write millions of runs an hour;
    a 6-field cron has 1 s slots too); ``jitter`` is at most ``every`` (a run delayed past
    the next slot would overlap it).
    """

    every: timedelta
    start: datetime | None = None
    end: datetime | None = None
    jitter: timedelta | None = None
    kind: ClassVar[str] = "interval"

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise InvalidTrigger("interval must be greater than 0", field="every")
        if self.every < MIN_INTERVAL:
            raise InvalidTrigger(
                f"interval must be at least 1s, got {format_duration(self.every)} (each fire is a "
                "stored run: 'every 1ms' would write 3.6 million an hour)",
                field="every",
            )
        if self.jitter is not None and self.jitter < timedelta(0):
            raise InvalidTrigger("jitter must not be negative", field="jitter")
        if self.jitter is not None and self.jitter > self.every:
            raise InvalidTrigger(
                f"must not be longer than the interval ({format_duration(self.every)}): a run "
                "would start after the next slot",
                field="jitter",
            )
        object.__setattr__(self, "jitter", self.jitter or None)
        object.__setattr__(self, "start", _aware(self.start, "start"))
        object.__setattr__(self, "end", _aware(self.end, "end"))
        if self.start and self.end and self.end < self.start:
            raise InvalidTrigger("end must not be before start", field="end")

    def next_after(self, after: datetime) -> datetime | None:
        """The first slot strictly after ``after``, aware UTC; None past ``end``."""
        after = require_aware(after, "after")
        try:
            slot = after + self.every if self.start is None else self._slot_after(after)
        except OverflowError:
            return None
        return None if self.end is not None and slot > self.end else slot

    def _slot_after(self, after: datetime) -> datetime:
        assert self.start is not None
        if after < self.start:
            return self.start
        return self.start + ((after - self.start) // self.every + 1) * self.every

    def slot_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest grid slot <= ``moment`` (and <= ``end``); None without ``start``."""
        if self.start is None:
            return None
        moment = require_aware(moment, "moment")
        if self.end is not None:
            moment = min(moment, self.end)
        if moment < self.start:
            return None
        return self.start + ((moment - self.start) // self.every) * self.every

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"every": format_duration(self.every)}
        if self.start is not None:
            data["start"] = format_instant(self.start)
        if self.end is not None:
            data["end"] = format_instant(self.end)
        if self.jitter is not None:
            data["jitter"] = format_duration(self.jitter)
        return data

    def describe(self) -> str:
        text = every_words(self.every)
        if self.start is not None:
            text += f" from {instant_words(self.start)}"
        if self.end is not None:
            text += f" until {instant_words(self.end)}"
        if self.jitter is not None:
            text += f" (jitter up to {duration_words(self.jitter)})"
        return text


def _aware(value: datetime | None, field: str) -> datetime | None:
    return None if value is None else aware_field(value, field)
