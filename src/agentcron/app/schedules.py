"""Schedule verbs of `App`: declare, create, change, list, pause, resume, delete, sync, and
read a trigger (with the app's LLM for text the grammar does not understand)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.app.base import AppBase
from agentcron.callbacks import as_callback
from agentcron.errors import (
    ScheduleExists,
    ScheduleNotFound,
    ScheduleQuotaExceeded,
    ValidationError,
)
from agentcron.models import Schedule, ScheduleSource, ScheduleSpec
from agentcron.scheduler import trigger_of
from agentcron.specs import Built, build_schedule

if TYPE_CHECKING:
    from agentcron.agents.phrases import Source, TriggerReading

__all__ = ["ScheduleVerbs"]

log = logging.getLogger("agentcron")


class ScheduleVerbs(AppBase):
    """Declare, create, change, list, pause, resume, delete, sync schedules."""

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
        """The schedule with id ``key``, or named ``key`` in ``namespace`` (default:
        ``default``). Raises `ScheduleNotFound`."""
        return await self.store.get_schedule(key, namespace)

    async def list_schedules(
        self,
        *,
        namespace: str | None = None,
        source: ScheduleSource | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> tuple[list[Schedule], str | None]:
        """The schedules of ``namespace`` (None: all) and ``source`` (None: any), by
        (namespace, name): a page and the next page's cursor."""
        return await self.store.list_schedules(
            namespace=namespace, source=source, limit=limit, cursor=cursor
        )

    async def delete_schedule(self, key: str, *, namespace: str | None = None) -> None:
        """Delete a schedule (its runs are kept). Raises `ScheduleNotFound`."""
        schedule = await self.get_schedule(key, namespace=namespace)
        await self.store.delete_schedule(schedule.id)

    async def pause(self, key: str, *, namespace: str | None = None) -> Schedule:
        """Disable: ``enabled`` false and no next fire time until resumed."""
        schedule = await self.get_schedule(key, namespace=namespace)
        return await self.store.set_schedule_enabled(schedule.id, False, None)

    async def resume(self, key: str, *, namespace: str | None = None) -> Schedule:
        """Enable again; the next fire time is the trigger's next after now (no catch-up)."""
        schedule = await self.get_schedule(key, namespace=namespace)
        nxt = trigger_of(schedule).next_after(self.clock.now())
        return await self.store.set_schedule_enabled(schedule.id, True, nxt)

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

    def _first_fire(self, built: Built) -> datetime | None:
        if not built.spec.enabled:
            return None
        return built.trigger.next_after(self.clock.now())

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


_OPTIONS = frozenset(
    {"name", "args", "timezone", "misfire", "misfire_grace", "overlap", "retries", "timeout",
     "priority", "queue", "jitter", "enabled", "namespace", "description", "limit",
     "for_each_subject", "metadata", "thread_id"}
)  # fmt: skip


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
