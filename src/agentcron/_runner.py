"""Run one claimed run: call the task, apply its timeout, turn what happened into an outcome."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import pickle
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from agentcron.context import RunContext
from agentcron.durable import Journal, Suspend
from agentcron.errors import PermanentError, ResultTooLarge, TaskTimeout
from agentcron.models import Run, RunOutcome, RunStatus
from agentcron.specs import storable_size
from agentcron.tasks import Task

__all__ = ["DEFAULT_MAX_RESULT_BYTES", "execute", "outcome_for_error"]

log = logging.getLogger("agentcron.worker")

DEFAULT_MAX_RESULT_BYTES = 64 * 1024
MAX_TRACEBACK_CHARS = 16 * 1024
MAX_MESSAGE_CHARS = 4 * 1024


class RunCancelled(Exception):
    """The run was cancelled on request."""


def make_context(run: Run, worker_id: str, journal: Journal | None = None) -> RunContext:
    """The context of an execution of ``run``; with ``journal``, its durable steps and waits
    are stored (`agentcron.durable`)."""
    info = run.trigger_info or {}
    return RunContext(
        run_id=run.id,
        task=run.task,
        attempt=run.attempts,
        max_attempts=run.max_attempts,
        scheduled_for=run.scheduled_for,
        schedule=info.get("schedule"),
        subject=run.subject,
        namespace=run.namespace,
        args=run.args,
        worker=worker_id,
        event=info.get("event"),
        metadata=info.get("metadata") or {},
        thread_id=info.get("thread_id"),
        logger=logging.LoggerAdapter(
            logging.getLogger(f"agentcron.task.{run.task}"), {"run_id": run.id}
        ),
        _journal=journal,
    )


async def execute(
    task: Task,
    run: Run,
    ctx: RunContext | None,
    executor: Executor,
    now: Callable[[], datetime],
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
) -> RunOutcome:
    """Run ``task`` for ``run``; never raises except `asyncio.CancelledError` on shutdown.
    Args that are a list are passed as positional arguments, an object as keyword ones.
    A run that reached a wait it must suspend at answers ``WAITING`` with the `Suspend` as
    its result (the worker suspends it: not a failure, no retry used)."""
    listed = isinstance(run.args, list)
    call = Call(list(run.args), {}) if listed else Call([], dict(run.args))
    if task.takes_ctx:
        call.kwargs["ctx"] = ctx
    timeout = run.timeout or task.timeout
    journal = ctx._journal if ctx is not None else None
    try:
        result = await _call(task, call, timeout, executor, journal)
        _check_result(result, max_result_bytes)
    except Suspend as wait:
        return RunOutcome(run.id, RunStatus.WAITING, result=wait)
    except RunCancelled:
        return RunOutcome(run.id, RunStatus.CANCELLED, error=_error(RunCancelled("cancelled")))
    except asyncio.CancelledError as exc:
        current = asyncio.current_task()
        if current is None or current.cancelling():
            raise  # the worker cancelled the run (request, shutdown)
        return outcome_for_error(task, run, exc, now())  # raised by the task's own code
    except Exception as exc:
        return outcome_for_error(task, run, exc, now())
    return RunOutcome(run.id, RunStatus.SUCCEEDED, result=result)


@dataclass(frozen=True, slots=True)
class Call:
    """The arguments of one call: positional and keyword."""

    args: list[Any]
    kwargs: dict[str, Any]


async def _call(
    task: Task, call: Call, timeout: timedelta | None, executor: Executor, journal: Journal | None
) -> Any:
    seconds = timeout.total_seconds() if timeout else None
    if task.is_async:
        coro = task.fn(*call.args, **call.kwargs)
        if seconds is None:
            return await coro
        scope = asyncio.timeout(seconds)
        try:
            async with scope:
                if journal is not None:  # a resumed run's deadline counts its earlier runs
                    journal.deadline = scope
                return await coro
        except TimeoutError:
            if not scope.expired():
                raise  # raised by the task's own code
            raise TaskTimeout(f"task {task.name!r} timed out after {seconds:g}s") from None
    if task.hard_timeout is not None:
        return await run_in_process(task.fn, call, task.hard_timeout.total_seconds())
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(executor, partial(task.fn, *call.args, **call.kwargs))
    if seconds is None:
        return await future
    try:
        return await asyncio.wait_for(future, seconds)
    except TimeoutError:
        raise TaskTimeout(
            f"task {task.name!r} timed out after {seconds:g}s (its thread cannot be stopped and "
            "finishes in the background; use hard_timeout to run it in a killable process)"
        ) from None


def outcome_for_error(task: Task, run: Run, exc: BaseException, now: datetime) -> RunOutcome:
    error = _error(exc)
    decision = task.retry.decide(exc, run.attempts, run.max_attempts)
    if decision is not None:
        error["retry_in"] = decision.delay.total_seconds()
        return RunOutcome(run.id, RunStatus.QUEUED, error=error, available_at=now + decision.delay)
    if task.retry.is_permanent(exc):
        error["permanent"] = True
        return RunOutcome(run.id, RunStatus.FAILED, error=error)
    return RunOutcome(run.id, RunStatus.DEAD, error=error)


def _error(exc: BaseException) -> dict[str, Any]:
    text = getattr(exc, "remote_traceback", None) or "".join(traceback.format_exception(exc))
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "...\n" + text[-MAX_TRACEBACK_CHARS:]
    message, text = _storable(str(exc)), _storable(text)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + f"... ({len(message)} characters)"
    return {
        "type": getattr(exc, "remote_type", None) or type(exc).__name__,
        "message": message,
        "traceback": text,
    }


def _storable(text: str) -> str:
    """``text`` with what no store can hold written out: a NUL (PostgreSQL) as ``\\x00``, a
    lone surrogate (not UTF-8) as ``\\udXXX``."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode()
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode()
    return text


