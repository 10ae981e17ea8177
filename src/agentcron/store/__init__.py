"""Stores: where schedules and runs live. `open_store` picks one by URL scheme."""

from __future__ import annotations

from agentcron.errors import StoreError
from agentcron.store.base import FirePlan, Planner, RunFilter, Store, StoreStats

__all__ = ["FirePlan", "Planner", "RunFilter", "Store", "StoreStats", "create_store"]


def create_store(url: str) -> Store:
    """A store for ``url`` (not yet opened); drivers are imported lazily.

    ``sqlite:///agentcron.db`` (relative), ``sqlite:////var/lib/agentcron.db`` (absolute),
    ``postgresql://user@host/db``.
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
        store: Store = PostgresStore(url)
        return store
    raise StoreError(
        f"unknown store URL {url!r}: use sqlite:///path.db or postgresql://user@host/db"
    )
