"""What a store provides to the shared algorithms: transactions (`write`, `read`), its
name, and local wake-ups. `SqliteStore` and `PostgresStore` implement these."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from agentcron.store.db import Tx

if TYPE_CHECKING:
    from agentcron.rules.events import Emitted

__all__ = ["CoreOps", "Op"]

T = TypeVar("T")
Op = Callable[[Tx], Coroutine[Any, Any, T]]


class CoreOps:
    dialect: str  # "sqlite" | "postgres" (the SQL fragments are on each `Tx`)

    async def write(self, op: Op[T], *, durable: bool = True) -> T:
        """``op`` in a write transaction; its result once committed. ``durable=False`` lets
        PostgreSQL acknowledge before the WAL flush (claims, leases and results, whose loss in
        a server crash only means a run is leased again)."""
        raise NotImplementedError

    async def read(self, op: Op[T], *, small: bool = False) -> T:
        """``op`` in a read transaction. ``small``: a short, bounded read (a point lookup, one
        page of a listing), which SQLite serves on the loop's own idle connection."""
        raise NotImplementedError

    def emitted(self, out: Emitted, *, announced: bool = False) -> None:
        """After a commit that wrote events: wake their readers (`EventVerbs.emitted`)."""
        raise NotImplementedError

    def notify(self, channel: str) -> None:
        """Wake this process's waiters on ``channel`` ("runs", "schedules", "events")."""
        raise NotImplementedError
