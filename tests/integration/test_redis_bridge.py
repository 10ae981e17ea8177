"""The Redis bridge against a real Redis (``AGENTCRON_TEST_REDIS``, default
redis://127.0.0.1:6379/0): events cross between two agentcron databases both ways, without
loops; patterns filter what goes out; foreign and malformed messages.

Skipped, loudly, when Redis cannot be reached; a failure under ``AGENTCRON_REQUIRE_REDIS=1``.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from agentcron import App
from agentcron.models import Event

redis_asyncio = pytest.importorskip("redis.asyncio", reason="pip install 'agentcron[redis]'")

from agentcron.bridges.redis import RedisBridge  # noqa: E402

pytestmark = pytest.mark.timeout(60)

REDIS_URL = os.environ.get("AGENTCRON_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRED = os.environ.get("AGENTCRON_REQUIRE_REDIS", "") not in ("", "0", "false")


@pytest.fixture
async def redis_url() -> str:
    client = redis_asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        message = f"REDIS BRIDGE TESTS NOT RUN: Redis at {REDIS_URL} cannot be reached: {exc}"
        if REQUIRED:
            pytest.fail(message + " (AGENTCRON_REQUIRE_REDIS is set)", pytrace=False)
        pytest.skip(message)
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
def channel() -> str:
    return f"agentcron.test.{uuid.uuid4().hex}"  # no test hears another's messages


@pytest.fixture
async def apps(tmp_path: Path) -> AsyncIterator[tuple[App, App]]:
    """Two agentcron deployments: two databases that share nothing but Redis."""
    a = App(f"sqlite:///{tmp_path / 'a.db'}", maintenance=False)
    b = App(f"sqlite:///{tmp_path / 'b.db'}", maintenance=False)
    async with a, b:
        yield a, b


async def arrival(app: App, pattern: str, after: int = 0, timeout: float = 10.0) -> Event:
    """The first event matching ``pattern`` after ``after`` (waiting for it, up to a deadline)."""
    async with app.subscribe(pattern, after=after) as events:
        event: Event = await asyncio.wait_for(anext(events), timeout)
        return event


async def count(app: App, pattern: str) -> int:
    return len(await app.store.read_events(0, pattern=pattern))


async def test_events_cross_both_ways_without_loops(
    apps: tuple[App, App], redis_url: str, channel: str
) -> None:
    a, b = apps
    async with AsyncExitStack() as stack:
        bridge_a = await stack.enter_async_context(RedisBridge(a, redis_url, channel))
        bridge_b = await stack.enter_async_context(RedisBridge(b, redis_url, channel))

        sent = await a.publish("user.signup", {"plan": "pro"}, subject="user:1")
        got = await arrival(b, "user.signup")
        assert (got.type, got.data, got.subject, got.namespace) == (
            "user.signup", {"plan": "pro"}, "user:1", "default",
        )  # fmt: skip

        # A sentinel from b to a travels behind anything b would have echoed back.
        await b.publish("test.sentinel", {"from": "b"})
        await arrival(a, "test.sentinel")
        back = await b.publish("order.paid", {"n": 1})
        assert (await arrival(a, "order.paid")).data == back.data
        await a.publish("test.sentinel", {"from": "a"})
        await arrival(b, "test.sentinel", after=back.id)

        assert await count(a, "user.signup") == 1  # the original, never echoed back
        assert await count(b, "user.signup") == 1
        assert await count(a, "order.paid") == 1
        assert await count(b, "order.paid") == 1
        assert await count(a, "test.sentinel") == 2
        assert await count(b, "test.sentinel") == 2
        assert sent.id > 0
        assert bridge_a.origin != bridge_b.origin


async def test_patterns_filter_what_goes_out_and_the_message_shape(
    apps: tuple[App, App], redis_url: str, channel: str
) -> None:
    a, _ = apps
    listener = redis_asyncio.Redis.from_url(redis_url)
    pubsub = listener.pubsub()
    await pubsub.subscribe(channel)
    try:
        async with RedisBridge(a, redis_url, channel, patterns=("user.*",)) as bridge:
            await a.publish("order.paid", {"n": 1})  # not matching: stays here
            sent = await a.publish("user.signup", {"n": 2}, subject="user:2")
            message = await _next_message(pubsub)
        body = json.loads(message["data"])
        assert body == {"version": 1, "origin": bridge.origin, "event": sent.to_dict()}
    finally:
        await pubsub.aclose()
        await listener.aclose()


async def test_foreign_and_malformed_messages(
    apps: tuple[App, App], redis_url: str, channel: str
) -> None:
    a, _ = apps

    @a.task
    async def greet() -> None: ...

    await a.add_schedule(greet, "on ext.ping", name="greet")
    producer = redis_asyncio.Redis.from_url(redis_url)
    try:
        async with RedisBridge(a, redis_url, channel) as bridge:
            for junk in ("not json", "[1, 2]", json.dumps({"type": "Bad Type"})):
                await producer.publish(channel, junk)
            await producer.publish(
                channel, json.dumps({"type": "ext.ping", "data": {"k": 1}, "subject": "s:1"})
            )
            got = await arrival(a, "ext.*")
            assert bridge.received == 1
        assert (got.type, got.data, got.subject) == ("ext.ping", {"k": 1}, "s:1")
        runs, _ = await a.list_runs(schedule="greet")
        assert [r.subject for r in runs] == ["s:1"]  # it fired the event schedule
    finally:
        await producer.aclose()


async def test_bridge_refuses_bad_patterns(apps: tuple[App, App]) -> None:
    from agentcron.errors import ValidationError

    with pytest.raises(ValidationError):
        RedisBridge(apps[0], patterns=("Not Valid",))


async def _next_message(pubsub: Any, timeout: float = 10.0) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                return dict(message)

    return await asyncio.wait_for(wait(), timeout)
