"""The multi-node store: PostgreSQL through psycopg 3 (async, pooled).

Any number of schedulers and workers on any number of machines share one database:
firing and claiming lock rows with ``FOR UPDATE SKIP LOCKED``; wake-ups are ``LISTEN/NOTIFY``,
sent by triggers at commit for runs and schedules and by the writing process after its commit
for events (`postgres/announce.py`), so a wake-up never precedes the data. While the server is down,
store calls wait for it at most `connect_timeout`, and one task reconnects with a capped
backoff (`postgres/connect.py`); a store
that cannot write (a full disk) says so through `check_writes` (`core/write_health.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool

from agentcron.errors import SchemaError, StoreError, StoreRefused, StoreUnavailable
from agentcron.store import shown_url
from agentcron.store.core.base import StoreBase, woken
from agentcron.store.core.firing import FiringVerbs
from agentcron.store.core.metrics import MetricsVerbs
from agentcron.store.core.ops import Op
from agentcron.store.core.registry import RegistryVerbs
from agentcron.store.core.schedules import ScheduleVerbs
from agentcron.store.core.tokens import TokenVerbs
from agentcron.store.db import Tx, UniqueConflict
from agentcron.store.postgres.activity import PgActivityVerbs
from agentcron.store.postgres.announce import Announcer
from agentcron.store.postgres.connect import ConnectOptions, Reconnector
from agentcron.store.postgres.durable import PgDurableVerbs
from agentcron.store.postgres.events import PgEventVerbs
from agentcron.store.postgres.groups import EnqueueGroups
from agentcron.store.postgres.hot import PgHotRuns
from agentcron.store.postgres.listen import Listener
from agentcron.store.postgres.tx import PgTx

__all__ = ["PostgresStore"]

log = logging.getLogger("agentcron.store")

T = TypeVar("T")
CHECK_AFTER_S = 1.0  # a pooled connection idle longer is checked before use
_CHANNELS = {
    "agentcron_runs": "runs",
    "agentcron_schedules": "schedules",
    "agentcron_events": "events",
}
_PG_CHANNELS = {ours: pg for pg, ours in _CHANNELS.items()}
_MIGRATION_LOCK = 0x61676E74  # pg_advisory_xact_lock key: serializes concurrent migrators
# Errors that say the server cannot write now, while it still answers: a full disk, no memory,
# an I/O error, a read-only server (a standby). Writes are retried by their callers.
_CANNOT_WRITE = frozenset({"53000", "53100", "53200", "58030", "25006"})
_META_TABLE = "SELECT to_regclass('agentcron_meta') IS NOT NULL"
_FOREIGN_TABLES = (
    "SELECT string_agg(tablename, ', ') FROM pg_tables WHERE schemaname = current_schema() "
    "AND tablename IN ('schedules', 'runs', 'events', 'subjects', 'tasks', 'workers')"
)


class PostgresStore(
    StoreBase,
    PgEventVerbs,
    ScheduleVerbs,
    FiringVerbs,
    RegistryVerbs,
    PgHotRuns,
    PgActivityVerbs,
    TokenVerbs,
    MetricsVerbs,
    PgDurableVerbs,
):
    """``postgresql://user@host:5432/db``, with ``?connect_timeout=5&reconnect_max_delay=1``
    (seconds) if wanted; ``connect_timeout_s`` and ``reconnect_max_delay_s`` are the same
    options (the URL wins; see `postgres/connect.py`).

    ``create=False``: open only a database that holds the agentcron schema; any other raises
    `SchemaError` and nothing is migrated.
    """

    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        create: bool = True,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout_s: float | None = None,
        reconnect_max_delay_s: float | None = None,
    ) -> None:
        self.url = url
        super().__init__(migrate=migrate, create=create, shown=shown_url(url))
        self._options = ConnectOptions.parse(
            url, connect_timeout_s=connect_timeout_s, reconnect_max_delay_s=reconnect_max_delay_s
        )
        self._min_size = min_size
        self._max_size = max_size
        self.connect_timeout_s = self._options.connect_timeout_s
        self.reconnect_max_delay_s = self._options.reconnect_max_delay_s
        self._reconnector = Reconnector(
            self._reconnect_attempt, self._wake_all,
            max_delay_s=self.reconnect_max_delay_s, wait_s=self.connect_timeout_s,
        )  # fmt: skip
        self._pool: AsyncConnectionPool | None = None
        self._used: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._listener: Listener | None = None
        self._grouped = EnqueueGroups(self._enqueue)
        # Event readers of other processes are woken by the writer (`postgres/announce.py`).
        self._announcer = Announcer(
            lambda: self._statement("SELECT pg_notify('agentcron_events', '')", ())
        )

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        # The pool waits `connect_timeout` for a connection, and gives up reconnecting on its
        # own soon (its backoff has no cap): while the server is down, `_reconnector` tries.
        pool = AsyncConnectionPool(
            self._options.conninfo,
            min_size=self._min_size,
            max_size=self._max_size,
            open=False,
            check=self._check,
            configure=_configure,
            name="agentcron",
            timeout=self.connect_timeout_s,
            reconnect_timeout=self.reconnect_max_delay_s,
        )
        try:
            await pool.open(wait=True, timeout=self.connect_timeout_s)
        except Exception as exc:
            await pool.close()
            raise StoreUnavailable(f"cannot connect to {shown_url(self.url)}: {exc}") from None
        self._pool = pool
        await self._open_schema()
        self._listener = Listener(
            self._options.conninfo, self._deliver, self._wake_all,
            max_delay_s=self.reconnect_max_delay_s, back=self._reconnector.nudge,
        )  # fmt: skip
        self._listener.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listener.connected(), self.connect_timeout_s)

    async def close(self) -> None:
        await self._grouped.drain()
        await self._announcer.drain()
        await self._reconnector.stop()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """The pool's check of a connection it hands out: a round trip, skipped when the
        connection worked less than `CHECK_AFTER_S` ago (under load that is every time).
        A server lost within that window fails the operation with `StoreUnavailable`, as
        a server lost in the middle of it would. A connection that fails its check may mean
        the server is down: an attempt to connect tells, and then the caller waits for it
        to be back (`Reconnector.confirm`) before the pool hands out another."""
        if time.monotonic() - self._used.get(conn, -CHECK_AFTER_S) < CHECK_AFTER_S:
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except psycopg.Error as exc:
            self._used.clear()  # the others may be gone too: check each again
            await self._reconnector.confirm(exc)
            raise

    async def _reconnect_attempt(self) -> None:
        """Connect once (raises when the server does not accept connections); then have the
        pool replace its broken idle connections (left by a restart)."""
        conn = await psycopg.AsyncConnection.connect(self._options.conninfo, autocommit=True)
        await conn.close()
        self._used.clear()
        if self._pool is not None:
            await self._pool.check()

    # -- running operations --------------------------------------------------------------------
    async def _ready(self) -> AsyncConnectionPool:
        """The pool, once the server is not known to be down (`Reconnector.wait`: at most
        `connect_timeout`, then `StoreUnavailable`)."""
        await self._reconnector.wait()
        if self._pool is None:
            raise StoreError("store is not open")
        return self._pool

    async def _tx(
        self, op: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]], *, durable: bool = True
    ) -> T:
        """Run ``op`` in a transaction on a pooled connection; translate the driver's errors.

        ``durable=False`` commits without waiting for the WAL flush (``synchronous_commit =
        off``): for the worker's claims, results, leases and reaping, whose loss in a server
        crash only means a run is leased, reaped and run again (at-least-once, as after a
        worker crash). Enqueues, schedules and firing stay durable.

        While writes fail (`check_writes`), each transaction also asks whether it wrote, so
        that the first write that succeeds again ends the failure.
        """
        for attempt in (1, 2):
            pool = self._pool
            if pool is None or self._reconnector.down:
                pool = await self._ready()
            conn: psycopg.AsyncConnection[Any] | None = None
            committing = wrote = False
            try:
                async with pool.connection() as conn:
                    async with conn.transaction():
                        if not durable:
                            await conn.execute("SET LOCAL synchronous_commit = off")
                        result = await op(conn)
                        if self._write_health.failure is not None:
                            wrote = await _wrote(conn)
                        committing = True
                    self._used[conn] = time.monotonic()
                    if wrote:
                        self._write_health.succeeded()
                    return result
            except psycopg.OperationalError as exc:
                # A pooled connection the server dropped (a restart): nothing was committed
                # unless the COMMIT itself was under way, so the op is run again once on a
                # new connection, if the server accepts one.
                lost = conn is None or conn.broken
                retry = attempt == 1 and lost and not committing and conn is not None
                if retry and await self._reconnector.confirm(exc):
                    log.info("PostgreSQL connection was lost, retrying: %s", exc)
                    continue
                raise self._failed(exc, lost=lost) from None
            except (psycopg.Error, UnicodeEncodeError) as exc:
                raise self._failed(exc) from None
        raise AssertionError("unreachable")

    async def write(self, op: Op[T], *, durable: bool = True) -> T:
        """See `CoreOps.write`."""
        return await self._tx(lambda conn: op(PgTx(conn)), durable=durable)

    async def read(self, op: Op[T], *, small: bool = False) -> T:
        """See `CoreOps.read`."""
        return await self._tx(lambda conn: op(PgTx(conn)))

    async def _statement(self, sql: str, params: Sequence[Any], *, all_rows: bool = False) -> Any:
        """Run one statement as its own transaction (autocommit: one round trip, no BEGIN /
        COMMIT); its first row (all of them with ``all_rows``). Durable like `_tx`. A row a
        unique index refused is `UniqueConflict` (nothing was written). While writes fail, it
        runs as a transaction of `_tx` (which tells whether it wrote)."""
        if self._write_health.failure is not None:
            return await self._tx(partial(_one, sql, params, all_rows))
        for attempt in (1, 2):
            pool = self._pool
            if pool is None or self._reconnector.down:
                pool = await self._ready()
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                async with pool.connection() as conn:
                    cur = await conn.execute(sql, params)
                    row = await (cur.fetchall() if all_rows else cur.fetchone())
                    self._used[conn] = time.monotonic()
                    return row
            except psycopg.errors.AdminShutdown as exc:
                # The server ended this session (a restart, a terminated backend) and said so
                # instead of running the statement: run it again once on a new connection.
                # Any other lost connection may have lost the reply to a commit: not retried.
                if attempt == 1 and await self._reconnector.confirm(exc):
                    log.info("PostgreSQL connection was closed by the server, retrying: %s", exc)
                    continue
                raise self._failed(exc, lost=True) from None
            except psycopg.OperationalError as exc:
                raise self._failed(exc, lost=conn is None or conn.broken) from None
            except psycopg.errors.UniqueViolation as exc:
                raise UniqueConflict(str(exc)) from None
            except (psycopg.Error, UnicodeEncodeError) as exc:
                raise self._failed(exc) from None
        raise AssertionError("unreachable")

    def _failed(self, exc: psycopg.Error | UnicodeEncodeError, *, lost: bool = False) -> StoreError:
        """The store's error for a driver's. A lost connection (or none to be had in
        `connect_timeout`) starts an attempt to connect, which tells whether the server is
        down; an error that says the server cannot write is recorded for `check_writes`."""
        if lost:
            self._used.clear()  # a connection was lost: the pool checks the others again
            self._reconnector.suspect(exc)
            return self._reconnector.unavailable(exc)
        if isinstance(exc, psycopg.Error) and exc.sqlstate in _CANNOT_WRITE:
            self._write_health.failed(exc)
            return StoreUnavailable(
                f"PostgreSQL cannot write: {type(exc).__name__}: {exc}",
                retry_after_s=self._reconnector.retry_after_s,
            )
        if isinstance(exc, psycopg.OperationalError):
            return StoreUnavailable(f"PostgreSQL unavailable: {exc}")
        if isinstance(exc, psycopg.errors.UniqueViolation):
            return UniqueConflict(str(exc))
        return _error(exc)

    def outage(self) -> str | None:
        """See `Store.outage`."""
        return str(self._reconnector.unavailable()) if self._reconnector.down else None

    # -- schema --------------------------------------------------------------------------------
    async def _has_schema(self, tx: Tx) -> bool:
        row = await tx.one(_META_TABLE)
        if row and row[0]:
            return True
        row = await tx.one(_FOREIGN_TABLES)  # tables of ours made by something else?
        if row and row[0]:
            raise SchemaError(
                f"the database already has tables named {row[0]} that agentcron did not "
                "create; use another database or schema (search_path)"
            )
        return False

    async def _run_script(self, tx: Tx, sql: str) -> None:
        assert isinstance(tx, PgTx)
        await tx.conn.execute(sql.encode())  # as it is: no placeholders to convert

    async def _lock_schema(self, tx: Tx) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    async def vacuum(self) -> None:
        """``ANALYZE`` the tables (autovacuum reclaims space on PostgreSQL)."""
        await self._tx(lambda conn: conn.execute("ANALYZE runs, schedules, events"))

    # -- wake-ups (`StoreBase.notify`: other processes are woken by the database triggers at
    # commit, and event readers by `_announcer`) -----------------------------------------------
    async def wait(self, channel: str, timeout: float) -> bool:
        """Until a wake-up on ``channel`` or ``timeout``. The first wait on a channel returns
        (True) once this process listens to it (`postgres/listen.py`): look again, then wait."""
        pg_channel = _PG_CHANNELS[channel]
        if self._listener is not None and not self._listener.listens(pg_channel):
            event = self._event(channel)
            return await woken(self._listener.listen(pg_channel), event, timeout)
        return await super().wait(channel, timeout)

    def _deliver(self, channel: str) -> None:
        event = self._events.get(_CHANNELS.get(channel, ""))
        if event is not None:
            event.set()


def _error(exc: psycopg.Error | UnicodeEncodeError) -> StoreError:
    if isinstance(exc, UnicodeEncodeError):  # a parameter with a lone surrogate
        return StoreRefused(f"text that is not valid Unicode: {exc}")
    if isinstance(exc, psycopg.DataError):  # a value PostgreSQL cannot hold
        return StoreRefused(f"PostgreSQL refused a value: {type(exc).__name__}: {exc}")
    return StoreError(f"PostgreSQL error: {type(exc).__name__}: {exc}")


async def _one(
    sql: str, params: Sequence[Any], all_rows: bool, conn: psycopg.AsyncConnection[Any]
) -> Any:
    cur = await conn.execute(sql, params)
    return await (cur.fetchall() if all_rows else cur.fetchone())


async def _wrote(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether the transaction under way wrote anything (it has a transaction id)."""
    cur = await conn.execute("SELECT txid_current_if_assigned() IS NOT NULL")
    row = await cur.fetchone()
    return bool(row and row[0])


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    """jsonb comes back as text: the shared codec decodes it (a JSON string result stays a
    string, not decoded twice)."""
    conn.adapters.register_loader("jsonb", TextLoader)
    # A lone statement is its own transaction (`_statement`); `_tx` opens one explicitly.
    await conn.set_autocommit(True)
