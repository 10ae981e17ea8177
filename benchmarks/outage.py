"""Outages and disk use: how soon work resumes after PostgreSQL was down, and how much disk the
SQLite files take under a steady load.

    python benchmarks/outage.py [--outages 5,30,120] [--rate 50] [--only pg,disk]
                                [--disk-rate 10] [--disk-hours 1] [--retention 10m]

PostgreSQL recovery (``pg``): a server of the script's own (``initdb`` into a temporary
folder, its own port, as tests/pg_server.py starts it; under root as the ``postgres`` user),
one ``agentcron scheduler`` and one ``agentcron worker`` process (an ``every 1s`` schedule,
misfire ``all``, lease 5 s) and a producer in this process calling ``app.enqueue`` ``--rate``
times a second. For each outage length the server is stopped (``pg_ctl stop -m fast``),
left down that long, and started; "back" is the first moment a connection attempt (made
every few milliseconds from here) succeeded. Columns, in seconds after back: the producer's
first acknowledged enqueue; the first run started by the worker (``min(started_at)``); the
largest lag
(``started_at - scheduled_for``) of the schedule's slots, which includes the outage itself
(the slots due while it was down run when it is back: misfire ``all``); and counts that must
be 0: slots missing or fired twice, acknowledged runs that did not succeed.

SQLite disk use (``disk``): one hour of simulated time (``--disk-hours``) driven by a
`ManualClock`, one simulated second per step: ``--disk-rate`` runs enqueued through
``app.enqueue``, an ``every 1s`` schedule, and a burst of the scheduler and a worker
(``app.run(burst=True)``) that runs everything due; the sizes of the database and its
write-ahead log are sampled every 5 simulated minutes. Time is compressed (the hour runs
as fast as the machine allows), so the log sees more writes per real second than it would:
an upper bound. Two runs: the default retention (30 days: nothing is purged within the hour)
and ``--retention`` (finished runs and events older than it purged every simulated minute,
what the daily retention job does), where the file stops growing. Bytes per run = database
size / runs stored, for the README's rule of thumb.

Numbers vary on a shared machine; the script prints them and never fails on one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from _common import spawn, stop, table, tail  # noqa: E402

from agentcron import App  # noqa: E402
from agentcron.clock import ManualClock  # noqa: E402
from agentcron.durations import parse_duration  # noqa: E402
from agentcron.errors import StoreUnavailable  # noqa: E402

TASKS = """
import agentcron

@agentcron.task
async def tick() -> None:
    pass

@agentcron.task
async def work(i: int = 0) -> None:
    pass
"""
CONFIG = """[agentcron]
tasks = ["outage_tasks"]
concurrency = 16
lease = "5s"

[[schedule]]
name = "beat"
task = "tick"
trigger = "every 1s"
misfire = "all"
overlap = "allow"
"""


# -- PostgreSQL: recovery after an outage -------------------------------------------------------
def _query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


async def _producer(
    url: str, rate: float, acked: list[tuple[float, int]], done: asyncio.Event
) -> None:
    app = App(url, maintenance=False)

    @app.task()
    async def work(i: int = 0) -> None:  # runs in the worker process
        return None

    async with app:
        i = 0
        while not done.is_set():
            i += 1
            with contextlib.suppress(StoreUnavailable):
                run = await app.enqueue("work", {"i": i})
                acked.append((time.time(), run.id))
            await asyncio.sleep(1 / rate)


async def _one_outage(server: Any, outage_s: float, rate: float, root: Path) -> list[Any]:
    name = f"outage_{int(outage_s)}"
    url = server.create_database(name)
    folder = root / name
    folder.mkdir()
    (folder / "outage_tasks.py").write_text(TASKS)
    (folder / "agentcron.toml").write_text(CONFIG)
    procs = []
    for role in ("scheduler", "worker"):
        log = str(folder / f"{role}.log")
        cmd = ["-m", "agentcron", role, "--config", str(folder / "agentcron.toml"), "--db", url]
        procs.append(spawn(cmd, env={"PYTHONPATH": str(folder)}, log_path=log))
    acked: list[tuple[float, int]] = []
    done = asyncio.Event()
    producer = asyncio.create_task(_producer(url, rate, acked, done))
    try:
        await _warm(folder, url, acked)
        down_wall = time.time()
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(outage_s)
        back = await asyncio.to_thread(_start_and_time, server)
        await asyncio.sleep(15)
        done.set()
        await producer
        deadline = time.monotonic() + 120
        ids = [i for _, i in acked]
        while time.monotonic() < deadline:
            left = _query(url, "SELECT count(*) FROM runs WHERE id = ANY(%s) AND status <> "
                          "'succeeded'", (ids,))[0][0]  # fmt: skip
            if left == 0:
                break
            await asyncio.sleep(0.5)
    finally:
        done.set()
        for proc in procs:
            stop(proc)
    first_ack = min((t for t, _ in acked if t > back), default=float("nan")) - back
    (first_start,) = _query(url, "SELECT min(started_at) FROM runs WHERE started_at > %s",
                            (back,))[0]  # fmt: skip
    slots = [r[0] for r in _query(url, "SELECT scheduled_for FROM runs WHERE task = 'tick' "
                                  "ORDER BY scheduled_for")]  # fmt: skip
    doubled = len(slots) - len(set(slots))
    missing = sum(round(b - a) - 1 for a, b in itertools.pairwise(slots) if b - a > 1.001)
    (lag,) = _query(url, "SELECT max(started_at - scheduled_for) FROM runs WHERE task = 'tick' "
                    "AND scheduled_for > %s", (down_wall - 5,))[0]  # fmt: skip
    failed = _query(url, "SELECT count(*) FROM runs WHERE id = ANY(%s) AND status <> "
                    "'succeeded'", ([i for _, i in acked],))[0][0]  # fmt: skip
    if failed or missing or doubled:
        print(tail(str(folder / "worker.log")), tail(str(folder / "scheduler.log")))
    return [outage_s, first_ack, (first_start or float("nan")) - back, lag, missing, doubled,
            failed, len(acked)]  # fmt: skip


async def _warm(folder: Path, url: str, acked: list[tuple[float, int]]) -> None:
    """Until both processes started and ran some of the producer's runs (then 3 s more)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        logs = [(folder / f"{role}.log").read_text(errors="replace")
                for role in ("scheduler", "worker")]  # fmt: skip
        if all(" started" in log for log in logs) and acked:
            ran = _query(url, "SELECT count(*) FROM runs WHERE status = 'succeeded' AND id = "
                         "ANY(%s)", ([i for _, i in acked],))[0][0]  # fmt: skip
            if ran >= 20:
                await asyncio.sleep(3)
                return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the processes did not start: {tail(str(folder / 'worker.log'))}")


