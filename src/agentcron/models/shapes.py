"""The JSON shapes of the models: what the REST API answers, ``--json`` prints and MCP tools
return. Each shape is defined once, here, as a `TypedDict`:

- the model's ``to_dict`` builds it (``mypy --strict`` checks every key and value type);
- the REST API documents it as the response model of its routes (``/openapi.json``), a
  field's `Doc` as its description; ``tests/api`` checks every route's actual answers
  against that document.

Pydantic reads these classes at the API (`shape`, `Doc` and `Time` speak its schema
protocol); nothing here imports it, so that the models stay light for the CLI and workers.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from typing_extensions import TypedDict

from agentcron.models.values import Args, Misfire, Overlap, RunStatus, ScheduleSource, Scope

__all__ = [
    "Doc",
    "EventOut",
    "ForEachSubjectOut",
    "ProposedCallOut",
    "RunOut",
    "ScheduleOut",
    "StepOut",
    "SubjectOut",
    "TaskOut",
    "Time",
    "TokenOut",
    "WaitingForOut",
    "WorkerInfoOut",
    "shape",
]

S = TypeVar("S")


class _DateTime:
    """Marks text written by `iso`, so that the API documents it as a date-time."""

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


class Doc:
    """A field's description in the API's documentation: ``Annotated[int, Doc("...")]``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return {**handler(schema), "description": self.text}


Time = Annotated[str, _DateTime()]
"""An ISO 8601 UTC time: ``2030-01-07T12:00:00.000Z`` (`iso`)."""
_RECOVERIES = Doc(
    "Times the run was queued again because its worker died (lease expired); recoveries "
    "do not use up retries."
)
_MAX_RECOVERIES = Doc(
    "Recoveries allowed (the task's max_recoveries, default 3); one more lost lease and the "
    "run is dead with a LeaseExpired error."
)


def shape(cls: type[S]) -> type[S]:
    """A response shape: documented as having no other keys (a pydantic option, read from
    the class when the API builds its schema)."""
    cls.__pydantic_config__ = {"extra": "forbid"}  # type: ignore[attr-defined]
    return cls


_ARGS = Doc("The task's arguments as given: an object (keyword) or array (positional).")


@shape
class ForEachSubjectOut(TypedDict):
    """A schedule's ``for_each_subject``: one run per matching subject at each firing."""

    subjects: Annotated[str | None, Doc("A glob on subject names; null: every subject.")]
    batch_size: int


@shape
class ScheduleOut(TypedDict):
    """A schedule."""

    id: str
    name: str
    namespace: str
    task: str
    trigger: Annotated[dict[str, Any], Doc("The normalized trigger object.")]
    description: str
    args: Annotated[Args, _ARGS]
    enabled: bool
    parked: Annotated[bool, Doc("No running process registers its task: kept, not fired.")]
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
    limit: Annotated[str | None, Doc("A per-subject quota: `3 per day`.")]
    for_each_subject: ForEachSubjectOut | None
    timezone: str
    metadata: dict[str, Any]
    thread_id: str | None
    source: Annotated[ScheduleSource, Doc("Where it was made: api (REST, CLI, MCP), config...")]
    created_at: Time
    updated_at: Time


@shape
class StepOut(TypedDict):
    """A durable step of a run (`ctx.step`, or a finished wait), in the order it started."""

    name: Annotated[str, Doc("Unique within the run; waits are `sleep:1`, `signal:NAME:1`...")]
    status: Annotated[str, Doc("`running`, `succeeded` or `failed`.")]
    started_at: Time
    finished_at: Time | None
    result: Annotated[Any, Doc("Its stored JSON result (succeeded), returned on replay.")]
    error: Annotated[dict[str, Any] | None, Doc("Why it failed: type, message.")]


