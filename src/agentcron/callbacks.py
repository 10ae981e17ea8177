"""``result_callback``: a function called with a task's result after each successful run.

It is named in config (``result_callback = "myapp.hooks:notify"`` on a ``[[task]]`` or a
``[[schedule]]``, imported when the config is loaded) or given in code
(``@app.task(result_callback=notify)``, ``app.schedule(..., result_callback=notify)``);
never through the REST API or MCP, which cannot name code. The function is sync (run in a
thread) or async, and takes the result, plus ``ctx`` if it declares a keyword-only ``ctx``::

    async def notify(result, *, ctx: agentcron.RunContext) -> None: ...

The worker calls it after the task returned and before the run is recorded as succeeded
(the task's callback first, then the schedule's), while the run still holds its lease: if
the worker dies in between, the run is executed again, callback included (at least once,
like the task). An exception in the callback is logged with the run id and does not fail the
run: the task's work is done and retrying it would repeat it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentcron._imports import import_object
from agentcron.context import RunContext
from agentcron.errors import ValidationError

__all__ = ["ResultCallback", "as_callback", "deliver"]

log = logging.getLogger("agentcron.worker")


@dataclass(frozen=True, slots=True)
class ResultCallback:
    """A function to call with a run's result; ``name`` is how it was given."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    takes_ctx: bool


def as_callback(value: Any, field: str = "result_callback") -> ResultCallback:
    """A callable, or ``"pkg.module:function"`` (imported now), as a `ResultCallback`.
    Raises `ValidationError` naming ``field``."""
    if isinstance(value, ResultCallback):
        return value
    if isinstance(value, str):
        fn, name = _imported(value, field), value
    elif callable(value):
        fn, name = value, f"{value.__module__}:{getattr(value, '__qualname__', value)}"
    else:
        raise ValidationError(f"expected 'module:function' or a function, got {value!r}",
                              field=field)  # fmt: skip
    params = _parameters(fn)
    ctx = params.get("ctx")
    takes_ctx = ctx is not None and ctx.kind is inspect.Parameter.KEYWORD_ONLY
    if not _takes_one_argument(params):
        raise ValidationError(f"{name} must take the result as its one positional argument"
                              " (and optionally a keyword-only ctx)", field=field)  # fmt: skip
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an async callable object
    )
    return ResultCallback(name, fn, is_async, takes_ctx)


def _imported(path: str, field: str) -> Callable[..., Any]:
    obj = import_object(path, field=field, example="myapp.hooks:notify")
    if not callable(obj):
        raise ValidationError(f"{path!r} is a {type(obj).__name__}, not a function", field=field)
    return obj  # type: ignore[no-any-return]


def _parameters(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: assume fn(result)
        return {"result": inspect.Parameter("result", inspect.Parameter.POSITIONAL_ONLY)}


def _takes_one_argument(params: dict[str, inspect.Parameter]) -> bool:
    kinds = [p.kind for p in params.values()]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return True
    positional = [p for p in params.values() if p.kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]  # fmt: skip
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    return len(required) <= 1 <= len(positional)


async def deliver(callback: ResultCallback, result: Any, ctx: RunContext) -> None:
    """Call ``callback`` with ``result``; an exception is logged, not raised."""
    kwargs: dict[str, Any] = {"ctx": ctx} if callback.takes_ctx else {}
    try:
        if callback.is_async:
            await callback.fn(result, **kwargs)
        else:
            await asyncio.to_thread(callback.fn, result, **kwargs)
    except Exception:
        log.exception("run %s: result_callback %s failed (the run still succeeded)",
                      ctx.run_id, callback.name)  # fmt: skip