def _start_and_time(server: Any) -> float:
    """Start the server; the wall-clock time it first accepted a connection (polled every few
    milliseconds: ``pg_ctl start -w`` notices it up to 100 ms late)."""
    import psycopg

    server.start(wait=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
        except psycopg.OperationalError:
            time.sleep(0.002)
            continue
        return time.time()
    raise TimeoutError("the server did not start in 60 s")


async def recovery(outages: list[float], rate: float) -> str:
    from pg_server import pg_server

    rows = []
    root = Path(tempfile.mkdtemp(prefix="agentcron-outage-"))
    try:
        with pg_server() as server:
            for outage_s in outages:
                rows.append(await _one_outage(server, outage_s, rate, root))
                print(f"  outage {outage_s:g}s done", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    headers = ["outage s", "first enqueue s", "first run s", "largest slot lag s",
               "slots missing", "slots twice", "acked not run", "enqueues"]  # fmt: skip
    return table("PostgreSQL: recovery after the server was down (seconds after it was back)",
                 headers, rows)  # fmt: skip


# -- SQLite: disk use under a steady load ----------------------------------------------------------
def wal_size(path: str) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        return 0


async def disk_use(rate: int, hours: float, retention: timedelta | None) -> tuple[list[Any], str]:
    folder = Path(tempfile.mkdtemp(prefix="agentcron-disk-"))
    path = folder / "agentcron.db"
    clock = ManualClock(datetime(2030, 1, 7, 0, 0, tzinfo=UTC))
    app = App(f"sqlite:///{path}", clock=clock, maintenance=False)

    @app.task()
    async def work(i: int = 0) -> None:
        return None

    @app.task()
    async def tick() -> None:
        return None

    app.schedule("tick", "every 1s", name="beat", misfire="all", overlap="allow")
    rows = []
    peak_wal = 0
    try:
        async with app:
            started = time.monotonic()
            for second in range(int(hours * 3600)):
                for i in range(rate):
                    await app.enqueue("work", {"i": i})
                await app.run(burst=True)
                if retention is not None and second % 60 == 59:
                    before = clock.now() - retention
                    await app.store.purge_runs(before)
                    await app.store.purge_events(before)
                peak_wal = max(peak_wal, wal_size(str(path)))
                if second % 300 == 299:
                    rows.append([round((second + 1) / 60), path.stat().st_size / 1e6,
                                 wal_size(str(path)) / 1e6, peak_wal / 1e6])  # fmt: skip
                clock.advance(1)
            real_s = time.monotonic() - started
            stats = await app.stats()
        stored = sum(stats.runs_by_status.values())
        db_bytes = path.stat().st_size
        after_stop = wal_size(str(path))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    label = "retention 30 days (default)"
    if retention is not None:
        label = f"retention {retention.total_seconds() / 60:g} min"
    summary = (
        f"{label}: {stored:,} runs stored, {db_bytes / 1e6:.1f} MB, "
        f"{db_bytes / max(1, stored):,.0f} bytes per stored run; WAL peak {peak_wal / 1e6:.1f} MB, "
        f"after a clean stop {after_stop} bytes; {real_s:.0f} s of real time"
    )
    return rows, summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outages", default="5,30,120")
    parser.add_argument("--rate", type=float, default=50.0, help="enqueues per second (pg)")
    parser.add_argument("--only", default="pg,disk")
    parser.add_argument("--disk-rate", type=int, default=10, help="runs per simulated second")
    parser.add_argument("--disk-hours", type=float, default=1.0)
    parser.add_argument("--retention", default="10m")
    args = parser.parse_args()
    only = set(args.only.split(","))
    logging.getLogger().setLevel(logging.ERROR)  # reconnect warnings: in the processes' logs
    if "pg" in only:
        outages = [float(x) for x in args.outages.split(",")]
        print(await recovery(outages, args.rate))
        print()
    if "disk" in only:
        for retention in (None, parse_duration(args.retention)):
            rows, summary = await disk_use(args.disk_rate, args.disk_hours, retention)
            label = summary.split(":")[0]
            title = f"SQLite: disk use, {args.disk_rate} runs/s + an every-1s schedule, {label}"
            print(table(title, ["minute", "db MB", "wal MB", "wal peak MB"], rows))
            print(summary)
            print()
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    asyncio.run(main())
