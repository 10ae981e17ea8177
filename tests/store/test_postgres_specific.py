"""What only the PostgreSQL store promises: pooled connections the server dropped are
replaced without the caller noticing, when that is safe."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from store_helpers import T0, enqueue_one, make_spec

from agentcron.store import Store

pytestmark = pytest.mark.postgres


@pytest.fixture
def store_kind() -> str:
    return "postgres"


def _terminate_sessions(url: str) -> int:
    """End every other session on the database, as a server restart would."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


async def test_operations_right_after_the_server_dropped_the_pool_succeed(
    store: Store, postgres_url: str
) -> None:
    """A connection used a moment ago is handed out without a check round trip; when the
    server has ended its session since, the operation runs again on a new connection."""
    first = await enqueue_one(store)  # the pool's connections were just used
    await store.add_schedule(make_spec("before"), T0)
    assert await asyncio.to_thread(_terminate_sessions, postgres_url) >= 2
    again = await enqueue_one(store, args={"after": True})  # the one-statement path
    assert await asyncio.to_thread(_terminate_sessions, postgres_url) >= 1
    schedule = await store.add_schedule(make_spec("after"), T0)  # a transaction
    assert (await store.get_run(again.id)).args == {"after": True}
    assert again.id > first.id
    assert (await store.get_schedule(schedule.id)).name == "after"
    runs, _ = await store.list_runs(limit=10)
    assert sorted(r.id for r in runs) == [first.id, again.id]  # each written once
