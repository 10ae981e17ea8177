"""Immutable domain models. Aware UTC datetimes only; ``timedelta`` for durations."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "DEFAULT_NAMESPACE",
    "Args",
    "Event",
    "FanOut",
    "Misfire",
    "NewEvent",
    "NewRun",
    "Overlap",
    "Quota",
    "Run",
    "RunOutcome",
    "RunStatus",
    "Schedule",
    "ScheduleSource",
    "ScheduleSpec",
    "WorkerInfo",
    "iso",
]

DEFAULT_NAMESPACE = "default"
DEFAULT_MAX_RECOVERIES = 3
"""How many times a run whose worker died is queued again by default (a task option)."""
Args = dict[str, Any] | list[Any]
"""A task's arguments: an object (keyword arguments) or a list (positional arguments)."""


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
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


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z``, or None."""
    if value is None:
        return None
    text = value.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


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

    def to_dict(self) -> dict[str, Any]:
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
    _shape: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

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

    def to_dict(self) -> dict[str, Any]:
        """The REST / ``--json`` shape (a new top-level dict per call)."""
        if self._shape is None:
            object.__setattr__(self, "_shape", self._build_dict())
        return dict(self._shape)  # type: ignore[arg-type]

    def _build_dict(self) -> dict[str, Any]:
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
            "misfire": self.misfire.value,
            "misfire_grace": _seconds(self.misfire_grace),
            "overlap": self.overlap.value,
            "retries": self.retries,
            "timeout": _seconds(self.timeout),
            "priority": self.priority,
            "queue": self.queue,
            "jitter": _seconds(self.jitter),
            "limit": str(self.limit) if self.limit else None,
            "for_each_subject": self.for_each_subject.to_dict() if self.for_each_subject else None,
            "timezone": self.timezone,
            "metadata": self.metadata,
            "thread_id": self.thread_id,
            "source": self.source.value,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to enqueue (what `Store.enqueue` takes)."""

    task: str
    args: Args = field(default_factory=dict)
    namespace: str = DEFAULT_NAMESPACE
    queue: str = "default"
    priority: int = 0
    available_at: datetime | None = None  # None: now
    dedup_key: str | None = None
    max_attempts: int = 1
    timeout: timedelta | None = None
    subject: str | None = None
    schedule_id: str | None = None
    scheduled_for: datetime | None = None
    trigger_info: dict[str, Any] | None = None
    serial_key: str | None = None  # runs sharing a key run one at a time (overlap=queue)
    status: RunStatus = RunStatus.QUEUED  # SKIPPED records a slot that did not run
    error: dict[str, Any] | None = None  # for SKIPPED: {"type": "Skipped", "message": reason}
    max_recoveries: int = DEFAULT_MAX_RECOVERIES  # queued again this often after a lost lease


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a worker reports for one claimed run (what `Store.finish_runs` takes)."""

    run_id: int
    status: RunStatus  # SUCCEEDED, QUEUED (retry at available_at), FAILED, DEAD, CANCELLED
    result: Any = None
    error: dict[str, Any] | None = None
    available_at: datetime | None = None  # for a retry


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    namespace: str
    task: str
    queue: str
    priority: int
    schedule_id: str | None
    subject: str | None
    status: RunStatus
    args: Args
    attempts: int
    max_attempts: int
    timeout: timedelta | None
    scheduled_for: datetime | None
    queued_at: datetime
    available_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: Any
    error: dict[str, Any] | None  # {"type", "message", "traceback"}
    worker: str | None
    lease_expires_at: datetime | None
    dedup_key: str | None
    trigger_info: dict[str, Any] | None
    cancel_requested: bool = False
    recoveries: int = 0  # times it was queued again because its worker died (lease expired)
    max_recoveries: int = DEFAULT_MAX_RECOVERIES
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lag(self) -> timedelta | None:
        """``started_at - scheduled_for`` (or ``- queued_at`` for enqueued runs)."""
        if self.started_at is None:
            return None
        return self.started_at - (self.scheduled_for or self.queued_at)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """The REST / ``--json`` shape."""
        lag = self.lag
        duration = self.duration
        return {
            "id": self.id,
            "namespace": self.namespace,
            "task": self.task,
            "queue": self.queue,
            "priority": self.priority,
            "schedule_id": self.schedule_id,
            "subject": self.subject,
            "status": self.status.value,
            "args": self.args,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "recoveries": self.recoveries,
            "max_recoveries": self.max_recoveries,
            "scheduled_for": iso(self.scheduled_for),
            "queued_at": iso(self.queued_at),
            "available_at": iso(self.available_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "lag": lag.total_seconds() if lag is not None else None,
            "duration": duration.total_seconds() if duration is not None else None,
            "result": self.result,
            "error": self.error,
            "worker": self.worker,
            "dedup_key": self.dedup_key,
            "trigger": self.trigger_info,
        }


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to publish (what `Store.publish` takes): a dotted ``type``
    (``user.signup``), a JSON object of ``data``, an optional ``subject``."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    namespace: str = DEFAULT_NAMESPACE


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event. Ids grow with each event published (a subscriber's cursor)."""

    id: int
    type: str
    namespace: str
    subject: str | None
    data: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The REST / SSE / bridge shape (also what a fired run's trigger info holds)."""
        return {
            "id": self.id,
            "type": self.type,
            "namespace": self.namespace,
            "subject": self.subject,
            "data": self.data,
            "created_at": iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    last_heartbeat_at: datetime
    running: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = iso(self.started_at)
        data["last_heartbeat_at"] = iso(self.last_heartbeat_at)
        return data


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None
