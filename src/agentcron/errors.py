"""The one exception tree of agentcron.

```
AgentcronError
├── ValidationError            bad input; carries the field it is about (CLI exit 2, HTTP 422)
│   ├── InvalidTrigger
│   │   └── TriggerNotUnderstood   text in no form of the grammar (what an LLM may be asked)
│   ├── InvalidDuration
│   ├── InvalidTimezone
│   └── ConfigError            a config file problem, with its place in the file
├── AuthError                  not allowed
│   ├── Unauthorized           no valid API token (HTTP 401)
│   └── Forbidden              the token's scope or namespaces do not allow it (HTTP 403)
├── NotFound                   (HTTP 404)
│   ├── ScheduleNotFound
│   ├── RunNotFound
│   ├── TaskNotFound
│   └── TokenNotFound
├── Conflict                   (HTTP 409)
│   ├── ScheduleExists
│   ├── ScheduleQuotaExceeded  a namespace (or an MCP token) holds as many schedules as it may
│   └── InvalidRunState        e.g. retrying a run that is still running
├── StoreError                 the store cannot be used
│   ├── StoreUnavailable       cannot connect, or cannot write for now (HTTP 503, Retry-After)
│   ├── StoreRefused           a value the store cannot hold (sending it again cannot help)
│   └── SchemaError            not an agentcron database, or a newer schema than this code
└── TaskError                  raised inside task code paths
    ├── PermanentError         raise it from a task: the run is not retried
    │   ├── ResultTooLarge     the result is over the size cap, or not JSON
    │   └── WaitTimeout        a durable wait (signal, event) reached its timeout
    └── TaskTimeout
```

Driver exceptions (``sqlite3``, ``psycopg``) are translated inside ``agentcron.store``
and never leave it.
"""

from __future__ import annotations

__all__ = [
    "AgentcronError",
    "AuthError",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InvalidDuration",
    "InvalidRunState",
    "InvalidTimezone",
    "InvalidTrigger",
    "NotFound",
    "PermanentError",
    "ResultTooLarge",
    "RunNotFound",
    "ScheduleExists",
    "ScheduleNotFound",
    "ScheduleQuotaExceeded",
    "SchemaError",
    "StoreError",
    "StoreRefused",
    "StoreUnavailable",
    "TaskError",
    "TaskNotFound",
    "TaskTimeout",
    "TokenNotFound",
    "TriggerNotUnderstood",
    "Unauthorized",
    "ValidationError",
    "WaitTimeout",
]


class AgentcronError(Exception):
    """An agentcron error."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (type(self).__doc__ or type(self).__name__).strip()
        super().__init__(self.message)


class ValidationError(AgentcronError):
    """Invalid input."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidTrigger(ValidationError):
    """Invalid trigger."""

    def __init__(self, message: str | None = None, *, field: str | None = "trigger") -> None:
        super().__init__(message, field=field)


class TriggerNotUnderstood(InvalidTrigger):
    """Trigger text whose words, or their order, no form of the grammar understands.

    Other `InvalidTrigger` errors are about text that was understood but cannot be a trigger
    (a malformed cron field, a time already past, a rhythm cron cannot say); only this one is
    sent to the LLM fallback when one is configured."""


class InvalidDuration(ValidationError):
    """Invalid duration."""


class InvalidTimezone(ValidationError):
    """Unknown time zone."""

    def __init__(self, message: str | None = None, *, field: str | None = "timezone") -> None:
        super().__init__(message, field=field)


class ConfigError(ValidationError):
    """Invalid configuration."""

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        problems: list[str] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.problems = problems or [str(self)]


class AuthError(AgentcronError):
    """Not allowed."""


class Unauthorized(AuthError):
    """A valid API token is required: send ``Authorization: Bearer <token>``."""


class Forbidden(AuthError):
    """This token's scope does not allow this."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(AgentcronError):
    """Not found."""


class ScheduleNotFound(NotFound):
    """Schedule not found."""

    def __init__(self, key: str) -> None:
        super().__init__(f"schedule {key!r} not found")
        self.key = key


class RunNotFound(NotFound):
    """Run not found."""

    def __init__(self, run_id: int | str) -> None:
        super().__init__(f"run {run_id!r} not found")
        self.run_id = run_id


class TaskNotFound(NotFound):
    """Task not registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"task {name!r} is not registered")
        self.name = name


class TokenNotFound(NotFound):
    """Token not found."""

    def __init__(self, token_id: str) -> None:
        super().__init__(f"token {token_id!r} not found")
        self.token_id = token_id


class Conflict(AgentcronError):
    """Conflict with the current state."""


class ScheduleExists(Conflict):
    """A schedule with this name already exists."""

    def __init__(self, name: str, namespace: str = "default") -> None:
        super().__init__(f"schedule {name!r} already exists in namespace {namespace!r}")
        self.name = name


class ScheduleQuotaExceeded(Conflict):
    """As many schedules as allowed exist already: delete one before creating another."""

    def __init__(self, limit: int, *, namespace: str | None = None) -> None:
        holder = (
            "this token already owns"
            if namespace is None
            else (f"namespace {namespace!r} already holds")
        )
        setting = "" if namespace is None else " (max_schedules)"
        super().__init__(
            f"{holder} {limit} schedules, its limit{setting}: delete one of them before "
            "creating another"
        )
        self.limit = limit
        self.namespace = namespace


class InvalidRunState(Conflict):
    """The run is not in a state that allows this."""


class StoreError(AgentcronError):
    """The store failed."""


class StoreUnavailable(StoreError):
    """The store cannot be reached, or cannot write for now (a full disk); trying again later
    may succeed: ``retry_after_s`` says when it is worth it (REST: ``Retry-After``)."""

    def __init__(self, message: str | None = None, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreRefused(StoreError):
    """The store refused a value it cannot hold; sending the same value again cannot help."""


class SchemaError(StoreError):
    """The database schema is not one this version of agentcron can use."""


class TaskError(AgentcronError):
    """A task failed."""


class PermanentError(TaskError):
    """A failure that retrying will not fix: the run is not retried."""


class ResultTooLarge(PermanentError):
    """The task result is too large to store."""


class WaitTimeout(PermanentError):
    """A durable wait (`RunContext.wait_for_signal`, `RunContext.wait_for_event`) reached its
    timeout. It is the wait's recorded outcome: every later execution of the run sees it
    again at that wait, so a run that lets it escape is not retried."""


class TaskTimeout(TaskError):
    """The task ran longer than its timeout."""
