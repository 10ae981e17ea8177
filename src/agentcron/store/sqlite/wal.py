"""Keeping the SQLite write-ahead log (``<db>-wal``) small, so that a full disk does not stay full.

The log only starts over from its beginning when a checkpoint copied all of it into the
database while no reader still needed it. A ``PASSIVE`` checkpoint (what SQLite and this store
ran every second) never catches up with a steady stream of writes, so under load the log grew
without bound: 31 MB beside a 2.6 MB database after 3,000 enqueues, kept at that size after the
load (a log is reused, never shrunk). So, every second (`policy`):

- idle (no commit by any process for `IDLE_S`): ``TRUNCATE``, the file to 0 bytes;
- over `JOURNAL_SIZE_LIMIT`: a ``PASSIVE`` checkpoint, then a ``RESTART`` one, which waits
  (at most `WAIT_S`) for the readers to leave the log, so that the next write starts it over;
  that write then truncates the file to the limit (each connection's ``journal_size_limit``);
- otherwise ``PASSIVE`` (never waits).

The store also checks the size every few hundred writes (`bound`), so a burst of writes
cannot run far past the limit between two seconds. A clean stop truncates the log too
(`SqliteStore.close`). Checkpoints run on the reader thread; a
checkpoint that cannot finish in time (another process writing) is tried again later.
"""

from __future__ import annotations

import os
import sqlite3

__all__ = ["IDLE_S", "JOURNAL_SIZE_LIMIT", "WAIT_S", "bound", "checkpoint", "policy", "wal_size"]

JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
IDLE_S = 2.0  # shorter than the health probe's 5 s: an idle, monitored store is truncated too
WAIT_S = 0.1


def policy(wal_bytes: int, idle_s: float, *, limit: int = JOURNAL_SIZE_LIMIT,
           idle_after_s: float = IDLE_S) -> str | None:  # fmt: skip
    """The checkpoint to run now: ``"RESTART"``, ``"TRUNCATE"``, ``"PASSIVE"``, or None
    (an empty log)."""
    if wal_bytes == 0:
        return None
    if idle_s >= idle_after_s:
        return "TRUNCATE"
    if wal_bytes > limit:
        return "RESTART"
    return "PASSIVE"


def checkpoint(conn: sqlite3.Connection, mode: str | None, wait_s: float = WAIT_S) -> bool:
    """Run a checkpoint of ``mode``; whether it finished (False: others kept it from it).
    A mode that waits waits at most ``wait_s`` for other connections."""
    if mode is None:
        return True
    if mode == "PASSIVE":
        return _run(conn, "PASSIVE")
    if mode == "RESTART":
        _run(conn, "PASSIVE")  # copy most of the log first, without holding writers back
    busy_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {round(wait_s * 1000)}")
    try:
        return _run(conn, mode)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


def bound(conn: sqlite3.Connection, *, path: str, limit: int) -> None:
    """Between the poller's checks, every few hundred writes: ``RESTART`` when the log is
    over ``limit``, else ``PASSIVE``."""
    checkpoint(conn, "RESTART" if wal_size(path) > limit else "PASSIVE")


def _run(conn: sqlite3.Connection, mode: str) -> bool:
    try:
        busy, _, _ = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return False
        raise
    return not busy


def wal_size(path: str) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        return 0
