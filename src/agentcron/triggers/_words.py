"""Durations in words, for `describe()`: ``5 minutes``, ``1 hour 30 minutes``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["duration_words", "every_words", "instant_words"]

_UNITS = (
    ("week", 604_800_000),
    ("day", 86_400_000),
    ("hour", 3_600_000),
    ("minute", 60_000),
    ("second", 1000),
    ("millisecond", 1),
)


def duration_words(value: timedelta) -> str:
    """``1 hour 30 minutes``; ``0 seconds`` for zero."""
    remaining = round(abs(value.total_seconds()) * 1000)
    parts = []
    for unit, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def every_words(value: timedelta) -> str:
    """``every 5 minutes``, ``every hour`` (a lone 1 is dropped)."""
    words = duration_words(value)
    return f"every {words.removeprefix('1 ')}" if words.count(" ") == 1 else f"every {words}"


def instant_words(value: datetime) -> str:
    """``2026-12-01 08:00 UTC`` (seconds only when set)."""
    value = value.astimezone(UTC)
    fmt = "%Y-%m-%d %H:%M:%S" if value.second or value.microsecond else "%Y-%m-%d %H:%M"
    return f"{value:{fmt}} UTC"
