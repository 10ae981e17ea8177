"""Time helpers shared by the trigger kinds: zones, aware instants, ISO 8601 text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentcron.errors import InvalidTimezone, InvalidTrigger

__all__ = [
    "aware_field",
    "format_instant",
    "is_imaginary",
    "load_zone",
    "parse_instant",
    "require_aware",
    "resolve_local",
]

_UTC_NAMES = frozenset({"utc", "z", "etc/utc", "gmt", "etc/gmt", "zulu", "etc/zulu"})


def load_zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (``UTC`` for the UTC aliases); `InvalidTimezone` if unknown."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidTimezone(f"not a time zone: {name!r}")
    return _load_zone(name)


@lru_cache(maxsize=256)
def _load_zone(name: str) -> tzinfo:
    if name.strip().lower() in _UTC_NAMES:
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
        raise InvalidTimezone(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin' or 'UTC')"
        ) from exc


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """``value`` converted to UTC; a naive datetime is a programming error (`ValueError`)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def aware_field(value: datetime, field: str) -> datetime:
    """A trigger's own datetime ``field`` as aware UTC; `InvalidTrigger` when naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTrigger(
            f"{field} must be timezone-aware, got {value.isoformat()}", field=field
        )
    return value.astimezone(UTC)


def parse_instant(value: str | datetime, zone: tzinfo, *, field: str) -> datetime:
    """An ISO 8601 time (or a datetime) as aware UTC; a naive time is read in ``zone``."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = _from_iso(value.strip(), field)
    else:
        raise InvalidTrigger(f"expected an ISO 8601 time, got {value!r}", field=field)
    if parsed.tzinfo is None:
        parsed = resolve_local(parsed, zone)
    return parsed.astimezone(UTC)


def _from_iso(text: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidTrigger(
            f"not an ISO 8601 time: {text!r} (example: 2026-12-01T09:00:00+01:00)", field=field
        ) from exc


def format_instant(value: datetime) -> str:
    """``2026-12-01T08:00:00Z`` (microseconds only when present)."""
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def is_imaginary(local: datetime) -> bool:
    """True when the aware local time does not exist (it falls in a DST gap)."""
    return local != local.astimezone(UTC).astimezone(local.tzinfo)


def resolve_local(naive: datetime, zone: tzinfo) -> datetime:
    """The instant of a wall-clock time in ``zone``, by agentcron's DST policy.

    A repeated wall time (fall-back) resolves to its first occurrence; a wall time that does
    not exist (spring-forward) resolves to the first valid instant after the gap.
    """
    local = naive.replace(tzinfo=zone, fold=0)
    if not is_imaginary(local):
        return local
    local = local.replace(second=0, microsecond=0)
    for _ in range(2 * 24 * 60):  # no zone has a gap longer than a day
        local += timedelta(minutes=1)  # wall-clock arithmetic: stays on the naive clock
        if not is_imaginary(local):
            return local
    raise ValueError(f"cannot resolve {naive.isoformat()} in {zone}")  # pragma: no cover
