"""Runs: what is queued (`NewRun`), what a worker reports (`RunOutcome`), what is stored (`Run`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron.models.shapes import RunOut, StepOut, WaitingForOut
from agentcron.models.values import DEFAULT_MAX_RECOVERIES, DEFAULT_NAMESPACE, Args, RunStatus, iso

__all__ = ["NewRun", "Run", "RunOutcome", "Step"]


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
class Step:
    """A durable step of a run: a `RunContext.step` call, or a wait (``sleep:1``,
    ``signal:approve:1``, ``event:user.*:1``). ``status``: running, succeeded or failed."""

    name: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    result: Any = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> StepOut:
        return {
            "name": self.name,
            "status": self.status,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "result": self.result,
            "error": self.error,
        }


def waiting_for_out(waiting: dict[str, Any] | None) -> WaitingForOut | None:
    """The public shape of a stored ``waiting_for`` (``until`` in Unix seconds there)."""
    if waiting is None:
        return None
    out: dict[str, Any] = {k: waiting[k] for k in _WAITING_KEYS if k in waiting}
    if "until" in out:
        until = out["until"]
        out["until"] = iso(datetime.fromtimestamp(until, UTC)) if until is not None else None
    shaped: WaitingForOut = out  # type: ignore[assignment]
    return shaped


_WAITING_KEYS = ("kind", "name", "pattern", "subject", "until", "step", "call", "interrupts")


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
    waiting_for: dict[str, Any] | None = None  # while waiting (stored form: `until` in seconds)
    steps: tuple[Step, ...] | None = None  # read with the run alone (`App.get_run`), not listed

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

    def to_dict(self) -> RunOut:
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
            "status": self.status,
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
            "waiting_for": waiting_for_out(self.waiting_for),
            "steps": [s.to_dict() for s in self.steps] if self.steps is not None else None,
        }
