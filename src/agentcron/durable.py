"""Durable steps and waits of one execution of a run (what `RunContext.step`, ``sleep``,
``wait_for_signal`` and ``wait_for_event`` do).

A run is executed from the top each time it runs (a retry, a recovery after a killed worker,
a resume after a wait). Its steps are read once, at its first durable call; a step that
succeeded before returns its stored result without calling its function again. A wait is a
step with a name counted per kind within the execution (``sleep:1``, ``signal:approve:1``,
``event:user.*:1``), so an execution that reaches it again knows how it ended. A wait that
cannot end now raises `Suspend`, which the runner catches: the run becomes ``waiting`` and
leaves its worker (`Store.suspend_run`); whatever ends the wait queues it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from agentcron.clock import Clock
from agentcron.durations import parse_duration
from agentcron.errors import ValidationError, WaitTimeout
from agentcron.store.durable_contract import DurableState

if TYPE_CHECKING:
    from agentcron.store.base import Store

__all__ = ["LONG_STEP_S", "Journal", "Suspend", "seconds_of"]

LONG_STEP_S = 1.0
"""A step still running after this long gets a ``running`` row (shorter ones write only
their end: one write per step)."""
MAX_STEP_NAME = 200
_WAIT_PREFIXES = ("sleep:", "signal:", "event:")
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


class Suspend(BaseException):  # control flow (like CancelledError), not an error
    """A wait that cannot end now: the run leaves its worker. Caught by the runner; task code
    that catches ``Exception`` does not catch it."""

    def __init__(self, waiting_for: dict[str, Any], wake_at: float | None) -> None:
        super().__init__(waiting_for.get("step"))
        self.waiting_for = waiting_for
        self.wake_at = wake_at


def seconds_of(value: float | timedelta | str, field: str) -> float:
    """A duration given as seconds, a `timedelta` or text (``"5m"``, ``"PT1H"``)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValidationError(f"{field} must not be negative", field=field)
        return float(value)
    return parse_duration(value, field=field).total_seconds()


