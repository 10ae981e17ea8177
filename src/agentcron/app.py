"""`App` wires a store, a task registry, a scheduler and a worker behind the Python API."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcron._known import run_defaults
from agentcron.backfill import Backfill, backfill_slots, plan_backfill
from agentcron.callbacks import ResultCallback, as_callback
from agentcron.clock import Clock, SystemClock
from agentcron.durations import parse_duration
from agentcron.errors import (
    ScheduleExists,
    ScheduleNotFound,
    ScheduleQuotaExceeded,
    TaskNotFound,
    ValidationError,
)
from agentcron.logs import default_logging, start_line
from agentcron.maintenance import maintenance_schedules, register_maintenance
from agentcron.models import (
    DEFAULT_NAMESPACE,
    Event,
    NewEvent,
    NewRun,
    Run,
    RunStatus,
    Schedule,
    ScheduleSource,
    ScheduleSpec,
)
from agentcron.policies import RunDefaults, schedule_info
from agentcron.reaper import reap_loop
from agentcron.scheduler import Scheduler, trigger_of
from agentcron.specs import (
    MAX_PRIORITY,
    MAX_RETRIES,
    Built,
    build_schedule,
    check_args,
    check_name,
)
from agentcron.store import FannedOut, RunFilter, Store, StoreStats, create_store
from agentcron.subjects import Subject, check_activity_time, check_subject
from agentcron.tasks import TaskRegistry, check_fit, default_registry
from agentcron.worker import Worker

if TYPE_CHECKING:
    from agentcron.agents.phrases import PhraseReader, Source, TriggerReading
    from agentcron.config import LLMSettings
    from agentcron.events import Subscription

__all__ = ["NAMESPACE_MAX_SCHEDULES", "App"]

log = logging.getLogger("agentcron")

Duration = str | int | float | timedelta
NAMESPACE_MAX_SCHEDULES = 10_000
"""How many schedules a namespace may hold by default (`App` ``max_schedules``)."""


class App:
    """The agentcron application.

    Examples:
        >>> app = App("sqlite:///agentcron.db")
        >>> @app.task(retries=3)
        ... async def digest(channel: str) -> None: ...
        >>> app.schedule("digest", "0 9 * * 1-5", timezone="Europe/Berlin",
        ...              args={"channel": "email"})

    ``max_schedules``: `add_schedule` (REST, CLI, MCP) refuses to create a schedule in a
    namespace that holds this many (`ScheduleQuotaExceeded`, HTTP 409); None: no limit.
    Schedules declared in code or config are not counted against it when stored.
    """

    def __init__(
        self,
        store: str | Store = "sqlite:///agentcron.db",
        *,
        clock: Clock | None = None,
        concurrency: int = 32,
        queues: Sequence[str] | None = None,
        lease: Duration = timedelta(seconds=30),
        shutdown_timeout: Duration = timedelta(seconds=30),
        retention: Duration | None = timedelta(days=30),
        maintenance: bool = True,
        timezone: str = "UTC",
        max_schedules: int | None = NAMESPACE_MAX_SCHEDULES,
        llm: LLMSettings | PhraseReader | None = None,
    ) -> None:
        self.store: Store = create_store(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        self.registry = TaskRegistry()
        self.concurrency = concurrency
        self.queues = [check_name(q, "queues") for q in queues] if queues else None
        self.lease = parse_duration(lease, field="lease")
        self.shutdown_timeout = parse_duration(shutdown_timeout, field="shutdown_timeout")
        self.retention = parse_duration(retention, field="retention") if retention else None
        self.maintenance = maintenance
        self.timezone = timezone
        if max_schedules is not None:
            _bounded(max_schedules, "max_schedules", 0, 10**9)
        self.max_schedules = max_schedules
        self.phrases = _phrase_reader(llm)
        self.result_callbacks: dict[tuple[str, str], ResultCallback] = {}  # by (ns, schedule)
        self.task = self.registry.task
        self._declared: dict[tuple[str, str], Built] = {}
        self._opened = 0
        self._opening: asyncio.Future[None] | None = None
        self._stop: asyncio.Event | None = None
        self.scheduler: Scheduler | None = None
        self.worker: Worker | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        """Open the store, register tasks, store the schedules declared in code.

        Nested and concurrent calls share one opening: every caller returns once the store is
        open (or raises what opening raised). Raises `TaskNotFound` for a schedule declared in
        code whose task is not registered, before storing any declared schedule.
        """
        self._opened += 1
        try:
            if self._opened == 1:
                self._opening = asyncio.ensure_future(self._open())
            assert self._opening is not None
            await asyncio.shield(self._opening)
        except BaseException:
            self._opened -= 1
            raise

    async def _open(self) -> None:
        await self.store.open()
        try:
            self.registry.merge(default_registry)
            if self.maintenance:
                register_maintenance(self.registry, self.store)
            if len(self.registry):
                infos = {t.name: t.to_dict() for t in self.registry}
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

    async def __aenter__(self) -> App:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _system_schedules(self) -> list[Built]:
        if not self.maintenance or self.retention is None:
            return []
        return maintenance_schedules(self.retention, self.clock.now())

    # -- schedules -----------------------------------------------------------------------------
    def schedule(self, task: Any, trigger: Any, **options: Any) -> ScheduleSpec:
        """Declare a schedule in code (validated now, stored when the app opens).

        Options: ``name``, ``args``, ``timezone``, ``misfire``, ``misfire_grace``, ``overlap``,
        ``retries``, ``timeout``, ``priority``, ``queue``, ``jitter``, ``enabled``,
        ``namespace``, ``description``, ``metadata``, ``thread_id``, and ``result_callback``
        (a function called with the result of each successful run, see
        `agentcron.callbacks`). ``args``: keyword arguments (a mapping) or positional ones (a
        list). A function registered as a task may be given as ``task``.
        Re-declaring a name replaces the declaration.
        """
        callback = options.pop("result_callback", None)
        built = self._build(task, trigger, ScheduleSource.CODE, options)
        key = (built.spec.namespace, built.spec.name)
        self._declared[key] = built
        self.result_callbacks.pop(key, None)
        if callback is not None:
            self.result_callbacks[key] = as_callback(callback)
        return built.spec

    async def add_schedule(
        self,
        task: Any,
        trigger: Any,
        *,
        source: ScheduleSource = ScheduleSource.API,
        **options: Any,
    ) -> Schedule:
        """Create a schedule now. Raises `ValidationError`, `TaskNotFound`, `ScheduleExists`,
        `ScheduleQuotaExceeded` (the namespace holds ``max_schedules`` already: checked
        before the insert, so concurrent creations may pass the limit by a few)."""
        built = self._build(task, trigger, source, options)
        await self._check_task(built.spec)
        await self._check_quota(built.spec.namespace)
        return await self.store.add_schedule(built.spec, self._first_fire(built))

    async def _check_quota(self, namespace: str) -> None:
        limit = self.max_schedules
        if limit is not None and await self.store.count_schedules(namespace) >= limit:
            raise ScheduleQuotaExceeded(limit, namespace=namespace)

    async def update_schedule(
        self, key: str, *, namespace: str | None = None, **changes: Any
    ) -> Schedule:
        """Change fields of a schedule; the next fire time is recomputed when the trigger,
        its time zone or ``enabled`` change."""
        current = await self.get_schedule(key, namespace=namespace)
        fields = _spec_fields(current.spec) | changes
        if "description" not in changes and current.description != _described(current):
            fields["description"] = current.description  # written by a person: keep it
        if (
            "timezone" in changes and "trigger" not in changes
        ):  # re-read the trigger in the new zone
            fields["trigger"] = {k: v for k, v in current.trigger.items() if k != "timezone"}
        built = self._build(
            fields.pop("task"), fields.pop("trigger"), current.source, fields, new=False
        )
        await self._check_task(built.spec)
        next_run_at = current.next_run_at
        if built.spec.trigger != current.trigger or built.spec.enabled != current.enabled:
            next_run_at = self._first_fire(built)
        return await self.store.update_schedule(current.id, built.spec, next_run_at)

    async def get_schedule(self, key: str, *, namespace: str | None = None) -> Schedule:
        return await self.store.get_schedule(key, namespace)

    async def list_schedules(
        self, *, namespace: str | None = None, limit: int = 1000, cursor: str | None = None
    ) -> tuple[list[Schedule], str | None]:
        return await self.store.list_schedules(namespace=namespace, limit=limit, cursor=cursor)

    async def delete_schedule(self, key: str, *, namespace: str | None = None) -> None:
        schedule = await self.get_schedule(key, namespace=namespace)
        await self.store.delete_schedule(schedule.id)

    async def pause(self, key: str, *, namespace: str | None = None) -> Schedule:
        schedule = await self.get_schedule(key, namespace=namespace)
        return await self.store.set_schedule_enabled(schedule.id, False, None)

    async def resume(self, key: str, *, namespace: str | None = None) -> Schedule:
        """Enable again; the next fire time is the trigger's next after now (no catch-up)."""
        schedule = await self.get_schedule(key, namespace=namespace)
        nxt = trigger_of(schedule).next_after(self.clock.now())
        return await self.store.set_schedule_enabled(schedule.id, True, nxt)

    async def trigger(
        self, key: str, *, args: Any = None, namespace: str | None = None
    ) -> Run | FannedOut:
        """Run a schedule's task now, outside its trigger, with its args; ``args`` replace
        them for this run only (a JSON object is merged into the schedule's object).

        Answers the run; for a ``for_each_subject`` schedule, which fans out as a firing of it
        does (one run per matching subject; over its ``limit``, recorded as skipped), a
        `FannedOut`: how many runs were queued, and the first of them. Raises
        `ScheduleNotFound`, `ValidationError` (field ``args``)."""
        s = await self.get_schedule(key, namespace=namespace)
        if args is not None:
            s = dataclasses.replace(s, args=check_args(_merged(s.args, args)))
            if s.task in self.registry:
                check_fit(self.registry.get(s.task), s.args)
        now = self.clock.now()
        (d,) = (await run_defaults(self.registry, self.store, [s.task], required=False)).values()
        run = NewRun(
            task=s.task,
            args=s.args,
            namespace=s.namespace,
            queue=s.queue or d.queue,
            priority=s.priority if s.priority is not None else d.priority,
            max_attempts=(s.retries if s.retries is not None else d.retries) + 1,
            timeout=s.timeout or d.timeout,
            schedule_id=s.id,
            scheduled_for=now,
            trigger_info=schedule_info(s) | {"kind": "manual"},
            max_recoveries=d.max_recoveries,
        )
        if s.for_each_subject is not None:
            from agentcron.scheduler import RunPlanner

            planner = RunPlanner(self.registry, now, {s.task: d})
            return await self.store.fan_out_now(s, run, planner)
        (created,) = await self.store.enqueue([run], now)
        return created

    async def backfill(
        self, key: str, start: datetime, end: datetime, *, namespace: str | None = None
    ) -> Backfill:
        """Queue one run per slot of the schedule's (time) trigger in ``[start, end]``, in one
        transaction. A slot that already has a run (fired, or backfilled before) keeps it:
        repeating a backfill adds nothing. Raises `ValidationError` (a trigger without time
        slots, a reversed window, more than `MAX_BACKFILL_SLOTS` slots), `ScheduleNotFound`."""
        s = await self.get_schedule(key, namespace=namespace)
        slots = backfill_slots(trigger_of(s), start, end)
        (d,) = (await run_defaults(self.registry, self.store, [s.task], required=False)).values()
        batch, news = plan_backfill(s, slots, d)
        runs = await self.store.enqueue(news, self.clock.now()) if news else []
        return Backfill(batch, runs)

    async def sync_schedules(
        self, built: Iterable[Built], *, source: ScheduleSource = ScheduleSource.CONFIG
    ) -> dict[str, list[str]]:
        """Make the stored schedules of ``source`` match ``built``: add, update, remove.
        Schedules of other sources are never touched (a name clash is reported, not fixed)."""
        report: dict[str, list[str]] = {"added": [], "updated": [], "removed": [], "conflicts": []}
        wanted = {(b.spec.namespace, b.spec.name): b for b in built}
        for b in wanted.values():
            status = await self._upsert(b)
            if status in report:
                report[status].append(b.spec.name)
        stored, _ = await self.store.list_schedules(source=source, limit=1_000_000)
        for s in stored:
            if (s.namespace, s.name) not in wanted:
                await self.store.delete_schedule(s.id)
                report["removed"].append(s.name)
        return report

    async def _upsert(self, built: Built) -> str:
        """Store a declared schedule: add it, or bring the stored one in line. A pause made at
        run time survives: the declaration's ``enabled`` applies only when adding."""
        spec = built.spec
        try:
            current = await self.store.get_schedule(spec.name, spec.namespace)
        except ScheduleNotFound:
            try:
                await self.store.add_schedule(spec, self._first_fire(built))
                return "added"
            except ScheduleExists:  # another process starting with the same config won
                current = await self.store.get_schedule(spec.name, spec.namespace)
        if current.source is not spec.source:
            log.warning(
                "schedule %r exists (made by %s); the %s declaration is ignored",
                spec.name, current.source.value, spec.source.value,
            )  # fmt: skip
            return "conflicts"
        spec = dataclasses.replace(spec, enabled=current.enabled)
        if current.spec == spec:
            return "unchanged"
        if current.trigger == spec.trigger or not spec.enabled:
            nxt = current.next_run_at
        else:
            nxt = built.trigger.next_after(self.clock.now())
        await self.store.update_schedule(current.id, spec, nxt)
        return "updated"

    def _build(
        self,
        task: Any,
        trigger: Any,
        source: ScheduleSource,
        options: Mapping[str, Any],
        *,
        new: bool = True,
    ) -> Built:
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ValidationError(
                f"unknown option {sorted(unknown)[0]!r}", field=sorted(unknown)[0]
            )
        task_name = self._task_name(task)
        opts = dict(options)
        opts.setdefault("timezone", self.timezone)
        return build_schedule(
            task=task_name, trigger=trigger, now=self.clock.now(), source=source, new=new, **opts
        )

    def _task_name(self, task: Any) -> Any:
        """A task's name, or a function registered as a task: the name it was registered by."""
        if not callable(task):
            return task
        for registry in (self.registry, default_registry):
            for registered in registry:
                if registered.fn is task:
                    return registered.name
        return getattr(task, "__name__", task)

    def _first_fire(self, built: Built) -> datetime | None:
        if not built.spec.enabled:
            return None
        return built.trigger.next_after(self.clock.now())

    async def _check_task(self, spec: ScheduleSpec) -> None:
        """The schedule's task exists (here or in a worker); its args fit the function when
        it is registered here."""
        if spec.task in self.registry:
            check_fit(self.registry.get(spec.task), spec.args)
            return
        if spec.task not in await self.store.known_tasks():
            raise TaskNotFound(spec.task)

    async def read_trigger(
        self, value: Any, *, timezone: str | None = None, now: datetime | None = None
    ) -> TriggerReading:
        """Read a trigger as `parse_trigger` does; text the grammar does not understand goes to
        the LLM when the app has one (``App(llm=...)``). ``.source`` says who read it."""
        from agentcron.agents.phrases import read_trigger

        when = now or self.clock.now()
        return await read_trigger(value, timezone=timezone, now=when, llm=self.phrases)

    async def resolve_trigger(
        self, value: Any, *, timezone: str | None = None
    ) -> tuple[Any, Source]:
        """The trigger to create a schedule with (`add_schedule`), and who read it: text the
        grammar does not understand is read by the app's LLM, if it has one."""
        from agentcron.agents.phrases import resolve_trigger

        zone, now = timezone or self.timezone, self.clock.now()
        return await resolve_trigger(value, timezone=zone, now=now, llm=self.phrases)

    # -- runs ----------------------------------------------------------------------------------
    async def enqueue(
        self,
        task: Any,
        args: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        delay: Duration | None = None,
        at: datetime | None = None,
        dedup_key: str | None = None,
        queue: str | None = None,
        priority: int | None = None,
        retries: int | None = None,
        timeout: Duration | None = None,
        subject: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> Run:
        """Queue one run of ``task`` with ``args``: a mapping of keyword arguments or a list
        of positional ones (checked against the function's signature when the task is
        registered here); returns it (or, when ``dedup_key`` was used before, the run that
        holds it). The task is registered here, or by another process in the store (a worker
        that has its code); else `TaskNotFound`."""
        name = self._task_name(task)
        defaults = await self._run_defaults([name])
        new = self._new_run(
            name, defaults[name], args, delay, at, dedup_key, queue, priority, retries, timeout,
            subject, namespace,
        )  # fmt: skip
        (run,) = await self.store.enqueue([new], self.clock.now())
        return run

    async def enqueue_many(self, items: Iterable[Mapping[str, Any]]) -> list[Run]:
        """Queue many runs in one transaction; each item takes `enqueue`'s arguments as keys."""
        fields = []
        for item in items:
            data = dict(item)
            fields.append(
                (self._task_name(data.pop("task")), *(data.pop(k, None) for k in _ENQUEUE_KEYS),
                 data.pop("namespace", DEFAULT_NAMESPACE))
            )  # fmt: skip
            if data:
                raise ValidationError(f"unknown key {sorted(data)[0]!r}", field=sorted(data)[0])
        defaults = await self._run_defaults({f[0] for f in fields})
        news = [self._new_run(f[0], defaults[f[0]], *f[1:]) for f in fields]
        return await self.store.enqueue(news, self.clock.now())

    async def _run_defaults(self, names: Iterable[Any]) -> dict[str, RunDefaults]:
        """The defaults of each task's runs; raises `TaskNotFound` for one that is neither
        registered here nor recorded in the store."""
        for name in names:
            if not isinstance(name, str):
                raise TaskNotFound(str(name))
        return await run_defaults(self.registry, self.store, names, required=True)

    def _new_run(self, name: str, d: RunDefaults, args: Any, delay: Any, at: datetime | None,
                 dedup_key: str | None, queue: str | None, priority: int | None,
                 retries: int | None, timeout: Any, subject: str | None,
                 namespace: str) -> NewRun:  # fmt: skip
        checked = check_args(args)
        if name in self.registry:
            check_fit(self.registry.get(name), checked)
        now = self.clock.now()
        available = at if at is not None else now
        if delay is not None:
            available = now + parse_duration(delay, field="delay")
        attempts = (
            _bounded(retries, "retries", 0, MAX_RETRIES) if retries is not None else d.retries
        ) + 1
        return NewRun(
            task=name,
            args=checked,
            namespace=namespace,
            queue=check_name(queue, "queue") if queue else d.queue,
            priority=_bounded(priority, "priority", -MAX_PRIORITY, MAX_PRIORITY)
            if priority is not None
            else d.priority,
            available_at=available,
            dedup_key=f"{namespace}/{check_name(dedup_key, 'dedup_key')}" if dedup_key else None,
            max_attempts=attempts,
            timeout=parse_duration(timeout, field="timeout") if timeout is not None else d.timeout,
            subject=check_subject(subject) if subject is not None else None,
            max_recoveries=d.max_recoveries,
        )

    async def get_run(self, run_id: int) -> Run:
        return await self.store.get_run(run_id)

    async def list_runs(
        self,
        *,
        task: str | None = None,
        status: str | RunStatus | None = None,
        schedule: str | None = None,
        namespace: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Run], str | None]:
        schedule_id = (await self.get_schedule(schedule)).id if schedule else None
        status_value = _status(status) if status is not None else None
        filters = RunFilter(
            namespace=namespace, task=task, status=status_value, schedule_id=schedule_id
        )
        return await self.store.list_runs(filters, limit=limit, cursor=cursor)

    async def cancel_run(self, run_id: int) -> Run:
        return await self.store.cancel_run(run_id, self.clock.now())

    async def retry_run(self, run_id: int) -> Run:
        return await self.store.retry_run(run_id, self.clock.now())

    # -- subjects --------------------------------------------------------------------------------
    async def record_activity(
        self,
        subject: str,
        kind: str = "message",
        *,
        namespace: str = DEFAULT_NAMESPACE,
        at: datetime | None = None,
    ) -> Subject:
        """Record activity of ``subject`` (``kind="message"`` counts towards ``messages``
        triggers) at ``at`` (default now); wakes its idle and messages schedules. Returns the
        subject as recorded. Raises `ValidationError` (subject: 1-256 characters; kind: a
        short lower-case word; at: from 2000-01-01 and at most 5 minutes in the future)."""
        now = self.clock.now()
        when = check_activity_time(at, now) if at is not None else now
        return await self.store.record_activity(namespace, subject, kind, when)

    async def list_subjects(
        self, *, namespace: str = DEFAULT_NAMESPACE, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Subject], str | None]:
        """Subjects of ``namespace`` by name, a page at a time (``cursor``: the last answer's)."""
        return await self.store.list_subjects(
            namespace, limit=_bounded(limit, "limit", 1, 10_000), cursor=cursor
        )

    # -- events ----------------------------------------------------------------------------------
    async def publish(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        *,
        subject: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> Event:
        """Store an event and fire the ``event`` schedules it matches, in one transaction
        (see `Store.publish`); returns it. Raises `ValidationError` naming the field: ``type``
        (a dotted lower-case name like ``user.signup``), ``subject`` (1-256 characters),
        ``data`` (a JSON object of at most 64 KiB)."""
        from agentcron.scheduler import RunPlanner

        now = self.clock.now()
        body = dict(data) if isinstance(data, Mapping) else data
        new = NewEvent(type, body, subject=subject, namespace=namespace)  # type: ignore[arg-type]
        (event,), _ = await self.store.publish([new], now, RunPlanner(self.registry, now))
        return event

    def subscribe(
        self, pattern: str = "*", *, after: int | None = None, namespace: str | None = None
    ) -> Subscription:
        """Events whose type matches the glob ``pattern``, in id order, from any process:
        ``async for event in app.subscribe("user.*"): ...``. ``after``: the id to resume
        after (None: only events from now on; 0: from the first). The app must be open while
        iterating. See `agentcron.events.Subscription`."""
        from agentcron.events import subscribe

        return subscribe(self.store, pattern, after=after, namespace=namespace)

    async def stats(self, namespace: str | None = None) -> StoreStats:
        return await self.store.stats(namespace)

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
                log.info("%s", await start_line(self))
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

    def lifespan(self, *, scheduler: bool = True, worker: bool = True) -> Any:
        """A FastAPI / Starlette lifespan that runs this app alongside a web app:
        ``FastAPI(lifespan=app.lifespan())``; see `agentcron.api.lifespan` and `.mount`."""
        from agentcron.api.lifespan import lifespan

        return lifespan(self, scheduler=scheduler, worker=worker)

    def stop(self) -> None:
        """Ask `run` to stop: no new claims, running tasks finish (up to the shutdown timeout)."""
        if self._stop is not None and not self._stop.is_set():
            log.info("stopping: finishing running tasks (up to %s)", self.shutdown_timeout)
            self._stop.set()
            self.store.notify("schedules")
            self.store.notify("runs")

    @contextlib.contextmanager
    def _signals(self, enabled: bool) -> Any:
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


_ENQUEUE_KEYS = ("args", "delay", "at", "dedup_key", "queue", "priority", "retries", "timeout",
                 "subject")  # fmt: skip
_OPTIONS = frozenset(
    {"name", "args", "timezone", "misfire", "misfire_grace", "overlap", "retries", "timeout",
     "priority", "queue", "jitter", "enabled", "namespace", "description", "limit",
     "for_each_subject", "metadata", "thread_id"}
)  # fmt: skip


def _phrase_reader(llm: LLMSettings | PhraseReader | None) -> PhraseReader | None:
    from agentcron.agents.phrases import PhraseReader

    return llm if isinstance(llm, PhraseReader) or llm is None else PhraseReader.from_settings(llm)


def _spec_fields(spec: ScheduleSpec) -> dict[str, Any]:
    return {
        "name": spec.name, "task": spec.task, "trigger": spec.trigger, "args": spec.args,
        "enabled": spec.enabled, "misfire": spec.misfire, "misfire_grace": spec.misfire_grace,
        "overlap": spec.overlap, "retries": spec.retries, "timeout": spec.timeout,
        "priority": spec.priority, "queue": spec.queue, "jitter": spec.jitter,
        "namespace": spec.namespace, "description": None, "limit": spec.limit,
        "for_each_subject": spec.for_each_subject, "timezone": spec.timezone,
        "metadata": spec.metadata, "thread_id": spec.thread_id,
    }  # fmt: skip


def _described(schedule: Schedule) -> str | None:
    """The description made from the schedule's trigger (what it has unless one was given)."""
    try:
        return trigger_of(schedule).describe()
    except (ValidationError, ValueError):
        return None


def _merged(current: Any, given: Any) -> Any:
    """A trigger's args: an object given is merged into the schedule's object; anything else
    replaces them."""
    if isinstance(current, Mapping) and isinstance(given, Mapping):
        return {**current, **given}
    return given


def _bounded(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"must be a whole number between {low} and {high}", field=field)
    return value


def _status(value: str | RunStatus) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        options = ", ".join(s.value for s in RunStatus)
        raise ValidationError(f"{value!r} is not one of: {options}", field="status") from None


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
