"""The Huey side of the throughput benchmark (imported by the bench and by ``huey_consumer``).

Environment: ``HUEY_BENCH_DB`` (SQLite file), ``HUEY_BENCH_SYNC`` (``default``: Huey's own
setting, i.e. SQLite's ``synchronous=FULL``; ``normal``: ``synchronous=NORMAL``, what agentcron
uses; ``off``: Huey's ``fsync=False``, i.e. ``synchronous=OFF``),
``HUEY_BENCH_TARGET`` (completions to count) and ``HUEY_BENCH_DONE`` (a file the consumer
writes ``time.time()`` into when the target is reached; ``<file>.ready`` after the first).

Completion is counted in memory by a ``SIGNAL_EXECUTING``/``SIGNAL_COMPLETE`` handler in the
consumer, and results are off (``results=False``): Huey does no extra write per task to tell
the benchmark it finished, which is the most favourable setup for Huey.
"""

from __future__ import annotations

import os
import threading
import time

from huey import SqliteHuey
from huey.signals import SIGNAL_COMPLETE
from huey.storage import SqliteStorage


class NormalSyncStorage(SqliteStorage):
    """Huey's SQLite storage with ``synchronous=NORMAL`` (WAL), the durability agentcron has."""

    def _create_connection(self):  # type: ignore[no-untyped-def]
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


_sync = os.environ.get("HUEY_BENCH_SYNC", "default")
_options: dict[str, object] = {
    "default": {},
    "normal": {"storage_class": NormalSyncStorage},
    "off": {"fsync": False},
}[_sync]
huey = SqliteHuey(
    "bench",
    filename=os.environ.get("HUEY_BENCH_DB", "huey-bench.db"),
    results=False,
    **_options,  # type: ignore[arg-type]
)

_target = int(os.environ.get("HUEY_BENCH_TARGET", "0"))
_done_file = os.environ.get("HUEY_BENCH_DONE", "")
_count = 0
_lock = threading.Lock()


@huey.task()
def noop(i: int) -> None:
    return None


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@huey.signal(SIGNAL_COMPLETE)
def _completed(signal: str, task: object, *args: object) -> None:
    global _count
    with _lock:
        _count += 1
        count = _count
    if not _done_file:
        return
    if count == 1:
        _write(_done_file + ".ready", repr(time.time()))
    if count == _target:
        _write(_done_file, repr(time.time()))
