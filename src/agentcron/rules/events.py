"""What both stores share for events (pure, no I/O): validation, the lifecycle event of a run
state change, which event schedules an event fires, and the trigger info of the runs they
fire. (The store writes them: `agentcron.store.core.events`, ``core.debounce``.)

An event fires the enabled, unparked ``event`` schedules of its namespace whose pattern and
subject filter match it, in the transaction that stores it:

- without ``debounce``: one run per (schedule, event), deduplicated by the event id, with the
  event as input (``{"kind": "event", "event": {...}}``);
- with ``debounce``: the event joins the schedule's group for its subject, which fires once
  ``debounce`` after its last event (at the latest ``max_wait`` after its first), with all
  the group's events as input (``{"kind": "event", "events": [...], "event": <last>}``).

Loop guards: an event of a run's lifecycle never fires that run's own schedule; the lifecycle
events of runs that event schedules fire do not fire anything in the same transaction; and a
chain of runs fired by lifecycle events stops at `MAX_CHAIN` links.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from agentcron.durations import parse_duration
from agentcron.errors import ValidationError
from agentcron.models import (
    DEFAULT_MAX_RECOVERIES,
    Event,
    NewEvent,
    NewRun,
    Run,
    RunStatus,
    Schedule,
)
from agentcron.rules.firing import RunDefaults, subject_run
from agentcron.rules.subjects import glob_to_like
from agentcron.specs import check_name, storable_size
from agentcron.subjects import check_subject
from agentcron.triggers.subject import check_event_type, subject_glob

__all__ = [
    "EVENT_COLUMNS",
    "MAX_CHAIN",
    "MAX_EVENT_DATA_BYTES",
    "MAX_GROUP_EVENTS",
    "PURGE_BATCH",
    "DefaultsPlanner",
    "Emitted",
    "Pending",
    "Rule",
    "chain_of",
    "check_after",
    "checked",
    "event_filter",
    "event_from_row",
    "finished_event",
    "fire_info",
    "group_info",
    "lifecycle",
    "lifecycle_parts",
    "matches",
    "new_run_event",
    "rules_of",
    "run_event",
    "wake",
]

log = logging.getLogger("agentcron.events")

EVENT_COLUMNS = "id, namespace, type, subject, data, created_at"
MAX_EVENT_DATA_BYTES = 64 * 1024
PURGE_BATCH = 10_000
"""Events one purge transaction deletes (it repeats until none is left)."""
MAX_GROUP_EVENTS = 200
"""A debounced run's trigger info holds the latest this many events of its group (and the
``count`` of all of them)."""
MAX_CHAIN = 16
"""Runs fired by lifecycle events of runs fired by lifecycle events... stop at this depth
(two ``on run.failed`` schedules whose tasks fail would otherwise feed each other forever)."""
SHUTDOWN_ERROR_TYPE = "WorkerShutdown"

_TYPES = {"running": "run.started"}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_quote = json.encoder.encode_basestring  # C-accelerated: a str as a JSON string


class Pending(NamedTuple):
    """An event about to be inserted, with where it came from (for the loop guards).

    A tuple, and ``data`` decoded only when needed: lifecycle events are made on the hot path
    (their JSON is formatted directly, see `lifecycle`) and are rarely read back.
    """

    namespace: str
    type: str
    subject: str | None
    data_json: str
    data: dict[str, Any] | None = None
    origin_schedule: str | None = None  # lifecycle event of a run of this schedule
    origin_run: int | None = None
    fires: bool = True  # False: stored and streamed, fires nothing (runs made by event firing)

    def params(self, now_s: float) -> tuple[Any, ...]:
        return (self.namespace, self.type, self.subject, self.data_json, now_s)

    def event(self, event_id: int, now_s: float) -> Event:
        data = self.data if self.data is not None else json.loads(self.data_json)
        return Event(event_id, self.type, self.namespace, self.subject, data, _dt(now_s))


def checked(event: NewEvent) -> Pending:
    """Validate an event from a caller; `ValidationError` naming the field otherwise."""
    check_event_type(event.type, field="type")
    subject = event.subject
    if subject is not None:
        check_subject(subject)
    namespace = check_name(event.namespace, "namespace")
    data = {} if event.data is None else event.data
    if not isinstance(data, dict):
        raise ValidationError(
            f"event data must be a JSON object, got {type(data).__name__}", field="data"
        )
    try:
        text = _dumps(data)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"event data is not JSON-serializable: {exc}", field="data") from None
    try:
        size = storable_size(text)
    except ValueError as exc:
        raise ValidationError(f"event data {exc}", field="data") from None
    if size > MAX_EVENT_DATA_BYTES:
        raise ValidationError(
            f"event data is {size} bytes, more than {MAX_EVENT_DATA_BYTES}", field="data"
        )
    return Pending(namespace, event.type, subject, text, json.loads(text))


def event_from_row(row: tuple[Any, ...] | Any) -> Event:
    id_, namespace, type_, subject, data, created_at = row
    return Event(id_, type_, namespace, subject, json.loads(data), _dt(created_at))


@dataclasses.dataclass(slots=True)
class Emitted:
    """What writing events did: the events (when asked for), the runs they fired, and whether
    a debounce group moved (the scheduler must look again)."""

    events: list[Event] = dataclasses.field(default_factory=list)
    runs: list[Run] = dataclasses.field(default_factory=list)
    debounced: bool = False
    wrote: bool = False

    def __iadd__(self, other: Emitted) -> Emitted:
        self.events += other.events
        self.runs += other.runs
        self.debounced = self.debounced or other.debounced
        self.wrote = self.wrote or other.wrote
        return self


def check_after(after_id: object) -> None:
    if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
        raise ValidationError("must be an event id (a whole number >= 0)", field="after")


def event_filter(
    after_id: int,
    namespace: str | None,
    pattern: str | None,
    until: int | None,
    *,
    dialect: str,
) -> tuple[list[str], list[Any]]:
    """The WHERE terms of `Store.read_events` (``?`` placeholders). A type pattern with
    wildcards is a ``GLOB`` on SQLite, a ``LIKE`` on PostgreSQL (``dialect``)."""
    check_after(after_id)
    where: list[str] = ["id > ?"]
    params: list[Any] = [min(after_id, 2**63 - 1)]
    if namespace is not None:
        where.append("namespace = ?")
        params.append(namespace)
    if pattern is not None and pattern != "*":
        check_event_type(pattern, pattern=True, field="pattern")
        if not any(c in pattern for c in "*?"):
            where.append("type = ?")
        elif dialect == "sqlite":
            where.append("type GLOB ?")
        else:
            where.append("type LIKE ?")
            pattern = glob_to_like(pattern)
        params.append(pattern)
    if until is not None:
        where.append("id <= ?")
        params.append(min(int(until), 2**63 - 1))
    return where, params


# -- run lifecycle -----------------------------------------------------------------------------
def run_event(
    run: Run,
    *,
    status: RunStatus | None = None,
    error: dict[str, Any] | bool | None = True,
    fires: bool = True,
) -> Pending:
    """The lifecycle event of ``run`` now in ``status`` (default: its own). ``error``: True
    takes the run's error, else the error to report."""
    err = run.error if error is True else error
    return lifecycle(
        run.id, run.namespace, run.task, (status or run.status).value, run.schedule_id,
        run.subject, run.attempts, err if isinstance(err, dict) else None, fires=fires,
    )  # fmt: skip


