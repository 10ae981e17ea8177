"""Durations: ``500ms``, ``30s``, ``5m``, ``2h``, ``1d``, ``1w``, ``1h30m``, ISO 8601 ``PT1H30M``.

>>> parse_duration("1h30m")
datetime.timedelta(seconds=5400)
>>> format_duration(timedelta(seconds=5400))
'1h30m'
"""

from __future__ import annotations

import re
from datetime import timedelta

from agentcron.errors import InvalidDuration

__all__ = ["format_duration", "parse_duration"]

_UNITS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
}
_ALIASES = {
    "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}  # fmt: skip
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: str | int | float | timedelta, *, field: str | None = None) -> timedelta:
    """Parse a duration; a bare number is seconds. Raises `InvalidDuration` naming ``field``."""
    try:
        return _parse(value, field)
    except (OverflowError, ValueError):
        raise InvalidDuration(f"duration out of range: {value!r}", field=field) from None


def _parse(value: str | int | float | timedelta, field: str | None) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise InvalidDuration(f"not a duration: {value!r}", field=field)
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidDuration(f"not a duration: {value!r}", field=field)
        return timedelta(seconds=value)
    text = str(value).strip()
    if not text:
        raise InvalidDuration("empty duration", field=field)
    if text.upper().startswith("P"):
        return _parse_iso(text, field)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    return _parse_units(text.lower(), field)


def _parse_iso(text: str, field: str | None) -> timedelta:
    match = _ISO.match(text.upper())
    if not match or text.upper() in ("P", "PT"):
        raise InvalidDuration(f"not an ISO 8601 duration: {text!r}", field=field)
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


def _parse_units(text: str, field: str | None) -> timedelta:
    pos, total = 0, 0.0
    compact = text.replace(" ", "")
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        unit = _ALIASES.get(match.group(2), match.group(2))
        if unit not in _UNITS:
            raise InvalidDuration(
                f"unknown unit {match.group(2)!r} in {text!r} (use ms, s, m, h, d, w)", field=field
            )
        total += float(match.group(1)) * _UNITS[unit]
        pos = match.end()
    if pos != len(compact) or pos == 0:
        raise InvalidDuration(
            f"not a duration: {text!r} (examples: 500ms, 30s, 5m, 1h30m, PT1H30M)", field=field
        )
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """Shortest unit string for ``value``: ``1h30m``, ``500ms``, ``0s``."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    sign = "-" if total_ms < 0 else ""
    total_ms = abs(total_ms)
    out = []
    for unit, size_ms in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000),
                          ("m", 60_000), ("s", 1000), ("ms", 1)):  # fmt: skip
        count, total_ms = divmod(total_ms, size_ms)
        if count:
            out.append(f"{count}{unit}")
    return sign + "".join(out)
