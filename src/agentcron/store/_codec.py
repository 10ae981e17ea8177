"""Rows <-> models, shared by the backends. Times in rows are Unix seconds; JSON columns
arrive as text from both backends (PostgreSQL's jsonb is loaded as text on purpose)."""

from __future__ import annotations

import base64
import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron.models import (
    FanOut,
    Misfire,
    NewRun,
    Overlap,
    Quota,
    Run,
    RunStatus,
    Schedule,
    ScheduleSource,
    ScheduleSpec,
)

SCHEDULE_COLUMNS = (
    "id, namespace, name, task, trigger, policies, args, description, enabled, parked, source, "
    "next_run_at, last_run_at, created_at, updated_at"
)
RUN_COLUMNS = (
    "id, namespace, task, queue, priority, schedule_id, subject, status, args, attempts, "
    "max_attempts, timeout, scheduled_for, queued_at, available_at, started_at, finished_at, "
    "result, error, worker, lease_expires_at, dedup_key, trigger_info, cancel_requested, "
    "recoveries, max_recoveries"
)
RUN_INSERT_COLUMNS = (
    "namespace, task, queue, priority, status, args, schedule_id, subject, scheduled_for, "
    "dedup_key, serial_key, trigger_info, max_attempts, timeout, queued_at, available_at, "
    "finished_at, error, max_recoveries"
)
RUN_INSERT_MARKS = ", ".join("?" * len(RUN_INSERT_COLUMNS.split(",")))
"""The placeholders of a SQLite insert of `RUN_INSERT_COLUMNS`."""

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads

# The errors of a run whose lease expired (its worker died): queued again (a recovery, which
# does not use up retries), dead (one lost lease more than its max_recoveries), or cancelled
# (its cancellation was asked for).
_LOST = "the worker stopped heartbeating (its lease expired)"
LEASE_LOST_REQUEUED = _dumps(
    {"type": "LeaseExpired", "message": f"{_LOST}; queued again (retries are not used up)"}
)
LEASE_LOST_DEAD = _dumps(
    {"type": "LeaseExpired", "message": f"{_LOST} once more than its max_recoveries allows"}
)
LEASE_LOST = _dumps({"type": "LeaseExpired", "message": _LOST})


def _json_or_none(text: str | None) -> Any:
    return _loads(text) if text is not None else None


def loads(text: str) -> Any:
    return _loads(text)


def dumps(value: Any) -> str:
    return _dumps(value)


def ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def delta(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


# -- schedules ---------------------------------------------------------------------------------
def policies_json(spec: ScheduleSpec) -> str:
    extra: dict[str, Any] = {}  # written only when set: most schedules have neither
    if spec.metadata:
        extra["metadata"] = spec.metadata
    if spec.thread_id is not None:
        extra["thread_id"] = spec.thread_id
    return dumps(
        {
            "version": 1,
            "misfire": spec.misfire.value,
            "misfire_grace": seconds(spec.misfire_grace),
            "overlap": spec.overlap.value,
            "retries": spec.retries,
            "timeout": seconds(spec.timeout),
            "priority": spec.priority,
            "queue": spec.queue,
            "jitter": seconds(spec.jitter),
            "limit": [spec.limit.count, spec.limit.period] if spec.limit else None,
            "for_each_subject": spec.for_each_subject.to_dict() if spec.for_each_subject else None,
            "timezone": spec.timezone,
            **extra,
        }
    )


PER_SUBJECT_KINDS = ("idle", "messages", "event")


def trigger_columns(trigger: dict[str, Any]) -> tuple[str, str | None, float | None, int | None]:
    """``(trigger_kind, subject_glob, wait_s, every_n)``: what the store filters on in SQL."""
    from agentcron.durations import parse_duration
    from agentcron.triggers.subject import subject_glob

    for kind in ("cron", "every", "at", "manual", "idle", "messages", "event"):
        if kind in trigger:
            break
    else:
        return "time", None, None, None
    name = {"every": "interval", "at": "date"}.get(kind, kind)
    glob = subject_glob(trigger.get("subjects"))
    if kind == "idle":
        return name, glob, parse_duration(trigger["idle"]).total_seconds(), None
    if kind == "messages":
        return name, glob, None, int(trigger["messages"])
    if kind == "event" and trigger.get("debounce"):
        return name, glob, parse_duration(trigger["debounce"]).total_seconds(), None
    return name, glob, None, None


def lead_seconds(trigger: dict[str, Any], next_run_at: datetime | None) -> float:
    """How long before ``next_run_at`` the slot may be fired (see `agentcron.rules.firing.lead`)."""
    from agentcron.rules.firing import lead
    from agentcron.triggers import trigger_from_dict

    if next_run_at is None or trigger_columns(trigger)[0] not in ("cron", "interval", "date"):
        return 0.0
    parsed = trigger_from_dict(trigger)
    return lead(next_run_at, parsed.next_after(next_run_at), None)


def trigger_json(trigger: dict[str, Any]) -> str:
    return dumps({"version": 1, **{k: v for k, v in trigger.items() if k != "version"}})


def schedule_from_row(row: tuple[Any, ...] | Any) -> Schedule:
    """The `Schedule` of a row of `SCHEDULE_COLUMNS`. Decoding a row costs ~20 µs (three JSON
    documents, enums, times); a listing or a scheduler pass reads the same unchanged rows over
    and over, so one instance per distinct row is kept (every column is in the key: any
    change to a schedule is a new row, a new instance). Schedules are immutable."""
    try:
        return _cached_schedule(tuple(row))
    except TypeError:  # an unhashable column value (not produced by our backends)
        return _decode_schedule(row)


@functools.lru_cache(maxsize=8192)
def _cached_schedule(row: tuple[Any, ...]) -> Schedule:
    return _decode_schedule(row)


def _decode_schedule(row: tuple[Any, ...] | Any) -> Schedule:
    # fmt: off
    (id_, namespace, name, task, trigger, policies, args, description, enabled, parked, source,
     next_run_at, last_run_at, created_at, updated_at) = row
    # fmt: on
    trig = _loads(trigger)
    trig.pop("version", None)
    pol = _loads(policies)
    return Schedule(
        id=id_,
        name=name,
        namespace=namespace,
        task=task,
        trigger=trig,
        description=description,
        args=_loads(args),
        enabled=bool(enabled),
        next_run_at=dt(next_run_at),
        last_run_at=dt(last_run_at),
        misfire=Misfire(pol.get("misfire", "once")),
        misfire_grace=delta(pol.get("misfire_grace")),
        overlap=Overlap(pol.get("overlap", "skip")),
        retries=pol.get("retries"),
        timeout=delta(pol.get("timeout")),
        priority=pol.get("priority"),
        queue=pol.get("queue"),
        jitter=delta(pol.get("jitter")),
        limit=Quota(*pol["limit"]) if pol.get("limit") else None,
        for_each_subject=FanOut(**pol["for_each_subject"]) if pol.get("for_each_subject") else None,
        timezone=pol.get("timezone", "UTC"),
        metadata=pol.get("metadata") or {},
        thread_id=pol.get("thread_id"),
        source=ScheduleSource(source),
        parked=bool(parked),
        created_at=datetime.fromtimestamp(created_at, UTC),
        updated_at=datetime.fromtimestamp(updated_at, UTC),
    )


# -- runs --------------------------------------------------------------------------------------
def run_insert_params(run: NewRun, now: float) -> tuple[Any, ...]:
    available = run.available_at.timestamp() if run.available_at is not None else now
    finished = now if run.status.final else None
    return (
        run.namespace,
        run.task,
        run.queue,
        run.priority,
        run.status.value,
        dumps(run.args),
        run.schedule_id,
        run.subject,
        ts(run.scheduled_for),
        run.dedup_key,
        run.serial_key,
        dumps(run.trigger_info) if run.trigger_info is not None else None,
        run.max_attempts,
        seconds(run.timeout),
        now,
        available,
        finished,
        dumps(run.error) if run.error is not None else None,
        run.max_recoveries,
    )


def run_from_new(run_id: int, run: NewRun, now: float, params: tuple[Any, ...]) -> Run:
    """The `Run` just inserted from ``run`` with ``params`` (no read-back needed)."""
    queued_at = datetime.fromtimestamp(now, UTC)
    available = run.available_at.astimezone(UTC) if run.available_at else queued_at
    scheduled = run.scheduled_for.astimezone(UTC) if run.scheduled_for else None
    return Run(
        id=run_id,
        namespace=run.namespace,
        task=run.task,
        queue=run.queue,
        priority=run.priority,
        schedule_id=run.schedule_id,
        subject=run.subject,
        status=run.status,
        args=run.args,
        attempts=0,
        max_attempts=run.max_attempts,
        timeout=run.timeout,
        scheduled_for=scheduled,
        queued_at=queued_at,
        available_at=available,
        started_at=None,
        finished_at=queued_at if params[16] is not None else None,
        result=None,
        error=run.error,
        worker=None,
        lease_expires_at=None,
        dedup_key=run.dedup_key,
        trigger_info=run.trigger_info,
        max_recoveries=run.max_recoveries,
    )


def run_from_row(row: tuple[Any, ...] | Any) -> Run:
    # fmt: off
    (id_, namespace, task, queue, priority, schedule_id, subject, status, args, attempts,
     max_attempts, timeout, scheduled_for, queued_at, available_at, started_at, finished_at,
     result, error, worker, lease_expires_at, dedup_key, trigger_info, cancel_requested,
     recoveries, max_recoveries) = row
    # fmt: on
    return Run(
        id=id_,
        namespace=namespace,
        task=task,
        queue=queue,
        priority=priority,
        schedule_id=schedule_id,
        subject=subject,
        status=RunStatus(status),
        args=_loads(args),
        attempts=attempts,
        max_attempts=max_attempts,
        timeout=delta(timeout),
        scheduled_for=dt(scheduled_for),
        queued_at=datetime.fromtimestamp(queued_at, UTC),
        available_at=datetime.fromtimestamp(available_at, UTC),
        started_at=dt(started_at),
        finished_at=dt(finished_at),
        result=_json_or_none(result),
        error=_json_or_none(error),
        worker=worker,
        lease_expires_at=dt(lease_expires_at),
        dedup_key=dedup_key,
        trigger_info=_json_or_none(trigger_info),
        cancel_requested=bool(cancel_requested),
        recoveries=recoveries,
        max_recoveries=max_recoveries,
    )


# -- cursors -----------------------------------------------------------------------------------
def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(dumps(list(parts)).encode()).decode().rstrip("=")


def decode_id_cursor(cursor: str) -> int:
    """The id in a run-list cursor; `ValidationError` for anything else."""
    from agentcron.errors import ValidationError

    value = decode_cursor(cursor)
    if len(value) != 1 or not isinstance(value[0], int) or not 0 < value[0] < 2**63:
        raise ValidationError("invalid cursor", field="cursor")
    return value[0]


def decode_name_cursor(cursor: str) -> tuple[str, str]:
    """The (namespace, name) in a schedule-list cursor; `ValidationError` for anything else."""
    from agentcron.errors import ValidationError

    value = decode_cursor(cursor)
    if len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise ValidationError("invalid cursor", field="cursor")
    return value[0], value[1]


def decode_cursor(cursor: str) -> list[Any]:
    from agentcron.errors import ValidationError

    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = _loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise ValidationError("invalid cursor", field="cursor") from exc
    if not isinstance(value, list):
        raise ValidationError("invalid cursor", field="cursor")
    return value
