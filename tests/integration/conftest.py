"""Helpers for in-process integration tests: a real SQLite file per test, an app running in
a background task, and `wait_for` (poll a condition until a deadline, never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

from agentcron import App, Run
from agentcron.clock import ManualClock

Predicate = Callable[[], Any]


async def _wait_for(
    predicate: Predicate, timeout: float = 5.0, *, interval: float = 0.01, what: str = ""
) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy; return that.

    Raises AssertionError naming ``what`` (and the last value seen) at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what or predicate!r} (last: {value!r})"
            )
        await asyncio.sleep(interval)


class WaitFor(Protocol):
    def __call__(
        self, predicate: Predicate, timeout: float = ..., *, interval: float = ..., what: str = ...
    ) -> Awaitable[Any]: ...


@pytest.fixture
def wait_for() -> WaitFor:
    return _wait_for


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'agentcron.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 1, 7, 12, 0, tzinfo=UTC))


@pytest.fixture
def make_app(db_url: str) -> Callable[..., App]:
    """``make_app(**kwargs)``: an App on this test's SQLite file (many may share it)."""

    def make(**kwargs: Any) -> App:
        return App(db_url, **kwargs)

    return make


@asynccontextmanager
async def running(app: App, *, stop_timeout: float = 10.0, **run_kwargs: Any) -> AsyncIterator[App]:
    """Run ``app`` (scheduler + worker by default) in a background task; the app is open
    for the block; on exit stop it and wait (bounded) for `App.run` to return, re-raising
    what it raised."""
    async with app:
        task = asyncio.create_task(app.run(**run_kwargs))
        try:
            await _wait_for(
                lambda: task.done() or _started(app, run_kwargs), 10, what="the app to start"
            )
            if task.done():
                task.result()  # raise the startup error
            yield app
        finally:
            app.stop()
            await asyncio.wait_for(task, stop_timeout)


def _started(app: App, run_kwargs: dict[str, Any]) -> bool:
    worker_up = not run_kwargs.get("worker", True) or app.worker is not None
    scheduler_up = not run_kwargs.get("scheduler", True) or (
        app.scheduler is not None and app.scheduler.last_loop_at is not None
    )
    return worker_up and scheduler_up


@pytest.fixture
def run_app() -> Callable[..., Any]:
    return running


async def final(app: App, run_id: int, timeout: float = 5.0) -> Run:
    """Wait until the run reaches a final state; return it."""

    async def done() -> Run | None:
        run = await app.get_run(run_id)
        return run if run.status.final else None

    result: Run = await _wait_for(done, timeout, what=f"run {run_id} to finish")
    return result


@pytest.fixture
def wait_final() -> Callable[..., Awaitable[Run]]:
    return final


async def runs_of(app: App, **filters: Any) -> list[Run]:
    """All runs matching ``filters`` (as `App.list_runs` takes them), oldest first."""
    runs, _ = await app.list_runs(limit=100_000, **filters)
    return sorted(runs, key=lambda r: r.id)


@pytest.fixture
def list_runs() -> Callable[..., Awaitable[list[Run]]]:
    return runs_of


@dataclass
class Gauge:
    """Counts tasks running at once: ``with gauge: ...`` around the body of an async task
    (not thread-safe: for sync tasks, guard it with a lock)."""

    now: int = 0
    peak: int = 0
    entered: int = 0
    history: list[int] = field(default_factory=list)

    def __enter__(self) -> Gauge:
        self.now += 1
        self.entered += 1
        self.peak = max(self.peak, self.now)
        self.history.append(self.now)
        return self

    def __exit__(self, *exc: object) -> None:
        self.now -= 1


@pytest.fixture
def gauge_factory() -> Callable[[], Gauge]:
    return Gauge
