"""Schedules: what a caller decides (`ScheduleSpec`) and what is stored (`Schedule`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agentcron.models.shapes import ForEachSubjectOut, ScheduleOut
from agentcron.models.values import (
    DEFAULT_NAMESPACE,
    Args,
    Misfire,
    Overlap,
    ScheduleSource,
    iso,
    seconds,
)

__all__ = ["FanOut", "Quota", "Schedule", "ScheduleSpec"]


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``count`` runs per subject per ``period`` (``day``, ``hour``, ``week``), in the
    schedule's time zone: ``limit = "3 per day"``."""

    count: int
    period: str  # "hour" | "day" | "week"

    def __str__(self) -> str:
        return f"{self.count} per {self.period}"


@dataclass(frozen=True, slots=True)
class FanOut:
    """``for_each_subject``: a time-triggered schedule enqueues one run per matching subject."""

    subjects: str | None = None  # glob filter; None: every subject of the namespace
    batch_size: int = 500

    def to_dict(self) -> ForEachSubjectOut:
        return {"subjects": self.subjects, "batch_size": self.batch_size}


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """Everything a caller decides about a schedule (what `Store.put_schedule` writes)."""

    name: str
    task: str
    trigger: dict[str, Any]  # normalized trigger object (see agentcron.triggers)
    namespace: str = DEFAULT_NAMESPACE
    args: Args = field(default_factory=dict)
    enabled: bool = True
    misfire: Misfire = Misfire.ONCE
    misfire_grace: timedelta | None = None
    overlap: Overlap = Overlap.SKIP
    retries: int | None = None  # None: the task's default
    timeout: timedelta | None = None
    priority: int | None = None  # None: the task's default
    queue: str | None = None
    jitter: timedelta | None = None
    source: ScheduleSource = ScheduleSource.CODE
    description: str = ""
    limit: Quota | None = None
    for_each_subject: FanOut | None = None
    timezone: str = "UTC"  # the zone quotas count days in (cron triggers carry their own)
    metadata: dict[str, Any] = field(default_factory=dict)  # given to the runs (ctx.metadata)
    thread_id: str | None = None  # a graph task's thread (None: the subject, else the name)


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    name: str
    namespace: str
    task: str
    trigger: dict[str, Any]
    description: str
    args: Args
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    misfire: Misfire
    misfire_grace: timedelta | None
    overlap: Overlap
    retries: int | None
    timeout: timedelta | None
    priority: int | None
    queue: str | None
    jitter: timedelta | None
    source: ScheduleSource
    parked: bool  # task not registered in the running code: kept, not fired
    created_at: datetime
    updated_at: datetime
    limit: Quota | None = None
    for_each_subject: FanOut | None = None
    timezone: str = "UTC"
    metadata: dict[str, Any] = field(default_factory=dict)
    thread_id: str | None = None
    # The REST shape, built once per instance (schedules are immutable; the store's decoder
    # hands out one instance per stored version, so a listing serves it from here).
    _shape: ScheduleOut | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            name=self.name,
            task=self.task,
            trigger=self.trigger,
            namespace=self.namespace,
            args=self.args,
            enabled=self.enabled,
            misfire=self.misfire,
            misfire_grace=self.misfire_grace,
            overlap=self.overlap,
            retries=self.retries,
            timeout=self.timeout,
            priority=self.priority,
            queue=self.queue,
            jitter=self.jitter,
            source=self.source,
            description=self.description,
            limit=self.limit,
            for_each_subject=self.for_each_subject,
            timezone=self.timezone,
            metadata=self.metadata,
            thread_id=self.thread_id,
        )

    def to_dict(self) -> ScheduleOut:
        """The REST / ``--json`` shape (a new top-level dict per call)."""
        if self._shape is None:
            object.__setattr__(self, "_shape", self._build_dict())
        return self._shape.copy()  # type: ignore[union-attr]

    def _build_dict(self) -> ScheduleOut:
        return {
            "id": self.id,
            "name": self.name,
            "namespace": self.namespace,
            "task": self.task,
            "trigger": self.trigger,
            "description": self.description,
            "args": self.args,
            "enabled": self.enabled,
            "parked": self.parked,
            "next_run_at": iso(self.next_run_at),
            "last_run_at": iso(self.last_run_at),
            "misfire": self.misfire,
            "misfire_grace": seconds(self.misfire_grace),
            "overlap": self.overlap,
            "retries": self.retries,
            "timeout": seconds(self.timeout),
            "priority": self.priority,
            "queue": self.queue,
            "jitter": seconds(self.jitter),
            "limit": str(self.limit) if self.limit else None,
            "for_each_subject": self.for_each_subject.to_dict() if self.for_each_subject else None,
            "timezone": self.timezone,
            "metadata": self.metadata,
            "thread_id": self.thread_id,
            "source": self.source,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
