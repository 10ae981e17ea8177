"""Request and response bodies of the REST API (Pydantic at the boundary, dataclasses inside).

Responses are the models' ``to_dict()`` shapes (`Schedule.to_dict`, `Run.to_dict`); the models
here document them in ``/openapi.json``. Request bodies are strict: an unknown key or a value of
the wrong JSON type is a 422 naming the field, before anything is stored. Deeper checks
(triggers, durations, names, sizes) are `agentcron.specs`', shared with every other surface.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Strict, field_validator

from agentcron.models import Misfire, Overlap, RunStatus, Scope

__all__ = [
    "BackfillIn",
    "BackfillOut",
    "EnqueueIn",
    "ErrorBody",
    "FanOutOut",
    "HealthOut",
    "In",
    "Name",
    "ParseOut",
    "RunOut",
    "RunPage",
    "ScheduleCreated",
    "ScheduleIn",
    "ScheduleOut",
    "SchedulePage",
    "SchedulePatch",
    "StatsOut",
    "SubjectOut",
    "TaskList",
    "TokenCreated",
    "TokenIn",
    "TokenList",
    "TokenOut",
    "TriggerNowIn",
    "WorkerList",
]

# Strict scalars: a JSON string is not a number, a number is not a string, 1 is not true.
Str = Annotated[str, Strict()]
Bool = Annotated[bool, Strict()]
Name = Annotated[str, Strict(), Field(min_length=1, max_length=200)]
Text = Annotated[str, Strict(), Field(max_length=2000)]
Seconds = Annotated[float, Strict(), Field(ge=0, le=10**9, allow_inf_nan=False)]
Duration = Annotated[str, Strict(), Field(min_length=1, max_length=100)] | Seconds
"""``"1h30m"``, ``"PT5M"``, or seconds."""
TriggerIn = Annotated[str, Strict(), Field(min_length=1, max_length=1000)] | dict[str, Any]
"""The trigger grammar as a string (``"every weekday at 9am"``) or its object form."""
Priority = Annotated[int, Strict(), Field(ge=-1_000_000, le=1_000_000)]
Retries = Annotated[int, Strict(), Field(ge=0, le=1000)]
Subject = Annotated[str, Strict(), Field(min_length=1, max_length=256, examples=["user:42"])]
ArgsIn = Annotated[
    dict[str, Any] | list[Any] | None,
    Field(
        description="The task's arguments: an object (keyword arguments) or an array "
        "(positional arguments), checked against the function's signature.",
        examples=[{"channel": "email"}, [1, "x"]],
    ),
]
ArgsOut = Annotated[
    dict[str, Any] | list[Any],
    Field(description="The task's arguments as given: an object (keyword) or array (positional)."),
]


class In(BaseModel):
    """A request body: unknown keys, values of the wrong JSON type, and text holding NUL
    characters (which PostgreSQL cannot store) are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text must not contain NUL characters (\\u0000)")
        return value


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 64:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


# -- errors ------------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# -- schedules ---------------------------------------------------------------------------------
class _ScheduleFields(In):
    name: Name | None = None
    timezone: Annotated[str, Strict(), Field(max_length=100)] | None = None
    args: ArgsIn = None
    enabled: Bool | None = None
    misfire: Misfire | None = None
    misfire_grace: Duration | None = None
    overlap: Overlap | None = None
    retries: Retries | None = None
    timeout: Duration | None = None
    priority: Priority | None = None
    queue: Name | None = Field(
        default=None, description="A name: letters, digits and _ . : @ / -, up to 200."
    )
    jitter: Duration | None = Field(
        default=None,
        description="A random delay of up to this much for each run; at most the trigger's "
        "period (a cron's shortest gap between slots, an interval's `every`).",
    )
    namespace: Name | None = None
    description: Text | None = None
    limit: Annotated[str, Strict(), Field(max_length=100)] | dict[str, Any] | None = None
    for_each_subject: Bool | Annotated[Str, Field(max_length=200)] | dict[str, Any] | None = None
    metadata: dict[str, Any] | None = Field(
        None, description="Given to each run (ctx.metadata; a graph's input metadata)."
    )
    thread_id: Annotated[str, Strict(), Field(min_length=1, max_length=200)] | None = Field(
        None, description="A graph task's thread (default: the run's subject, else the name)."
    )


class ScheduleIn(_ScheduleFields):
    """A new schedule: a registered task and a trigger, plus optional policies."""

    task: Name
    trigger: TriggerIn


_NOT_NULL = ("name", "task", "trigger", "enabled", "namespace", "misfire", "overlap")


