"""End-to-end throughput: enqueue N no-op runs, process them in worker processes.

    python benchmarks/throughput.py [--store URL] [--n 20000] [--workers 1] [--concurrency 32]
                                    [--repeat 3] [--only agentcron,huey,apscheduler]
    python benchmarks/throughput.py --store postgresql://... [--workers 2] [--producers 16]
                                    [--procrastinate-db URL] [--only agentcron,procrastinate]
                                    [--profile DIR]

Rows (each repeated ``--repeat`` times, interleaved so every system sees the same noise;
the table shows the median):

- agentcron, one by one: ``await app.enqueue("noop", {"i": i})`` N times from this process
  while ``--workers`` worker processes (``python -m agentcron worker --config <generated>``,
  or ``benchmarks/_bench_tasks.py worker`` = ``App.run(scheduler=False)`` when the CLI is
  missing or ``--runner script``) process them; done when every run is ``succeeded``.
- agentcron, batch API: the same through ``app.enqueue_many`` in batches of 1000.
- Huey on SQLite (``SqliteHuey``), N ``noop(i)`` calls from this process, one
  ``huey_consumer`` process with one worker thread (polling 1 ms .. 10 ms). Completion is
  counted in memory in the consumer (results off), with Huey's default SQLite durability
  (``synchronous=FULL``: an fsync per commit), with ``synchronous=NORMAL`` (what agentcron
  uses: the apples-to-apples row) and with ``fsync=False`` (``synchronous=OFF``).
- APScheduler 3 ``BackgroundScheduler`` + ``MemoryJobStore``: N ``add_job(noop, "date",
  run_date=now)`` — in-process, nothing durable, no second process.
- APScheduler 3 + ``SQLAlchemyJobStore`` on SQLite (if SQLAlchemy is installed), in-process;
  its N is capped by ``--apscheduler-sql-n`` (it slows down with the number of due jobs).

Timing: "enqueue s" is first enqueue -> last enqueue returned; "total s" is first enqueue ->
last run recorded as done (agentcron: max(finished_at) of the runs on SQLite, the poll that
saw the last success on other stores; Huey: the consumer's completion timestamp).
Workers/consumers are started and ready before the clock starts. Not an assertion: read the
numbers next to the targets printed under the table.

On PostgreSQL (``--store postgresql://...``) the rows are agentcron and Procrastinate side by
side, each with the same three producer setups, interleaved (agentcron, then Procrastinate,
per setup, per repeat):

- one by one, 1 producer: ``await app.enqueue("noop", {"i": i})`` / ``await
  noop.defer_async(i=i)`` N times in sequence: every call is one transaction that the next
  waits for, so this row is bound by the latency of one commit;
- one by one, ``--producers`` P producers (default 16): P asyncio tasks in this process, each
  calling the same public API one run at a time (PostgreSQL group-commits the concurrent
  transactions); both producer pools have agentcron's default size, 10 connections;
- batch: ``app.enqueue_many`` / ``noop.batch_defer_async`` with 1000 runs per call.

agentcron runs ``--workers`` (default 2) ``agentcron worker`` processes on the ``--store``
database (used as is: rows are counted above the highest id seen before the clock starts);
Procrastinate runs as many ``procrastinate --app _procrastinate_tasks.app worker
--concurrency C`` processes (its standard setup: ``PsycopgConnector``, LISTEN/NOTIFY, the
connector's default pool) on its own database on the same server: ``--procrastinate-db``, or
by default a scratch database ``procrastinate_bench_<pid>`` created next to the store and
dropped at the end. "total s" is read from the database: agentcron ``max(finished_at)`` of
the new runs, Procrastinate ``max(at)`` of their ``succeeded`` events. ``--profile DIR``
runs the worker processes under cProfile (slower!), keeps the ``.prof`` files in DIR and
prints the top functions per row.

Before each attempt, off the clock, each system's tables are ``VACUUM (ANALYZE)``d, and
during it the queue table (``runs`` / ``procrastinate_jobs``) is ``ANALYZE``d by autovacuum's
rule (50 + 10% of its rows changed), checked every second: the server may have autovacuum off
(a CI server), and then dead row versions pile up across attempts and statistics never
follow a table that grows from empty (a plan a worker session cached on the tiny table
stays: Procrastinate's fetch goes quadratic). With autovacuum on, that is what PostgreSQL
does in the background.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench_tasks import has_cli, process_command
from _common import (
    fresh_sqlite_url,
    make_tmpdir,
    median,
    spawn,
    stop,
    table,
    tail,
    wait_for,
)

TARGET_JOBS_S = 5000
# Against Huey at agentcron's durability (SQLite, synchronous=NORMAL), end to end: one by one
# at least even (aiming for 1.5x), the batch API at least twice.
TARGET_VS_HUEY = 1.0
AIM_VS_HUEY = 1.5
TARGET_BATCH_VS_HUEY = 2.0
BATCH = 1000
# PostgreSQL
TARGET_PG_JOBS_S = 4000
TARGET_VS_PROCRASTINATE = 10.0
PG_PRODUCERS = 16
PG_WORKERS = 2
PRODUCER_POOL = 10  # agentcron's default pool size, given to Procrastinate's producer too
ATTEMPT_RETRIES = 1  # a failed attempt is run once more (a shared server may be restarted)


@dataclass
class Row:
    system: str
    store: str
    n: int
    note: str = ""
    enqueue_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    setup: str = ""  # PostgreSQL: the producer setup, pairing agentcron and Procrastinate rows
    retried: int = 0  # PostgreSQL: failed attempts that were run again

    @property
    def total(self) -> float:
        return median(self.total_s)

    @property
    def jobs_s(self) -> float:
        return self.n / self.total if self.total_s else float("nan")


# -- agentcron ---------------------------------------------------------------------------------
class StoreUnusable(Exception):
    pass


async def _open_app(url: str, concurrency: int) -> Any:
    from _bench_tasks import make_app

    from agentcron.errors import StoreError

    try:
        app = make_app(url, concurrency=concurrency)
    except StoreError as exc:
        raise StoreUnusable(f"create_store({url!r}) failed: {exc}") from None
    try:
        await app.open()
    except StoreError as exc:
        raise StoreUnusable(f"cannot open {url!r}: {exc}") from None
    return app


async def _succeeded(app: Any) -> tuple[int, int]:
    stats = await app.stats()
    by = stats.runs_by_status
    return by.get("succeeded", 0), by.get("failed", 0) + by.get("dead", 0)


async def bench_agentcron(url: str, n: int, workers: int, concurrency: int, batch: int | None,
                          logdir: str, runner: str) -> tuple[float, float]:  # fmt: skip
    """Returns (enqueue seconds, total seconds)."""
    app = await _open_app(url, concurrency)
    procs = []
    try:
        base_ok, base_bad = await _succeeded(app)
        base_workers = (await app.stats()).workers
        for w in range(workers):
            log = os.path.join(logdir, f"agentcron-worker-{w}-{time.monotonic_ns()}.log")
            args = process_command("worker", url, concurrency, logdir, runner)
            procs.append((spawn(args, log_path=log), log))
        deadline = time.monotonic() + 60
        while (await app.stats()).workers < base_workers + workers:
            _check_alive(procs)
            if time.monotonic() > deadline:
                raise TimeoutError("workers did not register within 60s")
            await asyncio.sleep(0.02)

        t0 = time.time()
        if batch is None:
            for i in range(n):
                await app.enqueue("noop", {"i": i})
        else:
            for start in range(0, n, batch):
                await app.enqueue_many(
                    [
                        {"task": "noop", "args": {"i": i}}
                        for i in range(start, min(n, start + batch))
                    ]
                )
        t_enq = time.time()

        deadline = time.monotonic() + max(120.0, n / 100)
        while True:
            ok, bad = await _succeeded(app)
            if ok - base_ok + bad - base_bad >= n:
                t_seen = time.time()
                break
            _check_alive(procs)
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {ok - base_ok}/{n} runs succeeded in time")
            await asyncio.sleep(0.01)
        if bad - base_bad:
            raise RuntimeError(f"{bad - base_bad} runs failed")
        t_end = _sqlite_last_finish(url) or t_seen
        return t_enq - t0, t_end - t0
    finally:
        for proc, log in procs:
            if stop(proc) not in (0, None):
                print(f"  worker exited with {proc.returncode}:\n{tail(log)}", file=sys.stderr)
        await app.close()


def _check_alive(procs: list[Any]) -> None:
    for proc, log in procs:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}:\n{tail(log)}")


def _sqlite_last_finish(url: str) -> float | None:
    if not url.startswith("sqlite:///"):
        return None
    from agentcron.store.sqlite.store import sqlite_path

    conn = sqlite3.connect(sqlite_path(url))
    try:
        (value,) = conn.execute(
            "SELECT max(finished_at) FROM runs WHERE status='succeeded'"
        ).fetchone()
        return float(value) if value is not None else None
    finally:
        conn.close()


# -- PostgreSQL: agentcron and Procrastinate -----------------------------------------------------
def _profiled(args: list[str], profile: str | None) -> list[str]:
    """``python <args>`` under cProfile, writing ``profile`` (a .prof path), when given."""
    return ["-m", "cProfile", "-o", profile, *args] if profile else args


def _profile_paths(profile_dir: str | None, label: str, workers: int) -> list[str | None]:
    if not profile_dir:
        return [None] * workers
    stamp = time.monotonic_ns()
    return [os.path.join(profile_dir, f"{label}-{stamp}-w{w}.prof") for w in range(workers)]


async def _scalar(conn: Any, sql: str, params: Any = ()) -> Any:
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    return row[0] if row else None


ANALYZE_EVERY_S = 1.0


@contextlib.asynccontextmanager
async def _autoanalyze(conninfo: str, table: str) -> AsyncIterator[None]:
    """Stand in for autovacuum's ANALYZE while an attempt runs, with its default rule
    (``autovacuum_analyze_threshold`` 50 + ``autovacuum_analyze_scale_factor`` 0.1 x rows
    changed since the last ANALYZE), checked every second instead of every minute. The server
    may have autovacuum off (a CI server); then nothing refreshes the statistics of a queue
    table that grows from empty, and a plan a worker session cached while the table was tiny
    stays in use (Procrastinate's fetch function then goes quadratic: seq scan + nested-loop
    anti-join, 0.5 s a fetch at 3,000 jobs). Both systems get it."""
    import psycopg

    async def loop() -> None:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            while True:
                await asyncio.sleep(ANALYZE_EVERY_S)
                due = await _scalar(
                    conn,
                    "SELECT s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) "
                    "FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid "
                    "WHERE s.relname = %s",
                    (table,),
                )
                if due:
                    await conn.execute(f"ANALYZE {table}")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _wait_ready(conn: Any, sql: str, want: int, procs: list[Any]) -> None:
    deadline = time.monotonic() + 60
    while await _scalar(conn, sql) < want:
        _check_alive(procs)
        if time.monotonic() > deadline:
            raise TimeoutError("workers did not register within 60s")
        await asyncio.sleep(0.02)


async def _wait_drained(conn: Any, sql: str, base_id: int, n: int, procs: list[Any]) -> None:
    """Until no run above ``base_id`` is left unfinished (a cheap partial-index count, polled
    every 20 ms only once every run is enqueued: the end time itself is read from the db)."""
    deadline = time.monotonic() + max(300.0, n / 20)
    while left := await _scalar(conn, sql, (base_id,)):
        _check_alive(procs)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left}/{n} runs still unfinished")
        await asyncio.sleep(0.02)


async def _produce(n: int, producers: int, batch: int | None, one: Any, many: Any) -> None:
    """Enqueue ``n`` runs: ``await one(i)`` from ``producers`` concurrent tasks, each one run
    at a time, or ``await many(range)`` in batches of ``batch`` (one producer)."""
    if batch is not None:
        for start in range(0, n, batch):
            await many(range(start, min(n, start + batch)))
        return

    async def producer(first: int) -> None:
        for i in range(first, n, producers):
            await one(i)

    await asyncio.gather(*(producer(k) for k in range(producers)))


async def bench_agentcron_pg(
    url: str,
    n: int,
    workers: int,
    concurrency: int,
    producers: int,
    batch: int | None,
    logdir: str,
    runner: str,
    profile_dir: str | None,
    label: str,
) -> tuple[float, float]:
    """agentcron on PostgreSQL; returns (enqueue seconds, total seconds)."""
    import psycopg

    app = await _open_app(url, concurrency)
    watch = await psycopg.AsyncConnection.connect(url, autocommit=True)
    procs: list[Any] = []
    try:
        await watch.execute("VACUUM (ANALYZE) runs, events")  # off the clock: see the docstring
        base_id = await _scalar(watch, "SELECT coalesce(max(id), 0) FROM runs")
        base_workers = await _scalar(watch, "SELECT count(*) FROM workers")
        for w, prof in enumerate(_profile_paths(profile_dir, label, workers)):
            log = os.path.join(logdir, f"agentcron-worker-{w}-{time.monotonic_ns()}.log")
            cmd = _profiled(process_command("worker", url, concurrency, logdir, runner), prof)
            procs.append((spawn(cmd, log_path=log), log))
        await _wait_ready(watch, "SELECT count(*) FROM workers", base_workers + workers, procs)

        async def one(i: int) -> None:
            await app.enqueue("noop", {"i": i})

        async def many(ids: range) -> None:
            await app.enqueue_many([{"task": "noop", "args": {"i": i}} for i in ids])

        async with _autoanalyze(url, "runs"):
            t0 = time.time()
            await _produce(n, producers, batch, one, many)
            t_enq = time.time()
            await _wait_drained(
                watch,
                "SELECT count(*) FROM runs WHERE status IN ('queued', 'running') AND id > %s",
                base_id, n, procs,
            )  # fmt: skip
        cur = await watch.execute(
            "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*), "
            "max(finished_at) FILTER (WHERE status = 'succeeded') FROM runs WHERE id > %s",
            (base_id,),
        )
        ok, total, last = await cur.fetchone() or (0, 0, None)
        if ok != n or total != n:
            raise RuntimeError(f"{ok} of {total} new runs succeeded, expected {n}")
        return t_enq - t0, float(last) - t0
    finally:
        for proc, log in procs:
            if stop(proc) not in (0, None):
                print(f"  worker exited with {proc.returncode}:\n{tail(log)}", file=sys.stderr)
        await watch.close()
        await app.close()


def _have_procrastinate() -> bool:
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        return False
    return True


async def bench_procrastinate(
    conninfo: str,
    n: int,
    workers: int,
    concurrency: int,
    producers: int,
    batch: int | None,
    logdir: str,
    profile_dir: str | None,
    label: str,
) -> tuple[float, float]:
    """Procrastinate on PostgreSQL; returns (enqueue seconds, total seconds)."""
    import _procrastinate_tasks as ptasks
    import psycopg

    papp = ptasks.make_app(conninfo, min_size=1, max_size=PRODUCER_POOL)
    watch = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    procs: list[Any] = []
    try:
        async with papp.open_async():
            task = papp.tasks[ptasks.TASK]
            await watch.execute("VACUUM (ANALYZE) procrastinate_jobs, procrastinate_events")
            base_id = await _scalar(watch, "SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
            count_workers = "SELECT count(*) FROM procrastinate_workers"
            base_workers = await _scalar(watch, count_workers)
            env = {ptasks.ENV_DB: conninfo}
            for w, prof in enumerate(_profile_paths(profile_dir, label, workers)):
                log = os.path.join(logdir, f"procrastinate-worker-{w}-{time.monotonic_ns()}.log")
                cmd = ["-m", "procrastinate", "--app", "_procrastinate_tasks.app",
                       "--log-level", "warning",  # as agentcron's workers (WARNING)
                       "worker", "--concurrency", str(concurrency)]  # fmt: skip
                procs.append((spawn(_profiled(cmd, prof), env=env, log_path=log), log))
            await _wait_ready(watch, count_workers, base_workers + workers, procs)
            await asyncio.sleep(0.2)  # registered just before its LISTEN: let it settle

            async def one(i: int) -> None:
                await task.defer_async(i=i)

            async def many(ids: range) -> None:
                await task.batch_defer_async(*({"i": i} for i in ids))

            async with _autoanalyze(conninfo, "procrastinate_jobs"):
                t0 = time.time()
                await _produce(n, producers, batch, one, many)
                t_enq = time.time()
                await _wait_drained(
                    watch,
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                    "AND id > %s",
                    base_id, n, procs,
                )  # fmt: skip
            ok = await _scalar(
                watch,
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded' AND id > %s",
                (base_id,),
            )
            if ok != n:
                raise RuntimeError(f"{ok} of the {n} new jobs succeeded")
            last = await _scalar(
                watch,
                "SELECT extract(epoch FROM max(at)) FROM procrastinate_events "
                "WHERE type = 'succeeded' AND job_id > %s",
                (base_id,),
            )
            return t_enq - t0, float(last) - t0
    finally:
        for proc, log in procs:
            if stop(proc) not in (0, None):
                print(f"  procrastinate worker exited with {proc.returncode}:\n{tail(log)}",
                      file=sys.stderr)  # fmt: skip
        await watch.close()


class ScratchDb:
    """A database created next to ``url``'s (same server) and dropped by `drop`."""

    def __init__(self, url: str, name: str) -> None:
        import psycopg
        from psycopg.conninfo import make_conninfo

        self.admin = url
        self.name = name
        self.conninfo = make_conninfo(url, dbname=name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


async def _procrastinate_schema(conninfo: str) -> None:
    """Apply Procrastinate's schema unless the database has it."""
    import _procrastinate_tasks as ptasks
    import psycopg

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        if await _scalar(conn, "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"):
            return
    papp = ptasks.make_app(conninfo, min_size=1, max_size=1)
    async with papp.open_async():
        await papp.schema_manager.apply_schema_async()


def profile_summary(profile_dir: str, rows: list[Row], top: int = 18) -> str:
    """The functions with the most own time in the worker processes, per row (all repeats
    and workers of the row merged)."""
    import glob
    import io
    import pstats

    out = []
    for row in rows:
        files = sorted(glob.glob(os.path.join(profile_dir, f"{_label(row)}-*.prof")))
        if not files:
            continue
        buf = io.StringIO()
        stats = pstats.Stats(*files, stream=buf)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
        text = buf.getvalue()
        body = text[text.find("   ncalls") :] if "   ncalls" in text else text
        out.append(f"--- profile: {row.system} [{row.setup}], {len(files)} worker runs ---")
        out.append(body.rstrip())
    return "\n".join(out)


def _label(row: Row) -> str:
    return "".join(c if c.isalnum() else "_" for c in f"{row.system}-{row.setup}")


# -- Huey --------------------------------------------------------------------------------------
def bench_huey(path: str, n: int, sync: str, logdir: str) -> tuple[float, float]:
    done = path + ".done"
    env = {"HUEY_BENCH_DB": path, "HUEY_BENCH_SYNC": sync,
           "HUEY_BENCH_TARGET": str(n + 1), "HUEY_BENCH_DONE": done}  # fmt: skip
    os.environ.update(env)  # this process imports the same module to enqueue
    import importlib

    import _huey_tasks

    tasks = importlib.reload(_huey_tasks)  # re-read the environment (a new file each time)
    log = os.path.join(logdir, f"huey-{time.monotonic_ns()}.log")
    proc = spawn(
        ["-m", "huey.bin.huey_consumer", "_huey_tasks.huey", "-w", "1", "-k", "thread",
         "-d", "0.001", "-m", "0.01", "-b", "1.15", "-n", "-C", "-q"],
        env=env, log_path=log,
    )  # fmt: skip
    try:
        tasks.noop(-1)  # warm-up: the consumer is ready once it ran this one
        wait_for(lambda: os.path.exists(done + ".ready") or proc.poll() is not None, 60,
                 what="huey consumer")  # fmt: skip
        if proc.poll() is not None:
            raise RuntimeError(f"huey consumer exited:\n{tail(log)}")
        t0 = time.time()
        for i in range(n):
            tasks.noop(i)
        t_enq = time.time()
        wait_for(lambda: os.path.exists(done) or proc.poll() is not None,
                 max(120.0, n / 50), what="huey to finish")  # fmt: skip
        if proc.poll() is not None:
            raise RuntimeError(f"huey consumer exited:\n{tail(log)}")
        t_end = float(Path(done).read_text())
        return t_enq - t0, t_end - t0
    finally:
        stop(proc)
        tasks.huey.storage.close()


# -- Huey on Redis (the PostgreSQL rows' reference) ---------------------------------------------
HUEY_REDIS_URL = "redis://127.0.0.1:6379/0"


def _have_huey_redis(url: str) -> bool:
    try:
        import huey  # noqa: F401
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return False
    return True


def bench_huey_redis(url: str, n: int, workers: int, logdir: str) -> tuple[float, float]:
    """Huey on Redis: N ``noop(i)`` calls from this process, ``workers`` ``huey_consumer``
    processes with one worker thread each (Redis on these machines keeps nothing on disk)."""
    env = {"HUEY_BENCH_REDIS": url, "HUEY_BENCH_TARGET": str(n + workers)}
    os.environ.update(env)  # this process imports the same module to enqueue
    import importlib

    import _huey_redis_tasks

    tasks = importlib.reload(_huey_redis_tasks)
    tasks.huey.flush()
    tasks._counter.delete(tasks.DONE, tasks.DONE_AT)
    clients = len(tasks._counter.client_list())
    procs = [
        spawn(["-m", "huey.bin.huey_consumer", "_huey_redis_tasks.huey", "-w", "1",
               "-k", "thread", "-n", "-C", "-q"],
              env=env, log_path=os.path.join(logdir, f"huey-redis-{w}-{time.monotonic_ns()}.log"))
        for w in range(workers)
    ]  # fmt: skip

    def count() -> int:
        return int(tasks._counter.get(tasks.DONE) or 0)

    try:
        wait_for(lambda: len(tasks._counter.client_list()) >= clients + workers, 60,
                 what="huey consumers to connect")  # fmt: skip
        for _ in range(workers):
            tasks.noop(-1)  # warm-up
        wait_for(lambda: count() >= workers, 60, what="huey warm-up")
        t0 = time.time()
        for i in range(n):
            tasks.noop(i)
        t_enq = time.time()
        wait_for(lambda: tasks._counter.get(tasks.DONE_AT) is not None,
                 max(120.0, n / 50), what="huey to finish")  # fmt: skip
        return t_enq - t0, float(tasks._counter.get(tasks.DONE_AT)) - t0
    finally:
        for proc in procs:
            stop(proc)


# -- APScheduler -------------------------------------------------------------------------------
_ap_count = 0
_ap_lock = threading.Lock()


def ap_noop(i: int) -> None:
    return None


def bench_apscheduler(n: int, jobstore_url: str | None) -> tuple[float, float]:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.schedulers.background import BackgroundScheduler

    jobstores: dict[str, Any] = {}
    if jobstore_url:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        jobstores["default"] = SQLAlchemyJobStore(url=jobstore_url)
    # misfire_grace_time=None: run every job however late (the default, 1 s, would drop the
    # jobs the scheduler cannot start within a second, and they would never "finish").
    sched = BackgroundScheduler(
        jobstores=jobstores, job_defaults={"misfire_grace_time": None, "coalesce": False},
        timezone=UTC,
    )  # fmt: skip
    state = {"done": 0, "bad": 0, "end": 0.0}
    finished = threading.Event()

    def listener(event: Any) -> None:
        with _ap_lock:
            state["done"] += 1
            if event.code != EVENT_JOB_EXECUTED:
                state["bad"] += 1
            if state["done"] == n:
                state["end"] = time.time()
                finished.set()

    sched.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    sched.start()
    try:
        now = datetime.now(UTC)
        t0 = time.time()
        for i in range(n):
            sched.add_job(ap_noop, "date", run_date=now, args=[i])
        t_enq = time.time()
        if not finished.wait(max(120.0, n / 50)):
            raise TimeoutError(f"only {state['done']}/{n} jobs ran in time")
        if state["bad"]:
            raise RuntimeError(f"{state['bad']} jobs missed or failed")
        return t_enq - t0, state["end"] - t0
    finally:
        sched.shutdown(wait=True)


def _have_sqlalchemy() -> bool:
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        return False
    return True


# -- main --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store",
        default=None,
        help="agentcron store URL (default: a fresh SQLite file per repeat)",
    )
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"worker processes per system (default: 1 on SQLite, {PG_WORKERS} on PostgreSQL)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="per worker process")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated systems to run (default: agentcron,huey,apscheduler on SQLite, "
        "agentcron,procrastinate on PostgreSQL)",
    )
    parser.add_argument(
        "--producers",
        type=int,
        default=PG_PRODUCERS,
        help="PostgreSQL: concurrent producers of the one-by-one row (1: no such row)",
    )
    parser.add_argument(
        "--setups",
        default="single,producers,batch",
        help="PostgreSQL: producer setups to run: single (1 producer, one by one), producers "
        "(--producers tasks, one by one), batch (batches of 1000)",
    )
    parser.add_argument(
        "--procrastinate-db",
        default=None,
        help="PostgreSQL: Procrastinate's database (default: a scratch database "
        "procrastinate_bench_<pid> on the --store server, dropped at the end)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        default=None,
        help="PostgreSQL: run the worker processes under cProfile, keep the .prof files in DIR "
        "and print the top functions per row (the numbers are then much lower)",
    )
    parser.add_argument(
        "--runner",
        choices=["auto", "cli", "script"],
        default="auto",
        help="agentcron worker processes: `python -m agentcron worker` (cli) or "
        "benchmarks/_bench_tasks.py (script); auto: cli when it exists",
    )
    parser.add_argument(
        "--apscheduler-sql-n",
        type=int,
        default=2000,
        help="N for APScheduler + SQLAlchemyJobStore (0: skip)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.runner == "auto":
        args.runner = "cli" if has_cli() else "script"

    sqlite_mode = args.store is None or args.store.startswith("sqlite:")
    if not sqlite_mode:
        try:
            from agentcron.store import create_store

            create_store(args.store)
        except Exception as exc:
            print(f"throughput: cannot use --store {args.store}: {exc}", file=sys.stderr)
            return 2
        if args.store.split(":", 1)[0].lower() in ("postgresql", "postgres"):
            return main_pg(args)
    only = {s.strip() for s in (args.only or "agentcron,huey,apscheduler").split(",") if s.strip()}
    if not sqlite_mode:
        only &= {"agentcron"}  # the other systems are compared on SQLite only
    if args.workers is None:
        args.workers = 1

    tmp = make_tmpdir("agentcron-bench-")
    tmpdir = tmp.name
    store_label = "sqlite" if sqlite_mode else args.store.split(":", 1)[0]
    rows: list[Row] = []
    ac = ac_batch = None
    if "agentcron" in only:
        how = "agentcron worker" if args.runner == "cli" else "_bench_tasks.py worker"
        note = f"{args.workers} proc x {args.concurrency} ({how})"
        ac = Row("agentcron (one by one)", store_label, args.n, note)
        ac_batch = Row(f"agentcron (batch API, {BATCH})", store_label, args.n, note)
        rows += [ac, ac_batch]
    hueys = []
    if "huey" in only:
        note = "1 consumer proc x 1 thread"
        hueys = [Row("huey", "sqlite (default: sync=FULL)", args.n, note),
                 Row("huey", "sqlite (sync=NORMAL)", args.n, note + "; agentcron's setting"),
                 Row("huey", "sqlite (fsync=False: OFF)", args.n, note)]  # fmt: skip
        rows += hueys
    ap_mem = ap_sql = None
    if "apscheduler" in only:
        ap_mem = Row("apscheduler 3", "memory", args.n, "in-process, not durable")
        rows.append(ap_mem)
        if args.apscheduler_sql_n > 0:
            if _have_sqlalchemy():
                ap_sql = Row("apscheduler 3", "sqlalchemy+sqlite",
                             min(args.n, args.apscheduler_sql_n), "in-process")  # fmt: skip
                rows.append(ap_sql)
            else:
                print(
                    "(SQLAlchemy not installed: skipping APScheduler + SQLAlchemyJobStore)",
                    file=sys.stderr,
                )

    def attempt(row: Row, fn: Any) -> None:
        try:
            enq, total = fn()
        except StoreUnusable:
            raise
        except Exception as exc:  # a failed system is reported, not fatal for the others
            row.errors.append(f"{type(exc).__name__}: {exc}")
            print(f"  {row.system} [{row.store}] failed: {exc}", file=sys.stderr)
            return
        row.enqueue_s.append(enq)
        row.total_s.append(total)
        print(f"  {row.system:<28} {row.store:<22} enqueue {enq:7.3f}s  total {total:7.3f}s  "
              f"{row.n / total:9,.0f} jobs/s", file=sys.stderr)  # fmt: skip

    def ac_url(label: str) -> str:
        return args.store or fresh_sqlite_url(tmpdir, label)[0]

    try:
        for r in range(args.repeat):
            print(f"repeat {r + 1}/{args.repeat}", file=sys.stderr)
            if ac is not None and ac_batch is not None:
                for row, batch in ((ac, None), (ac_batch, BATCH)):
                    attempt(
                        row,
                        lambda b=batch: asyncio.run(
                            bench_agentcron(
                                ac_url("agentcron"),
                                args.n,
                                args.workers,
                                args.concurrency,
                                b,
                                tmpdir,
                                args.runner,
                            )
                        ),
                    )
            for row, sync in zip(hueys, ("default", "normal", "off"), strict=False):
                path = fresh_sqlite_url(tmpdir, "huey")[1]
                attempt(row, lambda p=path, s=sync: bench_huey(p, args.n, s, tmpdir))
            if ap_mem is not None:
                attempt(ap_mem, lambda: bench_apscheduler(args.n, None))
            if ap_sql is not None:
                url = fresh_sqlite_url(tmpdir, "apscheduler")[0]
                attempt(ap_sql, lambda u=url: bench_apscheduler(ap_sql.n, u))
    except StoreUnusable as exc:
        print(f"throughput: {exc}", file=sys.stderr)
        return 2
    finally:
        tmp.cleanup()

    print(render(rows, args, ac))
    return 0


def main_pg(args: argparse.Namespace) -> int:
    """``--store postgresql://...``: agentcron and Procrastinate, the same producer setups."""
    only = {s.strip() for s in (args.only or "agentcron,procrastinate,huey").split(",")}
    only &= {"agentcron", "procrastinate", "huey"}
    if "procrastinate" in only and not _have_procrastinate():
        print("(procrastinate not installed: pip install procrastinate; skipping it)",
              file=sys.stderr)  # fmt: skip
        only.discard("procrastinate")
    if "huey" in only and not _have_huey_redis(HUEY_REDIS_URL):
        print(f"(huey or Redis at {HUEY_REDIS_URL} missing: skipping Huey on Redis)",
              file=sys.stderr)  # fmt: skip
        only.discard("huey")
    workers = args.workers or PG_WORKERS
    wanted = {s.strip() for s in args.setups.split(",")}
    setups: list[tuple[str, int, int | None]] = []
    if "single" in wanted:
        setups.append(("1 producer", 1, None))
    if "producers" in wanted and args.producers > 1:
        setups.append((f"{args.producers} producers", args.producers, None))
    if "batch" in wanted:
        setups.append((f"batch {BATCH}", 1, BATCH))
    how = "agentcron worker" if args.runner == "cli" else "_bench_tasks.py worker"
    rows: list[tuple[Row, Any]] = []
    for setup, producers, batch in setups:
        if "agentcron" in only:
            name = "agentcron (batch API)" if batch else "agentcron (one by one)"
            note = f"{workers} proc x {args.concurrency} ({how})"
            rows.append(
                (
                    Row(name, "postgresql", args.n, note, setup=setup),
                    ("agentcron", producers, batch),
                )
            )
        if "procrastinate" in only:
            name = "procrastinate (batch_defer_async)" if batch else "procrastinate (defer_async)"
            note = f"{workers} proc x {args.concurrency} (procrastinate worker)"
            rows.append(
                (
                    Row(name, "postgresql", args.n, note, setup=setup),
                    ("procrastinate", producers, batch),
                )
            )
        if "huey" in only and producers == 1 and batch is None:
            note = f"{workers} proc x 1 thread (huey_consumer); Redis keeps nothing on disk"
            rows.append(
                (Row("huey (Redis)", "redis", args.n, note, setup=setup), ("huey", 1, None))
            )
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)

    tmp = make_tmpdir("agentcron-bench-")
    scratch: ScratchDb | None = None
    try:
        conninfo = args.procrastinate_db
        if "procrastinate" in only:
            if conninfo is None:
                scratch = ScratchDb(args.store, f"procrastinate_bench_{os.getpid()}")
                conninfo = scratch.conninfo
            asyncio.run(_procrastinate_schema(conninfo))

        def run_one(row: Row, spec: Any) -> tuple[float, float]:
            system, producers, batch = spec
            label = _label(row)
            if system == "huey":
                return bench_huey_redis(HUEY_REDIS_URL, args.n, workers, tmp.name)
            if system == "agentcron":
                return asyncio.run(bench_agentcron_pg(
                    args.store, args.n, workers, args.concurrency, producers, batch, tmp.name,
                    args.runner, args.profile, label))  # fmt: skip
            return asyncio.run(bench_procrastinate(
                conninfo, args.n, workers, args.concurrency, producers, batch, tmp.name,
                args.profile, label))  # fmt: skip

        for r in range(args.repeat):
            print(f"repeat {r + 1}/{args.repeat}", file=sys.stderr)
            for row, spec in rows:
                result: tuple[float, float] | None = None
                for tried in range(1 + ATTEMPT_RETRIES):
                    try:
                        result = run_one(row, spec)
                        break
                    except StoreUnusable as exc:
                        print(f"throughput: {exc}", file=sys.stderr)
                        return 2
                    except Exception as exc:  # reported, not fatal for the other rows
                        error = f"{type(exc).__name__}: {exc}"
                        again = tried < ATTEMPT_RETRIES
                        row.retried += again
                        print(f"  {row.system} [{row.setup}] failed: {exc}"
                              + (" (retrying)" if again else ""), file=sys.stderr)  # fmt: skip
                if result is None:
                    row.errors.append(error)
                    continue
                enq, total = result
                row.enqueue_s.append(enq)
                row.total_s.append(total)
                rate = row.n / total
                print(f"  {row.system:<34} {row.setup:<13} enqueue {enq:7.3f}s  "
                      f"total {total:7.3f}s  {rate:9,.0f} jobs/s", file=sys.stderr)  # fmt: skip
    finally:
        tmp.cleanup()
        if scratch is not None:
            scratch.drop()

    print(render_pg([row for row, _ in rows], args, workers))
    if args.profile:
        print()
        print(profile_summary(args.profile, [row for row, _ in rows]))
    return 0