class Journal:
    """One execution's durable state: the steps it replays, the waits it counts."""

    def __init__(
        self, store: Store, run_id: int, subject: str | None, worker_id: str, clock: Clock
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.subject = subject
        self.worker_id = worker_id
        self.clock = clock
        self.deadline: asyncio.Timeout | None = None  # the task's timeout, when it has one
        self._started = time.monotonic()
        self._state: DurableState | None = None
        self._used: set[str] = set()
        self._counts: Counter[str] = Counter()

    def active_s(self) -> float:
        """Seconds the run has spent running: in earlier executions, and in this one."""
        before = self._state.active_s if self._state is not None else 0.0
        return before + time.monotonic() - self._started

    async def _load(self) -> DurableState:
        if self._state is None:
            self._state = await self.store.load_steps(self.run_id)
            deadline = self.deadline
            if deadline is not None and self._state.active_s > 0:
                when = deadline.when()  # the timeout counts the time spent in earlier runs
                if when is not None:
                    deadline.reschedule(when - self._state.active_s)
        return self._state

    def _claim(self, name: str) -> None:
        if name in self._used:
            raise ValueError(
                f"step {name!r} ran already in this run: step names must be unique in a run"
            )
        self._used.add(name)

    def _wait_name(self, kind: str, key: str | None = None) -> str:
        base = kind if key is None else f"{kind}:{key}"
        self._counts[base] += 1
        name = f"{base}:{self._counts[base]}"
        self._claim(name)
        return name

    # -- steps -----------------------------------------------------------------------------
    async def step(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not isinstance(name, str) or not name or len(name) > MAX_STEP_NAME:
            raise ValueError(f"a step name is 1-{MAX_STEP_NAME} characters, not {name!r}")
        if name.startswith(_WAIT_PREFIXES):
            raise ValueError(f"step name {name!r}: the prefixes {_WAIT_PREFIXES} are for waits")
        self._claim(name)
        state = await self._load()
        done = state.steps.get(name)
        if done is not None and done.status == "succeeded":
            return done.result
        started = self.clock.now()
        marker = _LongStep(self, name, started)
        try:
            result = await _call(fn, args, kwargs)
        except Exception as exc:
            await marker.done()
            error = {"type": type(exc).__name__, "message": str(exc)[:4096]}
            await self._save(name, "failed", started, error=error)
            raise
        except BaseException:
            marker.cancel()
            raise
        await marker.done()
        try:
            text = _dumps(result)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"step {name!r} returned {type(result).__name__}, which is not JSON ({exc}); "
                "return dicts, lists, strings, numbers, booleans or None"
            ) from None
        await self._save(name, "succeeded", started, result_json=text)
        return json.loads(text)  # as a replay would return it (a tuple is a list)

    async def _save(
        self,
        name: str,
        status: str,
        started: datetime,
        *,
        result_json: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        await self.store.save_step(
            self.run_id, name, status, started_at=started, now=self.clock.now(),
            result_json=result_json, error=error,
        )  # fmt: skip

    # -- waits -----------------------------------------------------------------------------
    async def sleep(self, duration: float | timedelta | str) -> None:
        seconds = seconds_of(duration, "duration")
        name = self._wait_name("sleep")
        state = await self._load()
        done = state.steps.get(name)
        if done is not None and done.status == "succeeded":
            return
        now = self.clock.now()
        until = _begun(done, "until")
        if until is None:
            until = now.timestamp() + seconds
        if until <= now.timestamp():
            await self._save(name, "succeeded", now)
            return
        raise Suspend({"kind": "sleep", "step": name, "until": until}, until)

    async def wait_for_signal(
        self, name: str, timeout: float | timedelta | str | None = None
    ) -> Any:
        if not isinstance(name, str) or not name or len(name) > MAX_STEP_NAME:
            raise ValueError(f"a signal name is 1-{MAX_STEP_NAME} characters, not {name!r}")
        step = self._wait_name("signal", name)
        state = await self._load()
        done = _finished(state, step)
        if done is not None:
            return done.result
        now = self.clock.now()
        if state.signals:  # else none to take (one sent from now on: suspend_run takes it)
            found, data = await self.store.take_signal(self.run_id, name, step, now)
            if found:
                return data
        until = self._until(state, step, timeout, now)
        waiting = {"kind": "signal", "name": name, "step": step, "until": until}
        await self._timed_out(step, until, now, f"no signal {name!r}")
        raise Suspend(waiting, until)

    async def wait_for_event(
        self,
        pattern: str,
        timeout: float | timedelta | str | None = None,
        subject: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_STEP_NAME:
            raise ValueError(f"an event pattern is 1-{MAX_STEP_NAME} characters: {pattern!r}")
        step = self._wait_name("event", pattern)
        state = await self._load()
        done = _finished(state, step)
        if done is not None:
            event: dict[str, Any] = done.result
            return event
        now = self.clock.now()
        after = _begun(state.steps.get(step), "after")
        if after is None:
            after = await self.store.last_event_id()
        until = self._until(state, step, timeout, now)
        await self._timed_out(step, until, now, f"no event {pattern!r}")
        waiting = {
            "kind": "event", "pattern": pattern, "subject": subject or self.subject,
            "step": step, "until": until, "after": int(after),
        }  # fmt: skip
        raise Suspend(waiting, until)

    def _until(
        self, state: DurableState, step: str, timeout: float | timedelta | str | None, now: datetime
    ) -> float | None:
        begun = _begun(state.steps.get(step), "until")
        if begun is not None or timeout is None:
            return float(begun) if begun is not None else None
        return now.timestamp() + seconds_of(timeout, "timeout")

    async def _timed_out(self, step: str, until: float | None, now: datetime, what: str) -> None:
        if until is None or until > now.timestamp():
            return
        message = f"{what} came before the wait's timeout"
        await self._save(step, "failed", now, error={"type": "WaitTimeout", "message": message})
        raise WaitTimeout(message)


def _finished(state: DurableState, step: str) -> Any:
    """The wait's step if it ended: succeeded (returned), or timed out (raises)."""
    done = state.steps.get(step)
    if done is None or done.status == "running":
        return None
    if done.status == "failed":
        raise WaitTimeout((done.error or {}).get("message", "the wait timed out"))
    return done


def _begun(step: Any, key: str) -> Any:
    """A parameter of a wait that began in an earlier execution (its deadline, its event
    cursor), from its running step's row."""
    if step is None or step.status != "running" or not isinstance(step.result, dict):
        return None
    return step.result.get(key)


async def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``fn(*args, **kwargs)``: awaited when async; a plain function runs in a thread."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    result = await asyncio.to_thread(partial(fn, *args, **kwargs))
    if inspect.isawaitable(result):
        return await result
    return result


class _LongStep:
    """Writes a step's ``running`` row once it has run `LONG_STEP_S` (short steps never)."""

    def __init__(self, journal: Journal, name: str, started: datetime) -> None:
        self._journal, self._name, self._started = journal, name, started
        self._write: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(LONG_STEP_S, self._fire)

    def _fire(self) -> None:
        self._write = asyncio.ensure_future(
            self._journal._save(self._name, "running", self._started)
        )

    def cancel(self) -> None:
        self._timer.cancel()
        if self._write is not None:
            self._write.cancel()

    async def done(self) -> None:
        """Stop; a ``running`` write under way finishes first (its row precedes the end's)."""
        self._timer.cancel()
        if self._write is not None:
            with contextlib.suppress(Exception):  # a missing running row is harmless
                await self._write