class SchedulePatch(_ScheduleFields):
    """Any fields of a schedule; the next fire time is recomputed when the trigger, its time
    zone or ``enabled`` change. ``null`` resets an optional policy to its default."""

    task: Name | None = None
    trigger: TriggerIn | None = None

    @field_validator(*_NOT_NULL, mode="after")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ScheduleOut(BaseModel):
    id: str
    name: str
    namespace: str
    task: str
    trigger: dict[str, Any]
    description: str
    args: ArgsOut
    enabled: bool
    parked: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    misfire: Misfire
    misfire_grace: float | None
    overlap: Overlap
    retries: int | None
    timeout: float | None
    priority: int | None
    queue: str | None
    jitter: float | None
    limit: str | None
    for_each_subject: dict[str, Any] | None
    timezone: str
    metadata: dict[str, Any]
    thread_id: str | None
    source: str
    created_at: datetime
    updated_at: datetime


class ScheduleCreated(ScheduleOut):
    """A created schedule; ``trigger_source`` says who read its trigger: ``grammar``, or
    ``llm`` for text only the server's LLM understood (``source`` is where the schedule came
    from: ``api``, ``config``, ``code``)."""

    trigger_source: Literal["grammar", "llm"]


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    next_cursor: str | None


class BackfillIn(In):
    """The window whose slots to run: ``from <= slot <= to`` (ISO 8601 with an offset)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: Annotated[AwareDatetime, Field(alias="from")]
    to: AwareDatetime


# -- runs --------------------------------------------------------------------------------------
class EnqueueIn(In):
    """One run of a registered task."""

    task: Name
    args: ArgsIn = None
    delay: Duration | None = None
    at: AwareDatetime | None = None
    dedup_key: Name | None = None
    queue: Name | None = Field(
        default=None, description="A name: letters, digits and _ . : @ / -, up to 200."
    )
    priority: Priority | None = None
    retries: Retries | None = None
    timeout: Duration | None = None
    subject: Subject | None = None
    namespace: Name | None = None


class RunOut(BaseModel):
    id: int
    namespace: str
    task: str
    queue: str
    priority: int
    schedule_id: str | None
    subject: str | None
    status: RunStatus
    args: ArgsOut
    attempts: int = Field(description="Times the run was started (a recovery counts too).")
    max_attempts: int = Field(
        description="Attempts allowed: retries + 1, plus one for each recovery."
    )
    recoveries: int = Field(
        description="Times the run was queued again because its worker died (lease expired); "
        "recoveries do not use up retries."
    )
    max_recoveries: int = Field(
        description="Recoveries allowed (the task's max_recoveries, default 3); one more lost "
        "lease and the run is dead with a LeaseExpired error."
    )
    scheduled_for: datetime | None
    queued_at: datetime
    available_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lag: float | None
    duration: float | None
    result: Any = None
    error: dict[str, Any] | None
    worker: str | None
    dedup_key: str | None
    trigger: dict[str, Any] | None


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class TriggerNowIn(In):
    """Optional body of ``/trigger``."""

    args: dict[str, Any] | list[Any] | None = Field(
        None,
        description="For this run only: a JSON object is merged into the schedule's args; "
        "anything else replaces them.",
    )


class FanOutOut(BaseModel):
    """The answer of ``/trigger`` for a schedule with ``for_each_subject``: it fans out as a
    firing of it does, one run per matching subject."""

    queued: int = Field(description="Runs queued, one per matching subject.")
    skipped: int = Field(description="Runs recorded as skipped: over the schedule's limit.")
    runs: list[RunOut] = Field(description="The first 100 of those runs, by subject.")


class BackfillOut(BaseModel):
    slots: list[datetime]
    created: int
    runs: list[RunOut]


# -- the rest ----------------------------------------------------------------------------------
class SubjectOut(BaseModel):
    namespace: str
    subject: str
    last_activity_at: datetime | None
    message_count: int
    first_seen_at: datetime | None


class TaskOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


class TaskList(BaseModel):
    items: list[TaskOut]


class ParseOut(BaseModel):
    trigger: dict[str, Any]
    description: str
    next: list[datetime]
    source: Literal["grammar", "llm"]


class StatsOut(BaseModel):
    namespace: str | None
    runs_by_status: dict[str, int]
    schedules: int
    schedules_enabled: int
    schedules_parked: int
    oldest_queued_at: datetime | None
    workers: int


class WorkerOut(BaseModel):
    id: str
    host: str
    pid: int
    queues: list[str] | None
    concurrency: int
    running: int
    started_at: datetime
    last_heartbeat_at: datetime
    alive: bool


class WorkerList(BaseModel):
    items: list[WorkerOut]


class HealthOut(BaseModel):
    status: Literal["healthy", "degraded", "critical"]
    reasons: list[str]
    checks: dict[str, dict[str, Any]]


# -- tokens ------------------------------------------------------------------------------------
class TokenIn(In):
    scope: Scope
    namespaces: Annotated[list[Name], Field(min_length=1, max_length=100)] = ["default"]
    name: Annotated[str, Strict(), Field(max_length=200)] | None = None


class TokenOut(BaseModel):
    id: str
    name: str
    scope: Scope
    namespaces: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown once, send it as 'Bearer <token>'.")


class TokenList(BaseModel):
    items: list[TokenOut]
