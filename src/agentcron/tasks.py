"""Tasks: ``@app.task`` / the module-level ``@agentcron.task``, and the registry."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar, overload

from agentcron.callbacks import ResultCallback, as_callback
from agentcron.durations import parse_duration
from agentcron.errors import TaskNotFound, ValidationError
from agentcron.models import DEFAULT_MAX_RECOVERIES, TaskOut
from agentcron.retry import DEFAULT_PERMANENT, Backoff, RetryPolicy

__all__ = ["Task", "TaskRegistry", "check_fit", "default_registry", "task"]

F = TypeVar("F", bound=Callable[..., Any])
Duration = str | int | float | timedelta


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    fn: Callable[..., Any]
    is_async: bool
    takes_ctx: bool
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: timedelta | None = None
    hard_timeout: timedelta | None = None
    max_concurrency: int | None = None
    queue: str = "default"
    priority: int = 0
    description: str = ""
    max_recoveries: int = DEFAULT_MAX_RECOVERIES
    result_callback: ResultCallback | None = None  # see agentcron.callbacks

    def to_dict(self) -> TaskOut:
        """The REST / ``--json`` shape (also what the store records of it)."""
        return {
            "name": self.name,
            "queue": self.queue,
            "priority": self.priority,
            "retries": self.retry.retries,
            "max_recoveries": self.max_recoveries,
            "timeout": self.timeout.total_seconds() if self.timeout else None,
            "hard_timeout": self.hard_timeout.total_seconds() if self.hard_timeout else None,
            "max_concurrency": self.max_concurrency,
            "async": self.is_async,
            "description": self.description,
        }


def make_task(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    retries: int = 0,
    backoff: Duration | tuple[Duration, Duration] | Backoff | None = None,
    timeout: Duration | None = None,
    hard_timeout: Duration | None = None,
    max_concurrency: int | None = None,
    queue: str = "default",
    priority: int = 0,
    permanent_errors: tuple[type[BaseException], ...] = (),
    max_recoveries: int = DEFAULT_MAX_RECOVERIES,
    result_callback: Callable[..., Any] | str | None = None,
) -> Task:
    """Build a `Task` from a function and its options (validated).

    ``retries``: how many times a run is tried again after a failure the task raised.
    ``max_recoveries``: how many times a run is queued again after its worker died (its
    lease expired: killed, out of memory, the machine gone), whatever ``retries`` says;
    once more and the run is ``dead`` with a ``LeaseExpired`` error. Recoveries do not use
    up retries. ``result_callback``: a function (or ``"module:function"``) called with the
    result of each successful run.
    """
    from agentcron.specs import MAX_RETRIES, check_name

    check_name(name or fn.__name__, "name")
    check_name(queue, "queue")
    if not 0 <= retries <= MAX_RETRIES:
        raise ValidationError(f"retries must be between 0 and {MAX_RETRIES}", field="retries")
    if (
        isinstance(max_recoveries, bool)
        or not isinstance(max_recoveries, int)
        or not (0 <= max_recoveries <= MAX_RETRIES)
    ):
        raise ValidationError(
            f"max_recoveries must be a whole number between 0 and {MAX_RETRIES}",
            field="max_recoveries",
        )
    if max_concurrency is not None and max_concurrency < 1:
        raise ValidationError("max_concurrency must be >= 1", field="max_concurrency")
    is_async = inspect.iscoroutinefunction(fn)
    if hard_timeout is not None and is_async:
        raise ValidationError("hard_timeout is for sync tasks; use timeout", field="hard_timeout")
    return Task(
        name=name or fn.__name__,
        fn=fn,
        is_async=is_async,
        takes_ctx=_takes_ctx(fn),
        retry=RetryPolicy(retries, _backoff(backoff), DEFAULT_PERMANENT + tuple(permanent_errors)),
        timeout=parse_duration(timeout, field="timeout") if timeout is not None else None,
        hard_timeout=(
            parse_duration(hard_timeout, field="hard_timeout") if hard_timeout is not None else None
        ),
        max_concurrency=max_concurrency,
        queue=queue,
        priority=priority,
        description=(inspect.getdoc(fn) or "").split("\n\n")[0],
        max_recoveries=max_recoveries,
        result_callback=_callback(result_callback),
    )


def check_fit(task: Task, args: Mapping[str, Any] | list[Any]) -> None:
    """Raise `ValidationError` (field ``args``) when ``args`` cannot be passed to the task's
    function: an object as keyword arguments, a list as positional ones. The ``ctx`` that
    agentcron passes is not the caller's to give. A function whose signature cannot be read
    is not checked."""
    try:
        signature = inspect.signature(task.fn)
    except (TypeError, ValueError):
        return
    params = [
        p.replace(annotation=p.empty)
        for p in signature.parameters.values()
        if not (task.takes_ctx and p.name == "ctx")
    ]
    shown = f"{task.name}{signature.replace(parameters=params, return_annotation=signature.empty)}"
    if isinstance(args, Mapping) and task.takes_ctx and "ctx" in args:
        raise ValidationError(f"'ctx' is passed by agentcron, not in args ({shown})", field="args")
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                  inspect.Parameter.VAR_POSITIONAL)  # fmt: skip
    keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
    takes_keywords_only = any(p.kind in keyword for p in params) and not any(
        p.kind in positional for p in params
    )
    if isinstance(args, list) and args and takes_keywords_only:
        raise ValidationError(
            f"{shown} takes keyword arguments only: give args as an object", field="args"
        )
    try:
        if isinstance(args, list):
            signature.replace(parameters=params).bind(*args)
        else:
            signature.replace(parameters=params).bind(**args)
    except TypeError as exc:
        raise ValidationError(f"do not fit {shown}: {exc}{_hint(exc, params)}",
                              field="args") from None  # fmt: skip


def _hint(exc: TypeError, params: list[inspect.Parameter]) -> str:
    """`` (did you mean 'x'?)`` for an unexpected keyword close to a parameter's name."""
    text = str(exc)
    if "unexpected keyword argument" not in text:
        return ""
    given = text.rsplit(" ", 1)[-1].strip("'")
    close = difflib.get_close_matches(given, [p.name for p in params], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _callback(value: Callable[..., Any] | str | None) -> ResultCallback | None:
    return None if value is None else as_callback(value)


def _backoff(value: Duration | tuple[Duration, Duration] | Backoff | None) -> Backoff:
    if value is None:
        return Backoff()
    if isinstance(value, Backoff):
        return value
    if isinstance(value, tuple):
        base, cap = value
        return Backoff(parse_duration(base, field="backoff"), parse_duration(cap, field="backoff"))
    return Backoff(base=parse_duration(value, field="backoff"))


def _takes_ctx(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    param = params.get("ctx")
    return param is not None and param.kind is inspect.Parameter.KEYWORD_ONLY


class TaskRegistry:
    """Name -> `Task`. ``registry.task`` is a decorator with or without options."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def add(self, task: Task) -> Task:
        self._tasks[task.name] = task
        return task

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise TaskNotFound(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def merge(self, other: TaskRegistry) -> None:
        for item in other:
            self._tasks.setdefault(item.name, item)

    @overload
    def task(self, fn: F, /) -> F: ...
    @overload
    def task(self, fn: None = None, /, **options: Any) -> Callable[[F], F]: ...

    def task(self, fn: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
        """Register a function as a task: ``@app.task`` or ``@app.task(retries=3)``."""

        def register(func: F) -> F:
            self.add(make_task(func, **options))
            return func

        return register(fn) if fn is not None else register


default_registry = TaskRegistry()
"""Where the module-level ``@agentcron.task`` registers (modules named in config ``tasks``)."""

task = default_registry.task
