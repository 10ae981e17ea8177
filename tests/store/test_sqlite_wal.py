"""The SQLite write-ahead log stays small: bounded under a steady stream of writes, truncated
when the store is idle and at a clean stop (even while another process keeps the file open),
so that a disk that filled up does not stay full."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from store_helpers import enqueue_one

from agentcron.store.sqlite import SqliteStore
from agentcron.store.sqlite.wal import policy, wal_size

LIMIT = 256 * 1024


def test_policy() -> None:
    assert policy(0, 100.0) is None
    assert policy(1000, 0.0, limit=LIMIT) == "PASSIVE"
    assert policy(LIMIT + 1, 0.0, limit=LIMIT) == "RESTART"
    assert policy(LIMIT + 1, 10.0, limit=LIMIT, idle_after_s=5) == "TRUNCATE"
    assert policy(1000, 10.0, limit=LIMIT, idle_after_s=5) == "TRUNCATE"


async def _until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(0.05)


async def test_wal_is_bounded_under_load_and_emptied_when_idle_and_at_stop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "agentcron.db"
    store = SqliteStore(f"sqlite:///{path}", journal_size_limit=LIMIT, idle_checkpoint_s=0.5)
    await store.open()
    other = sqlite3.connect(path)  # another process with the file open (a CLI, a worker)
    try:
        # A steady stream of writes: the log outgrows the limit, and is brought back under
        # it while the writes go on (a PASSIVE checkpoint alone never lets it start over).
        above, back_under = False, False
        for i in range(20_000):
            await enqueue_one(store, args={"i": i, "pad": "x" * 200})
            if i % 20 == 0:
                size = wal_size(str(path))
                above = above or size > LIMIT
                if above and size <= LIMIT:
                    back_under = True
                    break
        assert above, f"the log never grew over the limit ({size} bytes)"
        assert back_under, f"the log never came back under the limit ({size} bytes)"

        # Idle: truncated to 0 bytes.
        await _until(lambda: wal_size(str(path)) == 0, 30, "the idle store to truncate its log")
        assert other.execute("SELECT count(*) FROM runs").fetchone()[0] > 0
        for i in range(200):
            await enqueue_one(store, args={"i": i})
        assert wal_size(str(path)) > 0
    finally:
        await store.close()
    try:
        # A clean stop leaves an empty log, though another connection still has the file open.
        assert wal_size(str(path)) == 0
        assert other.execute("SELECT count(*) FROM runs").fetchone()[0] > 200
    finally:
        other.close()
