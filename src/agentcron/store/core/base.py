"""What both stores do alike around their driver: opening against a schema (check it, or
migrate it, with its version in ``agentcron_meta``), write health (`check_writes`), local
wake-ups (`notify`, `wait`) and ``async with``.

A dialect's store (``sqlite/store.py``, ``postgres/store.py``) adds its driver: connections,
transactions (`CoreOps.write`, `CoreOps.read`), error translation, and the few schema steps
that differ (`StoreBase._has_schema`, `StoreBase._run_script`, `StoreBase._lock_schema`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Self

from agentcron.errors import SchemaError, StoreUnavailable
from agentcron.store import migrate
from agentcron.store.core.ops import CoreOps
from agentcron.store.core.write_health import PROBE_KEY, WriteFailure, WriteHealth
from agentcron.store.db import Tx

__all__ = ["StoreBase", "woken"]

APPLICATION = "agentcron"  # agentcron_meta's 'application': whose database this is
_VERSION = "SELECT value FROM agentcron_meta WHERE key = 'schema_version'"
_SET = (
    "INSERT INTO agentcron_meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_MARK = "INSERT INTO agentcron_meta (key, value) VALUES ('application', ?) ON CONFLICT DO NOTHING"


class StoreBase(CoreOps):
    """The lifecycle both stores share; see `agentcron.store.base.Store` for the contract."""

    url: str

    def __init__(self, *, migrate: bool, create: bool, shown: str) -> None:
        """``shown``: where the database is, as messages name it (a path, a URL without its
        password)."""
        self._auto_migrate = migrate
        self._create = create
        self._shown = shown
        self._write_health = WriteHealth()
        self._events: dict[str, asyncio.Event] = {}
        self.applied_migrations: list[str] = []  # what open() applied

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- schema --------------------------------------------------------------------------------
    async def _open_schema(self) -> None:
        """Once connected: refuse a missing database (``create=False``), then migrate, or
        check that the schema is this code's. On any failure the store is closed again."""
        try:
            if not self._create and await self.schema_version() == 0:
                raise SchemaError(migrate.missing_message(self._shown))
            if self._auto_migrate:
                self.applied_migrations = await self.migrate()
            else:
                await self._check_schema()
        except BaseException:
            await self.close()
            raise

    async def migrate(self) -> list[str]:
        """Apply pending migrations in one transaction; the labels applied."""
        return await self.write(self._apply_migrations)

    async def schema_version(self) -> int:
        """The schema's version (0: none); read in a write transaction, as a migration is."""
        return await self.write(self._read_version)

    async def _check_schema(self) -> None:
        current = await self.schema_version()
        latest = migrate.latest_version(self.dialect)
        if current > latest:
            raise SchemaError(self._newer_message(current, latest))
        if current < latest:
            raise SchemaError(
                f"{self._shown}: schema {current} is older than {latest}; "
                "run `agentcron db upgrade`"
            )

    def _newer_message(self, current: int, latest: int) -> str:
        return (
            f"{self._shown} has schema version {current}, newer than this agentcron knows "
            f"({latest}); upgrade agentcron before running it against this database"
        )

    async def _apply_migrations(self, tx: Tx) -> list[str]:
        await self._lock_schema(tx)
        current = await self._read_version(tx)
        latest = migrate.latest_version(self.dialect)
        if current > latest:
            raise SchemaError(self._newer_message(current, latest))
        applied = []
        for migration in migrate.pending(self.dialect, current):
            await self._run_script(tx, migration.sql)
            await tx.execute(_SET, ("schema_version", str(migration.version)))
            await tx.execute(_MARK, (APPLICATION,))
            applied.append(migration.label)
        return applied

    async def _read_version(self, tx: Tx) -> int:
        if not await self._has_schema(tx):
            return 0
        row = await tx.one(_VERSION)
        return int(row[0]) if row else 0

    async def _has_schema(self, tx: Tx) -> bool:
        """Whether ``agentcron_meta`` exists; raises `SchemaError` for a database that holds
        another application's tables instead."""
        raise NotImplementedError

    async def _run_script(self, tx: Tx, sql: str) -> None:
        """Run a migration file (several statements, no parameters)."""
        raise NotImplementedError

    async def _lock_schema(self, tx: Tx) -> None:
        """Make concurrent migrators wait for each other (nothing where a write transaction
        already does)."""

    # -- health --------------------------------------------------------------------------------
    def outage(self) -> str | None:
        """See `Store.outage` (None: not known to be unreachable)."""
        return None

    async def check_writes(self, probe_after_s: float = 5.0) -> WriteFailure | None:
        """See `Store.check_writes`. A write that fails is recorded by the driver (`write`);
        a probe that fails without being recorded could not reach the database: it raises."""
        health = self._write_health
        if health.probe_due(probe_after_s):
            failures = health.failures
            try:
                await self.write(_probe)
            except StoreUnavailable:
                if health.failures == failures:  # not a write refused: unreachable
                    raise
            else:
                health.succeeded()
        return health.failure

    # -- wake-ups ------------------------------------------------------------------------------
    def notify(self, channel: str) -> None:
        """Wake this process's waiters on ``channel`` (other processes learn of a commit from
        the database: see each store)."""
        self._event(channel).set()  # kept until someone waits

    async def wait(self, channel: str, timeout: float) -> bool:
        """See `Store.wait`."""
        event = self._event(channel)
        return await woken(event.wait(), event, timeout)

    def _event(self, channel: str) -> asyncio.Event:
        return self._events.setdefault(channel, asyncio.Event())

    def _wake_all(self) -> None:
        for event in self._events.values():
            event.set()


async def woken(waiting: Awaitable[Any], event: asyncio.Event, timeout: float) -> bool:
    """Whether ``waiting`` finished within ``timeout``; then ``event`` is cleared (its
    waiter looks at the tables again)."""
    try:
        await asyncio.wait_for(waiting, timeout)
    except TimeoutError:
        return False
    event.clear()
    return True


async def _probe(tx: Tx) -> None:
    await tx.execute(_SET, (PROBE_KEY, str(time.time())))
