"""The JSON shapes of the models: what the REST API answers, ``--json`` prints and MCP tools
return. Each shape is defined once, here, as a `TypedDict`:

- the model's ``to_dict`` builds it (``mypy --strict`` checks every key and value type);
- the REST API documents it as the response model of its routes (``/openapi.json``), with
  the field docstrings below as descriptions; ``tests/api`` checks every route's actual
  answers against that document.

Pydantic reads these classes at the API (`shape` sets its options on them); nothing here
imports it, so that the models stay light for the CLI and the workers.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from typing_extensions import TypedDict

from agentcron.models.values import Args, Misfire, Overlap, RunStatus, ScheduleSource, Scope

__all__ = [
    "EventOut",
    "ForEachSubjectOut",
    "RunOut",
    "ScheduleOut",
    "SubjectOut",
    "TaskOut",
    "Time",
    "TokenOut",
    "WorkerInfoOut",
    "shape",
]

S = TypeVar("S")


class _DateTime:
    """Marks text written by `iso`, so that the API documents it as a date-time."""

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


Time = Annotated[str, _DateTime()]
"""An ISO 8601 UTC time: ``2030-01-07T12:00:00.000Z`` (`iso`)."""


def shape(cls: type[S]) -> type[S]:
    """A response shape: documented with no other keys, its field docstrings as descriptions
    (pydantic's options, read from the class when the API builds its schema)."""
    cls.__pydantic_config__ = {"extra": "forbid", "use_attribute_docstrings": True}  # type: ignore[attr-defined]
    return cls


@shape
class ForEachSubjectOut(TypedDict):
    """A schedule's ``for_each_subject``: one run per matching subject at each firing."""

    subjects: str | None
    """A glob on subject names; null: every subject of the namespace."""
    batch_size: int


@shape
class ScheduleOut(TypedDict):
    """A schedule."""

    id: str
    name: str
    namespace: str
    task: str
    trigger: dict[str, Any]
    """The normalized trigger object."""
    description: str
    args: Args
    """The task's arguments as given: an object (keyword) or array (positional)."""
    enabled: bool
    parked: bool
    """Its task is registered by no running process: kept, not fired."""
    next_run_at: Time | None
    last_run_at: Time | None
    misfire: Misfire
    misfire_grace: float | None
    overlap: Overlap
    retries: int | None
    timeout: float | None
    priority: int | None
    queue: str | None
    jitter: float | None
    limit: str | None
    """A per-subject quota: ``3 per day``."""
    for_each_subject: ForEachSubjectOut | None
    timezone: str
    metadata: dict[str, Any]
    thread_id: str | None
    source: ScheduleSource
    """Where it came from: ``api`` (REST, CLI, MCP), ``config``, ``code``, ``system``."""
    created_at: Time
    updated_at: Time


@shape
class RunOut(TypedDict):
    """A run."""

    id: int
    namespace: str
    task: str
    queue: str
    priority: int
    schedule_id: str | None
    subject: str | None
    status: RunStatus
    args: Args
    """The task's arguments as given: an object (keyword) or array (positional)."""
    attempts: int
    """Times the run was started (a recovery counts too)."""
    max_attempts: int
    """Attempts allowed: retries + 1, plus one for each recovery."""
    recoveries: int
    """Times the run was queued again because its worker died (lease expired); recoveries do
    not use up retries."""
    max_recoveries: int
    """Recoveries allowed (the task's max_recoveries, default 3); one more lost lease and the
    run is dead with a LeaseExpired error."""
    scheduled_for: Time | None
    queued_at: Time
    available_at: Time
    started_at: Time | None
    finished_at: Time | None
    lag: float | None
    """Seconds from ``scheduled_for`` (else ``queued_at``) to ``started_at``."""
    duration: float | None
    """Seconds from ``started_at`` to ``finished_at``."""
    result: Any
    error: dict[str, Any] | None
    """``{"type", "message", "traceback"}`` of the last failed attempt."""
    worker: str | None
    dedup_key: str | None
    trigger: dict[str, Any] | None
    """What fired it: the schedule's trigger kind and slot, the event..."""


@shape
class EventOut(TypedDict):
    """A stored event (ids grow with each event published)."""

    id: int
    type: str
    namespace: str
    subject: str | None
    data: dict[str, Any]
    created_at: Time


@shape
class SubjectOut(TypedDict):
    """A subject's recorded activity."""

    namespace: str
    subject: str
    last_activity_at: Time | None
    message_count: int
    """Activity of kind ``message`` recorded (what ``messages`` triggers count)."""
    first_seen_at: Time | None


@shape
class WorkerInfoOut(TypedDict):
    """A worker process, as it registered and last heartbeated."""

    id: str
    host: str
    pid: int
    queues: list[str]
    """The queues it claims from; empty: all."""
    concurrency: int
    running: int
    started_at: Time
    last_heartbeat_at: Time


@shape
class TokenOut(TypedDict):
    """An API token (never its secret)."""

    id: str
    name: str
    scope: Scope
    namespaces: list[str]
    """The namespaces it may use; ``*``: all."""
    created_at: Time
    last_used_at: Time | None
    revoked_at: Time | None


TaskOut = TypedDict(
    "TaskOut",
    {
        "name": str,
        "queue": str,
        "priority": int,
        "retries": int,
        "max_recoveries": int,
        "timeout": float | None,
        "hard_timeout": float | None,
        "max_concurrency": int | None,
        "async": bool,
        "description": str,
    },
)
"""A task runs can name (made by a call: ``async`` is a Python keyword)."""
shape(TaskOut)
