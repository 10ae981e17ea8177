"""Shared fixtures: one `store` fixture, parametrized over every kind of store.

`STORE_FACTORIES` maps a store kind (also the name of its migrations folder) to a factory:
an async context manager that prepares an empty database for one test and yields a function
making new, *unopened* stores on it. Each call gives an independent store (its own
connections, like another process), so tests can put two of them on one database.

Adding a backend is one entry here; every test in ``tests/store`` then runs against it too.
PostgreSQL tests share one database cloned from the migrated template (``tests/pg_support.py``)
and empty it before each test. They are marked ``postgres`` (``-m "not postgres"`` leaves them
out) and skipped, loudly, when no server is reachable (a failure under
``AGENTCRON_REQUIRE_POSTGRES=1``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeAlias

import pytest

from agentcron.store import Store
from agentcron.store.sqlite import SqliteStore

Connect: TypeAlias = Callable[[], Store]
StoreFactory: TypeAlias = Callable[
    [pytest.FixtureRequest], contextlib.AbstractAsyncContextManager[Connect]
]


@contextlib.asynccontextmanager
async def sqlite_database(request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """A real SQLite file in the test's tmp_path."""
    path = request.getfixturevalue("tmp_path") / "agentcron.db"
    yield lambda: SqliteStore(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One database for the session, cloned from the migrated template (skips without a
    server); each test starts by emptying it, which is much faster than a clone per test."""
    from pg_support import fresh_database

    with fresh_database() as url:
        yield url


def _empty_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'agentcron_meta'"
        ).fetchall()
        for (table,) in tables:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))


@contextlib.asynccontextmanager
async def postgres_database(request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """The session's PostgreSQL database, emptied."""
    from agentcron.store.postgres import PostgresStore

    url: str = request.getfixturevalue("postgres_url")
    await asyncio.to_thread(_empty_postgres, url)
    yield lambda: PostgresStore(url)


STORE_FACTORIES: dict[str, StoreFactory] = {
    "sqlite": sqlite_database,
    "postgres": postgres_database,
}


KIND_MARKS: dict[str, list[pytest.MarkDecorator]] = {"postgres": [pytest.mark.postgres]}


@pytest.fixture(
    params=[pytest.param(kind, marks=KIND_MARKS.get(kind, [])) for kind in sorted(STORE_FACTORIES)]
)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The kind of store under test: ``"postgres"`` or ``"sqlite"``."""
    kind: str = request.param
    return kind


@pytest.fixture
async def connect_store(store_kind: str, request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """Makes unopened stores on this test's database (callers open and close them)."""
    async with STORE_FACTORIES[store_kind](request) as connect:
        yield connect


@pytest.fixture
async def store(connect_store: Connect) -> AsyncIterator[Store]:
    """An open, migrated, empty store."""
    opened = connect_store()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def other_store(store: Store, connect_store: Connect) -> AsyncIterator[Store]:
    """A second open store on the same database as `store` (another process, in effect)."""
    opened = connect_store()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
