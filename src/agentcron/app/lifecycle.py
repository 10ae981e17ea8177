"""Opening and closing an `App`, and running it: the scheduler, the reaper and a worker until
asked to stop (SIGINT / SIGTERM, `App.stop`, or alongside a web app: `lifespan`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Self

from agentcron.app.schedules import ScheduleVerbs
from agentcron.logs import default_logging, plural
from agentcron.maintenance import maintenance_schedules, register_maintenance
from agentcron.models import ScheduleSource
from agentcron.reaper import reap_loop
from agentcron.scheduler import Scheduler
from agentcron.specs import Built
from agentcron.store import shown_url
from agentcron.tasks import default_registry
from agentcron.worker import Worker

__all__ = ["Lifecycle", "Lifespan", "lifespan"]

log = logging.getLogger("agentcron")
Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]
_MAX_SHOWN = 100  # system schedules are a handful; this bounds the read of the start line


class Lifecycle(ScheduleVerbs):
    """Open / close, run / stop."""

    async def open(self, *, register: bool = True) -> None:
        """Open the store, register tasks, store the schedules declared in code.

        Nested and concurrent calls share one opening: every caller returns once the store is
        open (or raises what opening raised). Raises `TaskNotFound` for a schedule declared in
        code whose task is not registered, before storing any declared schedule.
        ``register=False`` opens the store alone, writing nothing (what an admin command
        needs); the first of nested calls decides.
        """
        self._opened += 1
        try:
            if self._opened == 1:
                self._opening = asyncio.ensure_future(self._open(register))
            assert self._opening is not None
            await asyncio.shield(self._opening)
        except BaseException:
            self._opened -= 1
            raise

    async def _open(self, register: bool) -> None:
        await self.store.open()
        if not register:
            return
        try:
            self.registry.merge(default_registry)
            if self.maintenance:
                register_maintenance(self.registry, self.store, self.clock)
            if len(self.registry):
                infos = {t.name: dict(t.to_dict()) for t in self.registry}
                await self.store.register_tasks(infos, self.clock.now())
            for built in self._declared.values():
                await self._check_task(built.spec)
            for built in self._system_schedules():
                await self._upsert(built)
            for built in self._declared.values():
                await self._upsert(built)
        except BaseException:
            await self.store.close()
            raise

    async def close(self) -> None:
        self._opened = max(0, self._opened - 1)
        if self._opened == 0:
            await self.store.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _system_schedules(self) -> list[Built]:
        if not self.maintenance or self.retention is None:
            return []
        return maintenance_schedules(self.retention, self.clock.now())

    async def start_line(self, config: str | None = None) -> str:
        """``db sqlite:////srv/agentcron.db; 2 tasks (digest, nudge); 3 schedules``: the
        store, the tasks this app registered and the schedules stored (agentcron's own left
        out); ``config`` (where the config came from) goes after the store."""
        tasks = sorted(t.name for t in self.registry if not t.name.startswith("agentcron."))
        total = (await self.store.stats()).schedules  # a count: memory stays flat
        system, _ = await self.store.list_schedules(source=ScheduleSource.SYSTEM, limit=_MAX_SHOWN)
        parts = [
            f"db {shown_url(self.store.url)}",
            *([config] if config else []),
            plural(len(tasks), "task") + (f" ({', '.join(tasks)})" if tasks else ""),
            plural(max(0, total - len(system)), "schedule"),
        ]
        return "; ".join(parts)

    # -- running -------------------------------------------------------------------------------
    async def run(self, *, burst: bool = False, scheduler: bool = True, worker: bool = True,
                  handle_signals: bool = False, announce: bool = True) -> None:  # fmt: skip
        """Run the scheduler and/or a worker until `stop` (or SIGINT/SIGTERM when
        ``handle_signals``). ``burst``: stop once nothing is queued or due.

        ``announce``: log one INFO line on start (``agentcron: db ...; 2 tasks (a, b);
        3 schedules``). While it runs, if logging is not configured at all, the ``agentcron``
        loggers (tasks' ``ctx.logger`` too) write to stderr at INFO (see
        `agentcron.logs.default_logging`); a configured logging setup is left alone."""
        with default_logging():
            await self._run(burst, scheduler, worker, handle_signals, announce)

    async def _run(self, burst: bool, scheduler: bool, worker: bool, handle_signals: bool,
                   announce: bool) -> None:  # fmt: skip
        self._stop = stop = asyncio.Event()
        async with self:
            if announce:
                log.info("%s", await self.start_line())
            self.scheduler = Scheduler(self.store, self.registry, clock=self.clock)
            self.worker = Worker(
                self.store, self.registry, clock=self.clock, concurrency=self.concurrency,
                queues=self.queues, lease=self.lease, shutdown_timeout=self.shutdown_timeout,
                result_callbacks=self.result_callbacks,
            )  # fmt: skip
            with self._signals(handle_signals):
                if burst:
                    if scheduler:
                        await self.scheduler.run(stop, burst=True)
                    if worker:
                        await self.worker.run(stop, burst=True)
                    return
                parts = []
                if scheduler:
                    parts.append(self.scheduler.run(stop))
                    grace_s = self.lease.total_seconds()  # after an outage (see reaper)
                    parts.append(reap_loop(self.store, self.clock, stop, grace_s=grace_s))
                if worker:
                    parts.append(self.worker.run(stop))
                await _until_first_error(parts, stop)

    def run_sync(self, *, burst: bool = False, scheduler: bool = True, worker: bool = True) -> None:
        """Blocking `run` (start line and default logging included), stopping gracefully on
        SIGINT / SIGTERM."""
        asyncio.run(self.run(burst=burst, scheduler=scheduler, worker=worker, handle_signals=True))

    def lifespan(self, *, scheduler: bool = True, worker: bool = True) -> Lifespan:
        """A FastAPI / Starlette lifespan that runs this app alongside a web app:
        ``FastAPI(lifespan=app.lifespan())``; see `agentcron.api.lifespan` and `.mount`."""
        return lifespan(self, scheduler=scheduler, worker=worker)

    def stop(self) -> None:
        """Ask `run` to stop: no new claims, running tasks finish (up to the shutdown timeout)."""
        if self._stop is not None and not self._stop.is_set():
            log.info("stopping: finishing running tasks (up to %s)", self.shutdown_timeout)
            self._stop.set()
            self.store.notify("schedules")
            self.store.notify("runs")

    @contextlib.contextmanager
    def _signals(self, enabled: bool) -> Iterator[None]:
        if not enabled:
            yield
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def lifespan(app: Lifecycle, *, scheduler: bool = True, worker: bool = True) -> Lifespan:
    """A lifespan: on startup the store opens (so requests can use ``app`` at once) and
    ``app.run()`` starts in the background; on shutdown it stops gracefully."""

    @contextlib.asynccontextmanager
    async def run_agentcron(_: Any) -> AsyncIterator[None]:
        async with app:
            running = asyncio.create_task(app.run(scheduler=scheduler, worker=worker))
            await asyncio.sleep(0)  # let run() start, so that stop() reaches it
            try:
                yield
            finally:
                app.stop()
                try:
                    await running
                except Exception:
                    log.exception("agentcron stopped with an error")

    return run_agentcron


async def _until_first_error(parts: list[Any], stop: asyncio.Event) -> None:
    tasks = [asyncio.ensure_future(p) for p in parts]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            if t.exception() is not None:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise t.exception()  # type: ignore[misc,unused-ignore]
    finally:
        if not stop.is_set():
            stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
