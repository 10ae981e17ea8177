"""Cron expression text: shortcuts, normalization and readable errors (cronsim does the math).

Fields, as in cronsim: ``[second] minute hour day-of-month month day-of-week``; the seconds
field is optional and comes FIRST.
"""

from __future__ import annotations

import re
from datetime import datetime

from cronsim import CronSim, CronSimError

from agentcron.errors import InvalidTrigger

__all__ = ["SHORTCUTS", "is_wall_clock", "normalize_cron"]

SHORTCUTS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
_RANGES = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (0, 7),
}
_NUMBER = re.compile(r"\d+")
_PROBE = datetime(2000, 1, 1)


def normalize_cron(expr: str) -> str:
    """The expression with shortcuts expanded, single spaces, upper case; validated."""
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidTrigger("empty cron expression", field="cron")
    text = " ".join(expr.split()).upper()
    if text.startswith("@"):
        return _shortcut(text)
    parts = text.split(" ")
    if len(parts) not in (5, 6):
        raise InvalidTrigger(
            f"invalid cron expression {expr.strip()!r}: expected 5 fields "
            f"(minute hour day-of-month month day-of-week) or 6 (seconds first), "
            f"got {len(parts)}",
            field="cron",
        )
    try:
        CronSim(text, _PROBE)
    except CronSimError as exc:
        raise InvalidTrigger(
            f"invalid cron expression {expr.strip()!r}: {_explain(parts, str(exc))}", field="cron"
        ) from exc
    return text


def _shortcut(text: str) -> str:
    if text.lower() not in SHORTCUTS:
        names = ", ".join(SHORTCUTS)
        raise InvalidTrigger(f"unknown cron shortcut {text.lower()!r} (use {names})", field="cron")
    return SHORTCUTS[text.lower()]


def is_wall_clock(expr: str) -> bool:
    """True when the hour field names specific hours: the job runs at local wall-clock times.

    Such expressions follow agentcron's DST policy (see `CronTrigger`); the others (hour
    ``*`` or ``*/n``) run on elapsed time and fire on every real hour.
    """
    parts = expr.split(" ")
    return not parts[-4].startswith("*")


def _explain(parts: list[str], cronsim_message: str) -> str:
    names = _FIELDS if len(parts) == 6 else _FIELDS[1:]
    name = cronsim_message.removeprefix("Bad ").strip()
    if name not in names:
        return cronsim_message
    text = parts[names.index(name)]
    problem = _out_of_range(name, text) or f"{name} field {text!r} is not valid"
    if name == "day-of-month" and not _out_of_range(name, text):
        problem += f" (that day never occurs in month field {parts[-2]!r})"
    return problem


def _out_of_range(name: str, text: str) -> str | None:
    low, high = _RANGES[name]
    for term in text.split(","):
        values, _, step = term.partition("/")
        if step and step.isdigit() and int(step) == 0:
            return f"{name} step must be at least 1, got {term!r}"
        values = values.partition("#")[0]
        for number in _NUMBER.findall(values):
            if not low <= int(number) <= high:
                return f"{name} must be {low}-{high}, got {number}"
    return None