def new_run_event(run_id: int, run: NewRun, *, fires: bool = True) -> Pending:
    """The event of a run just inserted as ``run`` (``run.queued``, ``run.skipped``...)."""
    err = run.error if isinstance(run.error, dict) else None
    return lifecycle(
        run_id, run.namespace, run.task, run.status.value, run.schedule_id, run.subject, 0,
        err, fires=fires,
    )  # fmt: skip


def lifecycle_parts(
    status: str, error: dict[str, Any] | None, *, finished: bool, retry_at: float | None
) -> tuple[str, str, str]:
    """What a lifecycle event's type and data take from the state change alone: the type,
    the error as JSON (``{"type", "message"}`` or ``null``) and the JSON members that follow
    it (``,"final":...,"retry_at":...`` for ``run.failed``, else empty). See `lifecycle`."""
    type_ = _TYPES.get(status) or "run." + status
    tail = ""
    if status == "failed":
        tail = ',"final":true,"retry_at":null'
    elif finished and status == "queued" and (error or {}).get("type") != SHUTDOWN_ERROR_TYPE:
        type_, tail = "run.failed", f',"final":false,"retry_at":{_json_iso(retry_at)}'
    err = "null"
    if error:
        err = _compact({"type": error.get("type"), "message": error.get("message")})
    return type_, err, tail


def lifecycle(
    run_id: int,
    namespace: str,
    task: str,
    status: str,
    schedule_id: str | None,
    subject: str | None,
    attempts: int,
    error: dict[str, Any] | None,
    *,
    finished: bool = False,
    retry_at: float | None = None,
    fires: bool = True,
) -> Pending:
    """The event of a run now in ``status``: ``run.queued``, ``run.started`` (running),
    ``run.succeeded``, ``run.failed``, ``run.dead``, ``run.cancelled``, ``run.skipped``.

    ``finished``: written by a worker; a queued run is then a failed attempt to be retried
    at ``retry_at`` (``run.failed`` with ``final`` false), unless the worker handed it back
    on shutdown. Data: ``{"run_id", "task", "status", "schedule_id", "attempts", "error":
    {"type", "message"} | null}``, plus ``final`` and ``retry_at`` for ``run.failed``.
    """
    type_, err, tail = lifecycle_parts(status, error, finished=finished, retry_at=retry_at)
    sid = "null" if schedule_id is None else _quote(schedule_id)
    data = (
        f'{{"run_id":{int(run_id)},"task":{_quote(task)},"status":"{status}",'
        f'"schedule_id":{sid},"attempts":{int(attempts)},"error":{err}{tail}}}'
    )
    return Pending(namespace, type_, subject, data, None, schedule_id, run_id, fires)


