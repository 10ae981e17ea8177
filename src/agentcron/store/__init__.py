"""Stores: where schedules and runs live. `open_store` picks one by URL scheme."""

from __future__ import annotations

import os

from agentcron.errors import StoreError
from agentcron.store.base import (  # the contract, re-exported
    FannedOut as FannedOut,
)
from agentcron.store.base import (
    FirePlan as FirePlan,
)
from agentcron.store.base import (
    Planner as Planner,
)
from agentcron.store.base import (
    RunFilter as RunFilter,
)
from agentcron.store.base import (
    Store as Store,
)
from agentcron.store.base import (
    StoreStats as StoreStats,
)
from agentcron.store.base import (
    WriteFailure as WriteFailure,
)

__all__ = ["create_store", "shown_url"]  # and the names of the contract above


def create_store(
    url: str,
    *,
    create: bool = True,
    connect_timeout_s: float | None = None,
    reconnect_max_delay_s: float | None = None,
) -> Store:
    """A store for ``url`` (not yet opened); drivers are imported lazily.

    ``sqlite:///agentcron.db`` (relative), ``sqlite:////var/lib/agentcron.db`` (absolute),
    ``postgresql://user@host/db``. ``create=False``: its ``open()`` only opens an existing
    agentcron database (else `SchemaError`, nothing created): what commands that only read
    use, so that a mistyped path does not leave an empty database behind.
    ``connect_timeout_s`` and ``reconnect_max_delay_s`` (PostgreSQL; the URL's
    ``connect_timeout`` / ``reconnect_max_delay`` win): how long a call waits for a
    connection, and the longest wait between reconnect attempts.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from agentcron.store.sqlite import SqliteStore

        return SqliteStore(url, create=create)
    if scheme in ("postgresql", "postgres"):
        try:
            from agentcron.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(
                f"PostgreSQL needs the driver: pip install 'agentcron[postgres]' ({exc})"
            ) from None
        store: Store = PostgresStore(
            url,
            create=create,
            connect_timeout_s=connect_timeout_s,
            reconnect_max_delay_s=reconnect_max_delay_s,
        )
        return store
    raise StoreError(
        f"unknown store URL {url!r}: use sqlite:///path.db or postgresql://user@host/db"
    )


def shown_url(url: str) -> str:
    """``url`` as people should see it in logs and messages: a relative SQLite path made
    absolute (which file it is does not depend on where one looks from), and no password."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower() == "sqlite" and sep:
        path = rest[1:] if rest.startswith("/") else rest
        name, query = path.split("?", 1) if "?" in path else (path, "")
        if name and name != ":memory:" and not name.startswith("/"):
            absolute = os.path.abspath(name)
            return f"sqlite:///{absolute}" + (f"?{query}" if query else "")
        return url
    if "@" in rest:
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url
