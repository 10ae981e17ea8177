"""Words for `describe()`: durations (``1 hour 30 minutes``), instants, cron expressions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

__all__ = ["cron_words", "duration_words", "every_words", "instant_words"]

_ORDINALS = {"second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
             "seventh": "7", "eighth": "8", "ninth": "9"}  # fmt: skip
_REWRITES = (
    # cronsim: "Every fifth minute of every hour", "Every 15th minute of every hour"
    (re.compile(r"^Every (\w+) (second|minute) of every (?:minute|hour)"), r"Every \1 \2s"),
    # cronsim: "At minute 0 past every second hour"
    (re.compile(r"^At minute 0 past every (\w+) hour"), r"Every \1 hours at :00"),
    # cronsim: "At minute 0 past every hour from 9 through 17"
    (
        re.compile(r"^At minute 0 past every hour from (\d+) through (\d+)"),
        r"Every hour from \1:00 through \2:00",
    ),
    (re.compile(r"\bon Sunday and Saturday\b"), "on Saturday and Sunday"),
    (re.compile(r"\bday of month\b"), "day of every month"),
)
_NUMBERED = re.compile(r"^Every (\w+) (?=seconds|minutes|hours)")
_HOUR = re.compile(r"\b(\d):00\b")
_NTH_DAY = re.compile(r"\b(\d+)th\b")
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


def cron_words(expr: str) -> str:
    """``At 09:00 on Monday through Friday``: cronsim's English, with its clumsy cases
    (``Every fifth minute of every hour``) said plainly (``Every 5 minutes``)."""
    try:
        text = CronSim(expr, datetime(2000, 1, 1)).explain()
    except (CronSimError, ValueError, KeyError, IndexError):  # pragma: no cover
        return f"cron {expr}"
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = _HOUR.sub(r"0\1:00", _NUMBERED.sub(_number, text))
    return _NTH_DAY.sub(_suffix, text)


def _number(match: re.Match[str]) -> str:
    """``Every fifth `` -> ``Every 5 ``, ``Every 15th `` -> ``Every 15 ``."""
    return f"Every {_ORDINALS.get(match[1], match[1].removesuffix('th'))} "


def _suffix(match: re.Match[str]) -> str:
    """cronsim says ``21th``: ``21st``, ``22nd``, ``23rd``, ``11th``."""
    number = int(match[1])
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def instant_words(value: datetime) -> str:
    """``2026-12-01 08:00 UTC`` (seconds only when set)."""
    value = value.astimezone(UTC)
    fmt = "%Y-%m-%d %H:%M:%S" if value.second or value.microsecond else "%Y-%m-%d %H:%M"
    return f"{value:{fmt}} UTC"
