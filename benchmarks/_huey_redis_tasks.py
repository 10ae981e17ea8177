"""The Huey-on-Redis side of ``throughput.py --store postgresql://...`` (imported by the bench
and by each ``huey_consumer`` process): the reference the PostgreSQL target is set against
("more than any Redis-backed queue measured on these machines").

Environment: ``HUEY_BENCH_REDIS`` (a Redis URL), ``HUEY_BENCH_TARGET`` (completions to count).
Results are off (``results=False``). Completion is counted across the consumer processes in
Redis itself: a ``SIGNAL_COMPLETE`` handler increments ``huey-bench:done`` and the one that
reaches the target stores the time in ``huey-bench:done-at`` (one extra Redis command per
task, the only way to count across processes).
"""

from __future__ import annotations

import os
import time

import redis
from huey import RedisHuey
from huey.signals import SIGNAL_COMPLETE

URL = os.environ.get("HUEY_BENCH_REDIS", "redis://127.0.0.1:6379/0")
DONE = "huey-bench:done"
DONE_AT = "huey-bench:done-at"

huey = RedisHuey("huey-bench", url=URL, results=False)
_counter = redis.Redis.from_url(URL)
_target = int(os.environ.get("HUEY_BENCH_TARGET", "0"))


@huey.task()
def noop(i: int) -> None:
    return None


@huey.signal(SIGNAL_COMPLETE)
def _completed(signal: str, task: object, *args: object) -> None:
    if _counter.incr(DONE) == _target:
        _counter.set(DONE_AT, repr(time.time()))
