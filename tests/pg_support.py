"""PostgreSQL for tests: one migrated template database per test session, and a fresh
database cloned from it for each test (``CREATE DATABASE ... TEMPLATE``), so the suite is fast.

The server is ``AGENTCRON_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
When it cannot be reached the tests that need it are skipped with a loud reason, unless
``AGENTCRON_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache

import pytest

ADMIN_URL = os.environ.get("AGENTCRON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("AGENTCRON_REQUIRE_POSTGRES", "") not in ("", "0", "false")
_TEMPLATE = f"agentcron_tpl_{os.getpid()}"


def url_for(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@cache
def unavailable_reason() -> str | None:
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc}); pip install 'agentcron[postgres]'"
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        detail = " ".join(str(exc).split())  # one line in pytest's summary of skips
        return f"PostgreSQL at {ADMIN_URL} cannot be reached: {detail}"
    return None


def require_postgres() -> None:
    """Skip (loudly) or fail when PostgreSQL is not there."""
    reason = unavailable_reason()
    if reason is None:
        return
    message = f"POSTGRESQL TESTS NOT RUN: {reason}"
    if REQUIRED:
        pytest.fail(message + " (AGENTCRON_REQUIRE_POSTGRES is set)", pytrace=False)
    pytest.skip(message + " (AGENTCRON_REQUIRE_POSTGRES=1 makes this a failure)")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@cache
def template_database() -> str:
    """Create and migrate the session's template database (once)."""
    import asyncio

    from agentcron.store.postgres import PostgresStore

    _admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{_TEMPLATE}"')

    async def migrate() -> None:
        store = PostgresStore(url_for(_TEMPLATE))
        await store.open()
        await store.close()

    with ThreadPoolExecutor(1) as pool:  # callers may be inside a running event loop
        pool.submit(asyncio.run, migrate()).result()
    import atexit

    atexit.register(lambda: _admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
    return _TEMPLATE


@contextmanager
def fresh_database(*, migrated: bool = True) -> Iterator[str]:
    """Yield the URL of a new database (a clone of the migrated template, or empty)."""
    require_postgres()
    name = f"agentcron_t_{uuid.uuid4().hex[:12]}"
    if migrated:
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_database()}"')
    else:
        _admin(f'CREATE DATABASE "{name}"')
    try:
        yield url_for(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
