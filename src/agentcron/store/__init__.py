"""Stores: where schedules and runs live. `open_store` picks one by URL scheme."""

from __future__ import annotations

from agentcron.errors import StoreError
from agentcron.store.base import FirePlan, Planner, RunFilter, Store, StoreStats, WriteFailure

__all__ = [
    "FirePlan",
    "Planner",
    "RunFilter",
    "Store",
    "StoreStats",
    "WriteFailure",
    "create_store",
]


def create_store(
    url: str, *, connect_timeout_s: float | None = None, reconnect_max_delay_s: float | None = None
) -> Store:
    """A store for ``url`` (not yet opened); drivers are imported lazily.

    ``sqlite:///agentcron.db`` (relative), ``sqlite:////var/lib/agentcron.db`` (absolute),
    ``postgresql://user@host/db``. ``connect_timeout_s`` and ``reconnect_max_delay_s``
    (PostgreSQL; the URL's ``connect_timeout`` / ``reconnect_max_delay`` win): how long a
    call waits for a connection, and the longest wait between reconnect attempts.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from agentcron.store.sqlite import SqliteStore

        return SqliteStore(url)
    if scheme in ("postgresql", "postgres"):
        try:
            from agentcron.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(
                f"PostgreSQL needs the driver: pip install 'agentcron[postgres]' ({exc})"
            ) from None
        store: Store = PostgresStore(
            url, connect_timeout_s=connect_timeout_s, reconnect_max_delay_s=reconnect_max_delay_s
        )
        return store
    raise StoreError(
        f"unknown store URL {url!r}: use sqlite:///path.db or postgresql://user@host/db"
    )