def render_pg(rows: list[Row], args: argparse.Namespace, workers: int) -> str:
    by = {(r.system.split()[0], r.setup): r for r in rows}

    def vs(row: Row) -> str:
        other = by.get(("procrastinate", row.setup))
        if row.system.startswith("procrastinate") or other is None:
            return "-"
        if not (row.total_s and other.total_s):
            return "-"
        return f"{row.jobs_s / other.jobs_s:.1f}x"

    body = []
    for row in rows:
        done = bool(row.total_s)
        note = row.note + (f"; FAILED {len(row.errors)}x" if row.errors else "")
        note += f"; {row.retried} attempt(s) retried" if row.retried else ""
        body.append([row.system, row.setup, row.n, median(row.enqueue_s) if done else None,
                     row.total if done else None, row.jobs_s if done else None, vs(row),
                     note])  # fmt: skip
    title = (f"throughput on PostgreSQL: N={args.n:,} no-op runs, {workers} worker processes "
             f"per system, median of {args.repeat} (host: {os.cpu_count()} CPUs, Python "
             f"{sys.version.split()[0]})")  # fmt: skip
    out = [table(title, ["system", "producers", "n", "enqueue s", "total s", "jobs/s",
                         "vs procrastinate", "notes"], body)]  # fmt: skip
    out.append("")
    for row in rows:
        if not row.system.startswith("agentcron") or not row.total_s:
            continue
        verdict = "met" if row.jobs_s >= TARGET_PG_JOBS_S else "NOT met"
        line = (f"target: agentcron >= {TARGET_PG_JOBS_S:,} jobs/s [{row.setup}] -> "
                f"{row.jobs_s:,.0f} jobs/s ({verdict})")  # fmt: skip
        other = by.get(("procrastinate", row.setup))
        if other is not None and other.total_s:
            ratio = row.jobs_s / other.jobs_s
            verdict = "met" if ratio >= TARGET_VS_PROCRASTINATE else "NOT met"
            line += (f"; >= {TARGET_VS_PROCRASTINATE:g}x Procrastinate -> {ratio:.1f}x "
                     f"({verdict})")  # fmt: skip
        out.append(line)
    huey = next((r for r in rows if r.system.startswith("huey") and r.total_s), None)
    if huey is not None:
        best = max((r for r in rows if r.system.startswith("agentcron") and r.total_s),
                   key=lambda r: r.jobs_s, default=None)  # fmt: skip
        if best is not None:
            verdict = "met" if best.jobs_s >= huey.jobs_s else "NOT met"
            out.append(f"reference: Huey on Redis in this run {huey.jobs_s:,.0f} jobs/s; "
                       f"agentcron [{best.setup}] {best.jobs_s:,.0f} jobs/s = "
                       f"{best.jobs_s / huey.jobs_s:.2f}x ({verdict})")  # fmt: skip
    for row in rows:
        out += [f"error: {row.system} [{row.setup}]: {e.splitlines()[0]}" for e in row.errors]
    return "\n".join(out)


