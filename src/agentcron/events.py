"""Publish and subscribe: durable events over the store.

An event is a row (`Store.publish`); subscribing reads the rows after a cursor, and when it has
caught up waits on the store's ``events`` channel (PostgreSQL ``LISTEN``, SQLite's commit
poller), so subscribers in any process see every event, and one that restarts resumes from the
id it got to: nothing is lost in between.

>>> async with app.subscribe("user.*", after=last_seen) as events:
...     async for event in events:
...         handle(event)
...         last_seen = event.id

Order: events arrive in id order. On PostgreSQL an id is taken at insert but becomes visible
at commit, so a smaller id can appear after a larger one; a subscriber that sees a hole in the
ids waits for it to fill (its transaction commits) before going past it, and gives up on it
after `Subscription.gap_timeout_s` (its transaction was rolled back). The cursor is therefore
safe to resume from: every event up to it was delivered or will never exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agentcron.clock import SystemClock
from agentcron.errors import ValidationError
from agentcron.models import Event
from agentcron.triggers.subject import check_event_type

if TYPE_CHECKING:
    from agentcron.clock import Clock
    from agentcron.store.base import Store

__all__ = ["GAP_TIMEOUT_S", "Subscription", "subscribe"]

GAP_TIMEOUT_S = 10.0
"""How long a subscriber waits for a missing id (an uncommitted transaction) to appear."""
SCAN = 1000
"""Ids a subscriber looks at per read."""
_MAX_GAPS = 10_000
_SAFETY_WAKE_S = 5.0  # re-read at least this often, even without a wake-up (a lost NOTIFY)


def subscribe(
    store: Store,
    pattern: str = "*",
    *,
    after: int | None = None,
    namespace: str | None = None,
    batch: int = 500,
    gap_timeout_s: float = GAP_TIMEOUT_S,
    clock: Clock | None = None,
) -> Subscription:
    """Events whose type matches the glob ``pattern`` (of ``namespace``; None: all), after
    the event id ``after`` (None: only events published from now on; 0: from the start).
    ``clock``: what the age of stored events is measured with (default: the wall clock).
    Raises `ValidationError` (``pattern``, ``after``, ``namespace``)."""
    return Subscription(
        store, pattern, after=after, namespace=namespace, batch=batch,
        gap_timeout_s=gap_timeout_s, clock=clock,
    )  # fmt: skip


class Subscription(AsyncIterator[Event]):
    """An async iterator of events (see `subscribe`); also an async context manager that fixes
    the starting point on entry and stops on exit.

    ``cursor``: every event up to this id was delivered (or will never exist): resume there.
    """

    def __init__(
        self,
        store: Store,
        pattern: str = "*",
        *,
        after: int | None = None,
        namespace: str | None = None,
        batch: int = 500,
        gap_timeout_s: float = GAP_TIMEOUT_S,
        clock: Clock | None = None,
    ) -> None:
        if pattern != "*":
            check_event_type(pattern, pattern=True, field="pattern")
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int) or after < 0
        ):
            raise ValidationError("must be an event id (a whole number >= 0)", field="after")
        if namespace is not None and (not isinstance(namespace, str) or not namespace):
            raise ValidationError("must be a namespace name or None", field="namespace")
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.pattern = pattern
        self.namespace = namespace
        self.batch = max(1, batch)
        self.gap_timeout_s = gap_timeout_s
        self.cursor: int | None = after
        self._buffer: deque[Event] = deque()
        self._gaps: dict[int, float] = {}  # missing id -> when first missed (monotonic)
        self._waker: _Waker | None = None
        self._closed = False

    async def start(self) -> Subscription:
        """Fix the starting point (``after`` None: the newest event now). Done by the first
        ``async for`` step or on entering ``async with``; idempotent."""
        if self._closed:
            raise RuntimeError("this subscription is closed")
        if self._waker is None:
            self._waker = _Waker(self.store)  # listening before the cursor is fixed
        if self.cursor is None:
            self.cursor = await self.store.last_event_id()
        return self

    async def aclose(self) -> None:
        self._closed = True
        if self._waker is not None:
            await self._waker.close()
            self._waker = None

    async def __aenter__(self) -> Subscription:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        await self.start()
        while not self._buffer:
            if self._closed or self._waker is None:
                raise StopAsyncIteration
            seen = self._waker.version
            if await self._read():
                break
            await self._waker.wait(seen, self._wait_s())
        return self._buffer.popleft()

    # -- reading -----------------------------------------------------------------------------
    async def _read(self) -> bool:
        """Read what is settled after the cursor into the buffer; True when something came."""
        assert self.cursor is not None
        horizon = await self._horizon(self.cursor)
        if horizon <= self.cursor:
            return False
        events = await self.store.read_events(
            self.cursor, namespace=self.namespace, pattern=self.pattern, limit=self.batch,
            until=horizon,
        )  # fmt: skip
        self.cursor = events[-1].id if len(events) == self.batch else horizon
        for gap in [g for g in self._gaps if g <= self.cursor]:
            del self._gaps[gap]
        self._buffer.extend(events)
        return bool(events)

    async def _horizon(self, cursor: int) -> int:
        """The largest id up to which every event is visible or given up on."""
        ids = await self.store.event_ids(cursor, SCAN)
        horizon, expect, oldest = cursor, cursor + 1, None
        now = time.monotonic()
        for event_id in ids:
            if event_id > expect:  # ids expect .. event_id - 1 are not visible (yet)
                if oldest is None and horizon == cursor:
                    oldest = await self._purged_below()
                if not self._settled(expect, event_id, now, oldest):
                    return horizon
            horizon, expect = event_id, event_id + 1
        return horizon

    def _settled(self, first: int, end: int, now: float, oldest: int | None) -> bool:
        """Whether the missing ids ``first .. end - 1`` can be passed: purged (below
        ``oldest``, see `_purged_below`), or missing for longer than the gap timeout (rolled
        back, or their transaction is open that long)."""
        if oldest is not None and end <= oldest:
            return True
        settled = True
        for missing in range(first, min(end, first + _MAX_GAPS)):
            since = self._gaps.setdefault(missing, now)
            settled = settled and now - since >= self.gap_timeout_s
        if len(self._gaps) > _MAX_GAPS:  # a huge rollback: stop tracking the oldest holes
            for missing in sorted(self._gaps)[: len(self._gaps) - _MAX_GAPS]:
                del self._gaps[missing]
        return settled

    async def _purged_below(self) -> int:
        """Ids below the oldest event stored were purged, when that event is older than the
        gap timeout (otherwise they may belong to transactions still open: a new table)."""
        oldest = await self.store.read_events(0, limit=1)
        if not oldest:
            return 0
        first = oldest[0]
        age_s = (self.clock.now() - first.created_at).total_seconds()
        return first.id if age_s > self.gap_timeout_s else 0

    def _wait_s(self) -> float:
        if not self._gaps:
            return _SAFETY_WAKE_S
        due = min(self._gaps.values()) + self.gap_timeout_s - time.monotonic()
        return min(_SAFETY_WAKE_S, max(0.01, due))


class _Waker:
    """Waits on the store's ``events`` channel all along and counts the wake-ups, so that a
    wake-up that comes while the subscriber reads is not lost: the subscriber notes the count
    before reading and waits only if it has not changed since."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.version = 0
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="agentcron-subscription")

    async def wait(self, seen: int, timeout: float) -> None:
        if self.version != seen:
            return
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._changed.wait()

    async def close(self) -> None:
        await stop_tasks([self._task])

    async def _run(self) -> None:
        while True:
            try:
                woke = await self.store.wait("events", _SAFETY_WAKE_S)
            except Exception:  # a closed or failing store: let the subscriber retry, later
                await asyncio.sleep(0.5)
                woke = True
            if woke:
                self.version += 1
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()


async def stop_tasks(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they are done, cancelling again if one swallowed it
    (``asyncio.wait_for`` on Python 3.11 does when its future completes at the same time)."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
