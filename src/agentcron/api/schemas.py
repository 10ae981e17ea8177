"""Request and response bodies of the REST API (Pydantic at the boundary, dataclasses inside).

Responses: each shape is defined once, as a `TypedDict`. The models' shapes are in
`agentcron.models.shapes` (`ScheduleOut`, `RunOut`...: what ``to_dict()`` builds); the shapes
only the API answers (pages, ``/v1/stats``, ``/healthz``, errors...) are here, and the code
that builds each is typed with it. The routes name them as response models, so
``/openapi.json`` documents exactly what is sent; ``tests/api`` checks every route's actual
answers against that document. Answers are encoded once (`agentcron.api.respond`), not
passed through pydantic.

Request bodies are strict: an unknown key or a value of the wrong JSON type is a 422 naming
the field, before anything is stored. Deeper checks (triggers, durations, names, sizes) are
`agentcron.specs`', shared with every other surface.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Strict, field_validator
from typing_extensions import TypedDict

from agentcron.models import (
    Doc,
    EventOut,
    Misfire,
    Overlap,
    RunOut,
    ScheduleOut,
    Scope,
    SubjectOut,
    TaskOut,
    Time,
    TokenOut,
    WorkerInfoOut,
    shape,
)

__all__ = [
    "BackfillIn",
    "BackfillOut",
    "EnqueueIn",
    "ErrorBody",
    "ErrorDetail",
    "EventOut",
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
    "TaskOut",
    "TokenCreated",
    "TokenIn",
    "TokenList",
    "TokenOut",
    "TriggerNowIn",
    "WorkerList",
    "WorkerOut",
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
@shape
class ErrorDetail(TypedDict):
    code: Annotated[str, Doc("What went wrong, in snake case: not_found, validation_error...")]
    message: str
    field: NotRequired[Annotated[str, Doc("The request field it is about, if there is one.")]]


@shape
class ErrorBody(TypedDict):
    """An error answer."""

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


@shape
class ScheduleCreated(ScheduleOut):
    """A created schedule; ``trigger_source`` says who read its trigger: ``grammar``, or
    ``llm`` for text only the server's LLM understood (``source`` is where the schedule came
    from: ``api``, ``config``, ``code``)."""

    trigger_source: Literal["grammar", "llm"]


@shape
class SchedulePage(TypedDict):
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


@shape
class RunPage(TypedDict):
    items: list[RunOut]
    next_cursor: str | None


class TriggerNowIn(In):
    """Optional body of ``/trigger``."""

    args: dict[str, Any] | list[Any] | None = Field(
        None,
        description="For this run only: a JSON object is merged into the schedule's args; "
        "anything else replaces them.",
    )


@shape
class FanOutOut(TypedDict):
    """The answer of ``/trigger`` for a schedule with ``for_each_subject``: it fans out as a
    firing of it does, one run per matching subject."""

    queued: Annotated[int, Doc("Runs queued, one per matching subject.")]
    skipped: Annotated[int, Doc("Runs recorded as skipped: over the schedule's limit.")]
    runs: Annotated[list[RunOut], Doc("The first 100 of those runs, by subject.")]


@shape
class BackfillOut(TypedDict):
    slots: list[Time]
    created: int
    runs: list[RunOut]


# -- the rest ----------------------------------------------------------------------------------
@shape
class TaskList(TypedDict):
    items: list[TaskOut]


@shape
class ParseOut(TypedDict):
    trigger: dict[str, Any]
    description: str
    next: list[Time]
    source: Literal["grammar", "llm"]


@shape
class StatsOut(TypedDict):
    namespace: str | None
    runs_by_status: dict[str, int]
    schedules: int
    schedules_enabled: int
    schedules_parked: int
    oldest_queued_at: Time | None
    workers: int


@shape
class WorkerOut(WorkerInfoOut):
    alive: Annotated[bool, Doc("It heartbeated recently (within twice the lease, by default).")]


@shape
class WorkerList(TypedDict):
    items: list[WorkerOut]


@shape
class HealthOut(TypedDict):
    status: Literal["healthy", "degraded", "critical"]
    reasons: list[str]
    checks: dict[str, dict[str, Any]]


# -- tokens ------------------------------------------------------------------------------------
class TokenIn(In):
    scope: Scope
    namespaces: Annotated[list[Name], Field(min_length=1, max_length=100)] = ["default"]
    name: Annotated[str, Strict(), Field(max_length=200)] | None = None


@shape
class TokenCreated(TokenOut):
    token: Annotated[str, Doc("The secret: shown once, send it as `Bearer <token>`.")]


@shape
class TokenList(TypedDict):
    items: list[TokenOut]
