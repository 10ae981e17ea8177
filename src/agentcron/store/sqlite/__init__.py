"""The embedded store: SQLite. ``store.py`` holds the connections and the lifecycle,
``tx.py`` the transaction the shared algorithms run in, ``writer.py`` the write path,
``wal.py`` the write-ahead log's upkeep."""

from agentcron.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
