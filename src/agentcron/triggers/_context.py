"""What the trigger parsers share: the schedule's zone, "now", and duration reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from agentcron.clock import utcnow
from agentcron.durations import parse_duration
from agentcron.errors import InvalidDuration, InvalidTrigger
from agentcron.triggers._time import load_zone

__all__ = ["ParseContext", "read_duration"]


@dataclass(frozen=True)
class ParseContext:
    """``timezone``: applied to cron and to naive times; ``now``: for relative forms."""

    timezone: str = "UTC"
    now: datetime = field(default_factory=utcnow)

    @property
    def zone(self) -> tzinfo:
        return load_zone(self.timezone)


def read_duration(value: Any, field: str) -> timedelta:
    """A duration (``5m``, ``300``, ``PT5M``, ``-5m``) or `InvalidTrigger` naming ``field``."""
    if not isinstance(value, str | int | float | timedelta):
        raise InvalidTrigger(f"expected a duration such as '5m', got {value!r}", field=field)
    sign = 1
    if isinstance(value, str) and value.strip().startswith("-"):
        sign, value = -1, value.strip()[1:]
    try:
        return sign * parse_duration(value, field=field)
    except InvalidDuration as exc:
        raise InvalidTrigger(exc.message, field=field) from exc
