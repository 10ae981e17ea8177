"""Subject and event verbs of `App`: record activity, list subjects, publish and subscribe."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agentcron.app.base import AppBase, bounded
from agentcron.events import Subscription, subscribe
from agentcron.models import DEFAULT_NAMESPACE, Event, NewEvent
from agentcron.scheduler import RunPlanner
from agentcron.subjects import Subject, check_activity_time

__all__ = ["SubjectVerbs"]


class SubjectVerbs(AppBase):
    """Record activity, list subjects, publish and follow events."""

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
            namespace, limit=bounded(limit, "limit", 1, 10_000), cursor=cursor
        )

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
        return subscribe(self.store, pattern, after=after, namespace=namespace, clock=self.clock)
