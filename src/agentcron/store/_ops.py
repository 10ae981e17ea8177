"""What a store provides to the verb mixins it is built from (the ``_sqlite_*`` and ``_pg_*``
modules), declared once per dialect. `SqliteStore` and `PostgresStore` implement these; the
mixins only call them. Imports nothing of the store but `db` (whose `UniqueConflict` it
names again for the modules not yet moved), so every mixin module can use it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from agentcron.store.db import UniqueConflict

if TYPE_CHECKING:
    import psycopg

    from agentcron.rules.events import Emitted
    from agentcron.store.postgres.announce import Announcer

T = TypeVar("T")

__all__ = ["PgOps", "SqliteOps", "UniqueConflict"]


class SqliteOps:
    async def _write(self, op: Any) -> Any:
        """Run ``op(conn)`` in a write transaction (see `SqliteStore._write`)."""
        raise NotImplementedError

    async def _read(self, op: Any) -> Any:
        """Run ``op(conn)`` on the reader thread (see `SqliteStore._read`)."""
        raise NotImplementedError

    async def _read_small(self, op: Any) -> Any:
        """A short bounded read, on the loop's idle connection (`SqliteStore._read_small`)."""
        raise NotImplementedError

    def notify(self, channel: str) -> None:
        raise NotImplementedError


class PgOps:
    _announcer: Announcer  # wakes event readers of other processes (`postgres/announce.py`)

    async def _tx(
        self,
        op: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]],
        *,
        durable: bool = True,
    ) -> T:
        """Run ``op(conn)`` in a transaction (see `PostgresStore._tx`)."""
        raise NotImplementedError

    async def _statement(self, sql: str, params: Sequence[Any], *, all_rows: bool = False) -> Any:
        """One statement as its own transaction (see `PostgresStore._statement`)."""
        raise NotImplementedError

    def notify(self, channel: str) -> None:
        raise NotImplementedError

    def emitted(self, out: Emitted, *, announced: bool = False) -> None:
        """After a commit that wrote events: wake their readers (see `PgEventVerbs.emitted`)."""
        raise NotImplementedError
