"""What only the PostgreSQL store promises: pooled connections the server dropped are
replaced without the caller noticing, when that is safe; single enqueues share statements;
a process listens only to the channels it waits on."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from store_helpers import T0, enqueue_one, make_spec

from agentcron.errors import StoreError
from agentcron.models import NewEvent
from agentcron.scheduler import RunPlanner
from agentcron.store import Store
from agentcron.store.postgres import PostgresStore
from agentcron.tasks import TaskRegistry

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


def _transactions_of_runs(url: str) -> int:
    """How many transactions wrote the runs (rows of one transaction share their xmin)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(DISTINCT xmin::text) FROM runs").fetchone()
    assert row is not None
    return int(row[0])


async def test_concurrent_enqueues_share_transactions_and_fail_alone(
    store: Store, postgres_url: str
) -> None:
    """Single enqueues of concurrent tasks go together while one is on its way: fewer
    transactions than runs, each caller with its own run; a run the server rejects fails
    its own caller only."""
    runs = await asyncio.gather(*(enqueue_one(store, args={"i": i}) for i in range(50)))
    assert [r.args for r in runs] == [{"i": i} for i in range(50)]
    assert len({r.id for r in runs}) == 50
    listed, _ = await store.list_runs(limit=100)
    assert sorted(r.id for r in listed) == sorted(r.id for r in runs)
    assert await asyncio.to_thread(_transactions_of_runs, postgres_url) < 10

    outcomes = await asyncio.gather(
        *(enqueue_one(store, args={"s": "\x00" if i == 7 else "fine"}) for i in range(20)),
        return_exceptions=True,
    )
    failed = [i for i, o in enumerate(outcomes) if isinstance(o, BaseException)]
    assert failed == [7]
    assert isinstance(outcomes[7], StoreError)
    assert len((await store.list_runs(limit=100))[0]) == 50 + 19


async def test_a_process_listens_only_to_the_channels_it_waits_on(
    store: Store, other_store: Store
) -> None:
    """A store that only writes (an API server, a script) listens to nothing, so wake-ups
    are not delivered to it for nothing; its first wait on a channel starts listening, and
    from then on it is woken by the writes of other processes."""
    assert isinstance(store, PostgresStore)
    await enqueue_one(store)
    await store.publish([NewEvent("x")], T0, RunPlanner(TaskRegistry(), T0))
    assert store._listener is not None
    channels = ("agentcron_runs", "agentcron_events", "agentcron_schedules")
    assert not any(store._listener.listens(c) for c in channels)
    assert await store.wait("runs", 5.0)  # listening now: look again
    assert store._listener.listens("agentcron_runs")
    assert not store._listener.listens("agentcron_events")
    while await store.wait("runs", 0.05):  # its own enqueue may still be on its way
        pass
    waiter = asyncio.create_task(store.wait("runs", 10.0))
    await enqueue_one(other_store)
    assert await waiter
