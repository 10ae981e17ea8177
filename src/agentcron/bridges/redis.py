"""A bridge between agentcron events and a Redis pub/sub channel (``agentcron[redis]``).

Both ways at once:

- out: every event of the app whose type matches one of ``patterns`` is published on
  ``channel`` as JSON ``{"version": 1, "origin": <bridge id>, "event": {"id", "type",
  "namespace", "subject", "data", "created_at"}}``;
- in: every message on ``channel`` from elsewhere is published into the app (``type``,
  ``data``, ``subject``, ``namespace`` of its ``event``, or of the message itself when it has
  no ``event``), so that it fires event schedules and reaches subscribers. Messages that are
  not valid events are logged and skipped.

No loops: the bridge skips the messages it sent itself (their ``origin``), and never sends out
the events it brought in. Run one bridge per database (two bridges on one database would each
send every event out).

The store is the outgoing buffer: while Redis is unreachable the bridge reconnects with
backoff and then sends what was published meanwhile (Redis pub/sub itself keeps nothing for
subscribers that are away).

>>> async with RedisBridge(app, "redis://127.0.0.1:6379/0", patterns=("user.*",)):
...     await app.run()
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentcron.errors import StoreError, ValidationError
from agentcron.events import stop_tasks
from agentcron.models import Event
from agentcron.triggers.subject import check_event_type

if TYPE_CHECKING:
    from agentcron.app import App
    from agentcron.events import Subscription

__all__ = ["RedisBridge"]

log = logging.getLogger("agentcron.bridges.redis")

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_CHANNEL = "agentcron.events"
_REMEMBERED = 10_000  # ids of events brought in, never sent back out
_MAX_BACKOFF_S = 10.0


class RedisBridge:
    """Forward the app's events matching ``patterns`` to the Redis channel, and publish into
    the app the events other processes put on it. ``async with RedisBridge(app): ...`` runs it
    in the background (entering returns once it listens on both sides); ``await
    bridge.run(stop)`` runs it until ``stop`` is set. ``after``: the event id to start
    forwarding after (None: events from now on). ``namespace``: only that namespace's events
    (both ways; None: all)."""

    def __init__(
        self,
        app: App,
        url: str = DEFAULT_URL,
        channel: str = DEFAULT_CHANNEL,
        patterns: Sequence[str] = ("*",),
        *,
        namespace: str | None = None,
        after: int | None = None,
        origin: str | None = None,
        ready_timeout_s: float = 10.0,
    ) -> None:
        if isinstance(patterns, str):
            patterns = (patterns,)
        for pattern in patterns:
            if pattern != "*":
                check_event_type(pattern, pattern=True, field="patterns")
        self.app = app
        self.url = url
        self.channel = channel
        self.patterns = tuple(patterns)
        self.namespace = namespace
        self.after = after
        self.origin = origin or uuid.uuid4().hex
        self.ready_timeout_s = ready_timeout_s
        self.sent = 0
        self.received = 0
        self.ready = asyncio.Event()
        self._imported: set[int] = set()
        self._imported_order: deque[int] = deque()
        self._importing = asyncio.Lock()
        self._unsent: Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> RedisBridge:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.run(self._stop), name="agentcron-redis-bridge")
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait(
            [self._task, ready], timeout=self.ready_timeout_s, return_when="FIRST_COMPLETED"
        )
        ready.cancel()
        if self._task.done():
            self._task.result()  # what stopped it
        if not self.ready.is_set():
            await self.__aexit__()
            raise ConnectionError(
                f"the Redis bridge could not reach {_safe(self.url)} in {self.ready_timeout_s:g}s"
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = self._stop = None

    async def run(self, stop: asyncio.Event) -> None:
        """Bridge until ``stop`` is set, reconnecting to Redis with backoff when it fails."""
        redis = _import_redis()
        async with self.app.subscribe(after=self.after, namespace=self.namespace) as events:
            delay = 0.1
            while not stop.is_set():
                try:
                    await self._session(redis, events, stop)
                    return
                except (OSError, redis.RedisError) as exc:
                    self.ready.clear()
                    log.warning("Redis bridge: %s; reconnecting in %.1fs", exc, delay)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await stop.wait()
                    delay = min(delay * 2, _MAX_BACKOFF_S)

    async def _session(self, redis: Any, events: Subscription, stop: asyncio.Event) -> None:
        client = redis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            self.ready.set()
            log.info("Redis bridge on %s channel %r", _safe(self.url), self.channel)
            parts = [self._send_loop(client, events), self._receive_loop(pubsub, stop)]
            await _until_stopped(parts, stop)
        finally:
            await _close(pubsub)
            await _close(client)

    # -- out -----------------------------------------------------------------------------------
    async def _send_loop(self, client: Any, events: Subscription) -> None:
        while True:
            event = self._unsent
            if event is None:
                event = self._unsent = await events.__anext__()  # kept until Redis took it
            if self._wanted(event) and not await self._brought_in(event):
                await client.publish(self.channel, self._message(event))
                self.sent += 1
            self._unsent = None

    def _wanted(self, event: Event) -> bool:
        return any(fnmatch.fnmatchcase(event.type, p) for p in self.patterns)

    async def _brought_in(self, event: Event) -> bool:
        async with self._importing:  # an event being brought in is registered first
            return event.id in self._imported

    def _message(self, event: Event) -> str:
        return json.dumps(
            {"version": 1, "origin": self.origin, "event": event.to_dict()},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    # -- in ------------------------------------------------------------------------------------
    async def _receive_loop(self, pubsub: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message.get("type") == "message":
                await self._bring_in(message["data"])

    async def _bring_in(self, raw: bytes | str) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            log.warning("Redis bridge: skipped a message that is not JSON: %.200r", raw)
            return
        if not isinstance(body, dict) or body.get("origin") == self.origin:
            return
        item = body.get("event", body)
        if not isinstance(item, dict):
            return
        namespace = item.get("namespace") or "default"
        if self.namespace is not None and namespace != self.namespace:
            return
        async with self._importing:
            try:
                event = await self.app.publish(
                    item.get("type"),  # type: ignore[arg-type]
                    item.get("data"),
                    subject=item.get("subject"),
                    namespace=namespace,
                )
            except ValidationError as exc:
                log.warning("Redis bridge: skipped an invalid event: %s", exc)
                return
            except StoreError as exc:  # pub/sub does not deliver it again: say so
                log.error("Redis bridge: lost an event from Redis, the store failed: %s", exc)
                return
            self._remember(event.id)
        self.received += 1

    def _remember(self, event_id: int) -> None:
        self._imported.add(event_id)
        self._imported_order.append(event_id)
        if len(self._imported_order) > _REMEMBERED:
            self._imported.discard(self._imported_order.popleft())


async def _until_stopped(parts: list[Any], stop: asyncio.Event) -> None:
    """Run ``parts`` until ``stop`` is set or one of them fails (re-raised)."""
    tasks = [asyncio.ensure_future(p) for p in parts]
    stopped = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, stopped], return_when="FIRST_COMPLETED")
        for task in done:
            if task is not stopped and task.exception() is not None:
                raise task.exception()  # type: ignore[misc,unused-ignore]
    finally:
        await stop_tasks([*tasks, stopped])


async def _close(thing: Any) -> None:
    close = getattr(thing, "aclose", None) or thing.close
    with contextlib.suppress(Exception):
        await close()


def _import_redis() -> Any:
    try:
        import redis.asyncio as redis
    except ImportError as exc:
        raise ImportError(
            f"the Redis bridge needs redis-py: pip install 'agentcron[redis]' ({exc})"
        ) from None
    return redis


def _safe(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url
