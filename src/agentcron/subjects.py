"""Subjects: what an agent works for (``user:42``), and the checks of what names them.

Activity is recorded per subject (`agentcron.App.record_activity`); idle and messages triggers
and ``for_each_subject`` fan-out fire per subject; a schedule's ``limit`` (`Quota`) caps the
runs per subject and period. The rules of those are pure planners in `agentcron.rules`
(``idle``, ``quotas``, ``fanout``, ``subjects``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron.errors import ValidationError
from agentcron.models import SubjectOut, iso
from agentcron.triggers.subject import MAX_SUBJECT_LENGTH

__all__ = [
    "EARLIEST_ACTIVITY",
    "MAX_ACTIVITY_SKEW",
    "MAX_SUBJECT_LENGTH",
    "Subject",
    "check_activity_time",
    "check_kind",
    "check_subject",
]

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
