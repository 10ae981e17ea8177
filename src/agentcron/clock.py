"""Every "now" goes through a `Clock`, so tests can drive time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "from_ts", "to_ts", "utcnow"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def time(self) -> float:
        """The current time as Unix seconds."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def set(self, value: datetime) -> None:
        self._now = value.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        self._now = from_ts(self._now.timestamp() + seconds)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ts(value: datetime) -> float:
    """Aware datetime -> Unix seconds (what the stores keep)."""
    return value.timestamp()


def from_ts(value: float) -> datetime:
    """Unix seconds -> aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)
