"""The small value types every model uses: statuses and policies (string enums), token scopes,
argument lists, and `iso` (how a time is written in JSON)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any, overload

__all__ = [
    "DEFAULT_MAX_RECOVERIES",
    "DEFAULT_NAMESPACE",
    "Args",
    "Misfire",
    "Overlap",
    "RunStatus",
    "ScheduleSource",
    "Scope",
    "iso",
    "seconds",
]

DEFAULT_NAMESPACE = "default"
DEFAULT_MAX_RECOVERIES = 3
"""How many times a run whose worker died is queued again by default (a task option)."""
Args = dict[str, Any] | list[Any]
"""A task's arguments: an object (keyword arguments) or a list (positional arguments)."""


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"  # durably suspended (a sleep, a signal, an event): holds no worker
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.DEAD, RunStatus.CANCELLED, RunStatus.SKIPPED, RunStatus.FAILED}
)


class Misfire(enum.StrEnum):
    """What to do with slots missed while nothing ran."""

    ONCE = "once"  # one catch-up run for the latest missed slot
    SKIP = "skip"  # missed slots are recorded as skipped, none runs
    ALL = "all"  # every missed slot runs (capped)


class Overlap(enum.StrEnum):
    """What to do when a slot fires while the previous run of the schedule is unfinished."""

    ALLOW = "allow"
    SKIP = "skip"
    QUEUE = "queue"


class ScheduleSource(enum.StrEnum):
    CODE = "code"  # app.schedule(...)
    CONFIG = "config"  # [[schedule]] in a config file: synced on start
    API = "api"  # CLI / REST
    SYSTEM = "system"  # built-in maintenance


class Scope(enum.StrEnum):
    """What an API token may do, ordered ``read`` < ``write`` < ``admin``."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z``, or None."""
    if value is None:
        return None
    text = value.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def seconds(value: timedelta | None) -> float | None:
    """A duration in seconds, or None."""
    return value.total_seconds() if value is not None else None