def render(rows: list[Row], args: argparse.Namespace, ac: Row | None) -> str:
    ref = ac.jobs_s if ac is not None and ac.total_s else None
    body = []
    for row in rows:
        done = bool(row.total_s)
        ratio = row.jobs_s / ref if ref and done else None
        note = row.note + (f"; FAILED {len(row.errors)}x" if row.errors else "")
        body.append([row.system, row.store, row.n, median(row.enqueue_s) if done else None,
                     row.total if done else None, row.jobs_s if done else None,
                     f"{ratio:.2f}x" if ratio else "-", note])  # fmt: skip
    title = (f"throughput: N={args.n:,} no-op runs, median of {args.repeat} "
             f"(host: {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")  # fmt: skip
    out = [table(title, ["system", "store", "n", "enqueue s", "total s", "jobs/s",
                         "ratio vs agentcron", "notes"], body)]  # fmt: skip
    if ac is not None and ac.total_s:
        out.append("")
        verdict = "met" if ac.jobs_s >= TARGET_JOBS_S else "NOT met"
        out.append(f"target: agentcron >= {TARGET_JOBS_S:,} jobs/s end to end -> "
                   f"{ac.jobs_s:,.0f} jobs/s ({verdict})")  # fmt: skip
        out += _vs_huey_normal(ac, rows)
    errors = [(r, e) for r in rows for e in r.errors]
    for r, e in errors:
        out.append(f"error: {r.system} [{r.store}]: {e.splitlines()[0]}")
    return "\n".join(out)


def _vs_huey_normal(ac: Row, rows: list[Row]) -> list[str]:
    huey = next((r for r in rows if r.system == "huey" and "NORMAL" in r.store and r.total_s), None)
    if huey is None:
        return []
    batch = next((r for r in rows if r.system.startswith("agentcron (batch") and r.total_s), None)
    out = []
    for row, target in ((ac, TARGET_VS_HUEY), (batch, TARGET_BATCH_VS_HUEY)):
        if row is None:
            continue
        ratio = row.jobs_s / huey.jobs_s
        verdict = "met" if ratio >= target else "NOT met"
        aim = f", aiming for {AIM_VS_HUEY:g}x" if row is ac else ""
        out.append(f"target: {row.system} >= {target:g}x Huey sync=NORMAL{aim} -> "
                   f"{ratio:.2f}x ({verdict})")  # fmt: skip
    return out


if __name__ == "__main__":
    sys.exit(main())