@shape
class ProposedCallOut(TypedDict):
    """A tool call an agent proposes, waiting for a person's approval."""

    tool: Annotated[str, Doc("The tool the model asked for.")]
    args: Annotated[dict[str, Any], Doc("Its arguments, as the model wrote them.")]


@shape
class WaitingForOut(TypedDict, total=False):
    """What a waiting run waits for."""

    kind: Annotated[str, Doc("`sleep`, `signal` or `event`.")]
    name: Annotated[str, Doc("The signal's name.")]
    pattern: Annotated[str, Doc("The event type's glob.")]
    subject: Annotated[str | None, Doc("The event's subject (null: any).")]
    until: Annotated[Time | None, Doc("When the sleep ends, or the wait times out.")]
    step: Annotated[str, Doc("The step the wait completes.")]
    call: Annotated[
        ProposedCallOut,
        Doc("An agent run waiting for signal `approve`: the tool call it proposes."),
    ]
    interrupts: Annotated[
        list[dict[str, Any]],
        Doc("A graph run waiting for signal `resume`: its `interrupt()`s, `[{id, value}]`."),
    ]


@shape
class RunOut(TypedDict):
    """A run."""

    id: Annotated[int, Doc("Ids grow with each run queued.")]
    namespace: str
    task: str
    queue: Annotated[str, Doc("The queue it waits in: a worker claims from its queues.")]
    priority: Annotated[int, Doc("Runs of higher priority are claimed first.")]
    schedule_id: Annotated[str | None, Doc("The schedule that queued it; null: enqueued.")]
    subject: Annotated[str | None, Doc("What it runs for (`user:42`), if anything.")]
    status: RunStatus
    args: Annotated[Args, _ARGS]
    attempts: Annotated[int, Doc("Times the run was started (a recovery counts too).")]
    max_attempts: Annotated[int, Doc("Attempts allowed: retries + 1, plus one for each recovery.")]
    recoveries: Annotated[int, _RECOVERIES]
    max_recoveries: Annotated[int, _MAX_RECOVERIES]
    scheduled_for: Time | None
    queued_at: Time
    available_at: Time
    started_at: Time | None
    finished_at: Time | None
    lag: Annotated[float | None, Doc("Seconds from scheduled_for (or queued_at) to started_at.")]
    duration: Annotated[float | None, Doc("Seconds from started_at to finished_at.")]
    result: Any
    error: Annotated[dict[str, Any] | None, Doc("The last failure: type, message, traceback.")]
    worker: str | None
    dedup_key: str | None
    trigger: Annotated[dict[str, Any] | None, Doc("What fired it (trigger kind, slot, event).")]
    waiting_for: Annotated[WaitingForOut | None, Doc("While waiting: for what, until when.")]
    steps: Annotated[
        list[StepOut] | None,
        Doc(
            "Its durable steps (`ctx.step`, finished waits); in a run's own answer, null in "
            "listings."
        ),
    ]


@shape
class EventOut(TypedDict):
    """A stored event."""

    id: Annotated[int, Doc("Ids grow with each event published (a subscriber's cursor).")]
    type: Annotated[str, Doc("A dotted name: `user.signup`.")]
    namespace: str
    subject: Annotated[str | None, Doc("What it is about (`user:42`), if anything.")]
    data: Annotated[dict[str, Any], Doc("A JSON object (at most 64 KiB).")]
    created_at: Time


@shape
class SubjectOut(TypedDict):
    """A subject's recorded activity."""

    namespace: str
    subject: str
    last_activity_at: Time | None
    message_count: Annotated[int, Doc("Activity of kind `message` (what `messages` counts).")]
    first_seen_at: Time | None


@shape
class WorkerInfoOut(TypedDict):
    """A worker process, as it registered and last heartbeated."""

    id: str
    host: str
    pid: int
    queues: Annotated[list[str], Doc("The queues it claims from; empty: all.")]
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
    namespaces: Annotated[list[str], Doc("The namespaces it may use; `*`: all.")]
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