def _check_result(result: Any, limit: int) -> None:
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PermanentError(
            f"the task returned {type(result).__name__}, which is not JSON-serializable ({exc}); "
            "return dicts, lists, strings, numbers, booleans or None"
        ) from None
    try:
        size = storable_size(text)
    except ValueError as exc:  # it would come back the same: not retried
        raise PermanentError(f"the task result cannot be stored: it {exc}") from None
    if size > limit:
        raise ResultTooLarge(
            f"the task result is {size} bytes, more than the {limit}-byte limit; "
            "store large outputs elsewhere and return a reference"
        )


# -- hard timeouts: a sync task in a process that can be killed --------------------------------
class RemoteError(Exception):
    def __init__(self, type_name: str, message: str, tb: str) -> None:
        super().__init__(message)
        self.remote_type = type_name
        self.remote_traceback = tb


def _child(conn: Any, fn: Callable[..., Any], call: Call) -> None:
    try:
        conn.send(("ok", fn(*call.args, **call.kwargs)))
    except BaseException as exc:
        payload: Any
        try:
            payload = pickle.dumps(exc)
            pickle.loads(payload)
        except Exception:
            payload = None
        conn.send(("error", (payload, type(exc).__name__, str(exc), traceback.format_exc())))
    finally:
        conn.close()


async def run_in_process(fn: Callable[..., Any], call: Call, timeout_s: float) -> Any:
    """Call ``fn(*args, **kwargs)`` in a child process, killed (SIGKILL) after ``timeout_s``."""
    method = "fork" if sys.platform != "win32" else "spawn"
    mp = multiprocessing.get_context(method)
    recv, send = mp.Pipe(duplex=False)
    kwargs = call.kwargs
    if method == "fork" and isinstance(kwargs.get("ctx"), RunContext):
        # a copy with a flag of its own (a forked lock could be held); cancelling kills the child
        kwargs = {**kwargs, "ctx": replace(kwargs["ctx"], cancelled=threading.Event())}
    else:  # "spawn" would have to pickle the context, and its threading.Event does not pickle
        kwargs = {k: v for k, v in kwargs.items() if k != "ctx"}
    process_class: Any = mp.Process  # type: ignore[attr-defined]
    proc = process_class(target=_child, args=(send, fn, Call(call.args, kwargs)), daemon=True)
    proc.start()
    send.close()
    try:
        ready = await asyncio.to_thread(recv.poll, timeout_s)
        if not ready:
            raise TaskTimeout(f"killed after the hard timeout of {timeout_s:g}s")
        kind, payload = recv.recv()
    except EOFError:
        raise RemoteError(
            "ProcessDied", f"the task process exited with {proc.exitcode}", ""
        ) from None
    finally:
        if proc.is_alive():
            proc.kill()
        await asyncio.to_thread(proc.join, 5)
        recv.close()
    if kind == "ok":
        return payload
    pickled, type_name, message, tb = payload
    if pickled is not None:
        exc = pickle.loads(pickled)
        exc.remote_traceback = tb
        raise exc
    raise RemoteError(type_name, message, tb)
