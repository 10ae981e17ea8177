"""The multi-node store: PostgreSQL. ``store.py`` holds the pool and the lifecycle, ``tx.py``
the transaction the shared algorithms run in, ``connect.py`` the reconnects, ``listen.py`` and
``announce.py`` the wake-ups across processes."""

from agentcron.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
