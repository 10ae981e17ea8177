"""Subjects: what an agent works for (``user:42``), and the pure rules around them.

Activity is recorded per subject (`agentcron.App.record_activity`); idle and messages triggers
and ``for_each_subject`` fan-out fire per subject; a schedule's ``limit`` (`Quota`) caps the
runs per subject and period. Everything here is pure (no I/O): the stores apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentcron.errors import ValidationError
from agentcron.models import Quota, SubjectOut, iso
from agentcron.triggers.subject import MAX_SUBJECT_LENGTH

__all__ = [
    "EARLIEST_ACTIVITY",
    "MAX_ACTIVITY_SKEW",
    "MAX_SUBJECT_LENGTH",
    "Subject",
    "check_activity_time",
    "check_kind",
    "check_subject",
    "crossed_multiples",
    "glob_to_like",
    "idle_action",
    "quota_reason",
    "quota_window",
]

MAX_MULTIPLES = 100
"""A messages schedule fires at most this many runs (the newest multiples) per subject at once."""

MAX_ACTIVITY_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock an activity time may be (another machine's clock)."""
EARLIEST_ACTIVITY = datetime(2000, 1, 1, tzinfo=UTC)
"""No activity is older than this (an earlier time is a bug: a zero, or seconds for ms)."""

_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Subject:
    """A subject's recorded activity. ``message_count`` counts activity of kind ``message``."""

    namespace: str
    subject: str
    last_activity_at: datetime | None
    message_count: int
    first_seen_at: datetime | None

    def to_dict(self) -> SubjectOut:
        """The REST / ``--json`` shape."""
        return {
            "namespace": self.namespace,
            "subject": self.subject,
            "last_activity_at": iso(self.last_activity_at),
            "message_count": self.message_count,
            "first_seen_at": iso(self.first_seen_at),
        }


def check_subject(value: Any, field: str = "subject") -> str:
    """A subject is non-empty text of at most 256 characters, without control characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_SUBJECT_LENGTH:
        raise ValidationError(
            f"a subject is text of 1-{MAX_SUBJECT_LENGTH} characters (like 'user:42')",
            field=field,
        )
    if _CONTROL.search(value):
        raise ValidationError("a subject must not contain control characters", field=field)
    return value


def check_activity_time(at: datetime, now: datetime) -> datetime:
    """When a recorded activity happened: aware, from 2000-01-01, and at most
    `MAX_ACTIVITY_SKEW` (5 minutes) after ``now``. A time in the future would make an idle
    subject look active for as long; `ValidationError` naming ``at``."""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError("must be a timezone-aware datetime", field="at")
    if at < EARLIEST_ACTIVITY:
        raise ValidationError(f"{iso(at)} is before 2000-01-01", field="at")
    if at > now + MAX_ACTIVITY_SKEW:
        raise ValidationError(
            f"{iso(at)} is in the future (more than 5m after the server's time, {iso(now)})",
            field="at",
        )
    return at


def check_kind(value: Any) -> str:
    """An activity kind is a short lower-case word: ``message``, ``login``, ``page.view``."""
    if not isinstance(value, str) or not _KIND.fullmatch(value):
        raise ValidationError(
            f"{value!r} is not an activity kind: a lower-case word of at most 32 characters "
            "like 'message'",
            field="kind",
        )
    return value


# -- idle and messages ------------------------------------------------------------------------
def idle_action(
    now_s: float,
    idle_s: float,
    cooldown_s: float | None,
    last_activity_s: float | None,
    answered_s: float | None,
    fired_s: float | None,
) -> tuple[str, float | None]:
    """What an idle schedule does for one subject at ``now_s`` (Unix seconds).

    ``answered_s``: the activity its last fire answered; ``fired_s``: when that was. Returns
    ``("fire", slot)`` (slot: when the subject became idle), ``("defer", due)`` (idle, but
    the cooldown since the last fire runs until ``due``), ``("wait", None)`` (active again,
    not idle yet) or ``("done", None)`` (this activity was answered, or the subject is gone).
    """
    if last_activity_s is None:
        return "done", None
    if last_activity_s + idle_s > now_s:
        return "wait", None
    if answered_s is not None and last_activity_s <= answered_s:
        return "done", None
    if cooldown_s and fired_s is not None and fired_s + cooldown_s > now_s:
        return "defer", fired_s + cooldown_s
    return "fire", last_activity_s + idle_s


def crossed_multiples(answered: int, count: int, every: int) -> list[int]:
    """The multiples of ``every`` in ``(answered, count]``: the message counts to fire for
    (the newest `MAX_MULTIPLES`)."""
    first, last = answered // every + 1, count // every
    return [k * every for k in range(max(first, last - MAX_MULTIPLES + 1), last + 1)]


# -- quotas ------------------------------------------------------------------------------------
def quota_window(quota: Quota, timezone: str, at: datetime) -> tuple[datetime, datetime]:
    """The period of ``quota`` that holds ``at``: ``[start, end)`` as aware UTC datetimes.

    Hours, days (from local midnight) and weeks (from Monday's local midnight) are counted in
    ``timezone``, so a day is 23 or 25 hours long across a DST change. An unknown zone counts
    in UTC.
    """
    zone = _zone(timezone)
    local = at.astimezone(zone)
    if quota.period == "hour":
        start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return start, start + timedelta(hours=1)
    day = local.date()
    if quota.period == "week":
        day -= timedelta(days=day.weekday())
        following = day + timedelta(days=7)
    else:
        following = day + timedelta(days=1)
    return _midnight(day, zone), _midnight(following, zone)


def quota_reason(quota: Quota, subject: str | None) -> str:
    """The message of a run skipped by its quota."""
    return f"limit: {quota} reached for {subject}" if subject else f"limit: {quota} reached"


def _midnight(day: Any, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# -- subject filters -----------------------------------------------------------------------------
def glob_to_like(glob: str) -> str:
    """A subject glob (``*``, ``?``) as a LIKE pattern with ``\\`` as escape (PostgreSQL).

    Bracket classes (``[ab]``) have no LIKE equivalent and match literally there.
    """
    out = []
    for ch in glob:
        if ch in "\\%_":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)