def finished_event(
    row: Sequence[Any], status: str, error: dict[str, Any] | None, retry_at: float | None
) -> Pending:
    """The event of an attempt a worker finished: ``row`` is the run's ``(id, namespace,
    task, schedule_id, subject, attempts)``, ``status`` the one written."""
    run_id, namespace, task, schedule_id, subject, attempts = row
    return lifecycle(
        run_id, namespace, task, status, schedule_id, subject, attempts, error,
        finished=True, retry_at=retry_at,
    )  # fmt: skip


# -- which schedules an event fires ------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """An enabled event schedule, ready to match events against."""

    schedule: Schedule
    pattern: str
    subjects: str | None
    debounce_s: float | None
    max_wait_s: float | None

    def matches(self, pending: Pending) -> bool:
        if pending.namespace != self.schedule.namespace:
            return False
        if pending.origin_schedule == self.schedule.id:
            return False  # a run's own events never fire its schedule
        if not fnmatch.fnmatchcase(pending.type, self.pattern):
            return False
        return self.subjects is None or (
            pending.subject is not None and fnmatch.fnmatchcase(pending.subject, self.subjects)
        )

    def due_at(self, now_s: float) -> float:
        assert self.debounce_s is not None
        return now_s + self.debounce_s


def rules_of(schedules: Iterable[Schedule]) -> list[Rule]:
    rules = []
    for schedule in schedules:
        trigger = schedule.trigger
        try:
            debounce = trigger.get("debounce")
            max_wait = trigger.get("max_wait")
            rules.append(
                Rule(
                    schedule,
                    str(trigger["event"]),
                    subject_glob(trigger.get("subjects")),
                    parse_duration(debounce).total_seconds() if debounce else None,
                    parse_duration(max_wait).total_seconds() if max_wait else None,
                )
            )
        except (KeyError, ValidationError) as exc:
            log.error("event schedule %s (%s) is broken: %s", schedule.name, schedule.id, exc)
    return rules


def matches(rules: Sequence[Rule], pending: Sequence[Pending]) -> list[tuple[int, Rule]]:
    """``(index in pending, rule)`` for every event that fires a schedule, in event order."""
    return [
        (i, rule) for i, p in enumerate(pending) if p.fires for rule in rules if rule.matches(p)
    ]


def fire_info(event: Event, chain: int) -> dict[str, Any]:
    info: dict[str, Any] = {"kind": "event", "event": event.to_dict(), "key": f"e{event.id}"}
    if chain:
        info["chain"] = chain
    return info


def group_info(events: Sequence[Event], count: int, first_id: int) -> dict[str, Any]:
    shown = [e.to_dict() for e in events[-MAX_GROUP_EVENTS:]]
    return {
        "kind": "event",
        "events": shown,
        "event": shown[-1] if shown else None,
        "count": count,
        "key": f"d{first_id}",
    }


def chain_of(trigger_info: dict[str, Any] | None) -> int:
    """How many lifecycle-fired links led to a run (0: it was not fired by a run's event)."""
    value = (trigger_info or {}).get("chain", 0)
    return value if isinstance(value, int) else 0


class DefaultsPlanner:
    """Plans runs of event schedules fired by lifecycle events, where no scheduler planner is
    at hand (a worker finishing runs): the task's defaults come from the ``tasks`` table,
    which every process fills with the tasks it registered (the same values `RunPlanner`
    takes from the registry)."""

    def __init__(self, tasks: dict[str, dict[str, Any]], now: datetime) -> None:
        self.tasks = tasks
        self.now = now

    def __call__(self, schedule: Schedule, busy: bool) -> Any:
        raise NotImplementedError("only for_subject plans lifecycle-fired runs")

    def for_subject(
        self, schedule: Schedule, subject: str | None, slot: datetime, info: dict[str, Any]
    ) -> NewRun:
        key = info.pop("key", None)
        return subject_run(schedule, subject, slot, info, self._defaults(schedule.task), key=key)

    def _defaults(self, task: str) -> RunDefaults:
        info = self.tasks.get(task)
        if not info:
            return RunDefaults()
        timeout = info.get("timeout")
        return RunDefaults(
            str(info.get("queue") or "default"),
            int(info.get("priority") or 0),
            int(info.get("retries") or 0),
            timedelta(seconds=float(timeout)) if timeout else None,
            int(info.get("max_recoveries", DEFAULT_MAX_RECOVERIES)),
        )


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _json_iso(value: float | None) -> str:
    if value is None:
        return "null"
    return '"' + _dt(value).isoformat(timespec="milliseconds").replace("+00:00", "Z") + '"'


def wake(notify: Any, out: Emitted) -> None:
    """Wake whoever waits on what a write with events changed (call after its commit)."""
    if out.wrote:
        notify("events")
    if out.runs:
        notify("runs")
    if out.debounced:
        notify("schedules")
