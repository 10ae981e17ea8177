"""Subjects on SQLite: activity records/s, idle evaluation at 1k vs 100k subjects, fan-out.

    python benchmarks/subjects.py [--subjects 1000,100000] [--seconds 20] [--rate 50]
                                  [--idle 2] [--records 20000] [--load 2000] [--pg URL]

1. **Activity.** ``store.record_activity`` awaited back to back (one transaction each: the
   subject upsert plus the idle / messages wake-ups) with three per-subject schedules stored
   (idle for ``user:*``, idle for everyone, every 20 messages), on a file that already holds
   ``--subjects`` (largest) subjects; and the same from 8 concurrent callers. With ``--pg``
   (an admin URL), the same on PostgreSQL in a temporary database.
2. **Idle evaluation.** For each size: a fresh file with that many dormant subjects (last
   active a day ago), one ``idle --idle s`` schedule, and the real `Scheduler` running in
   this process while a generator records ``--rate`` activities per second on random
   subjects for ``--seconds``. Each activity makes one subject due ``--idle`` s later. Shown:
   scheduler CPU (loop-thread CPU inside ``fire_due``, plus ``next_due_at`` wall time on the
   reader thread) per second and per evaluation, the fire lag (``queued_at - scheduled_for``
   of the idle runs) and what a naive evaluation that re-reads every idle subject would
   read per pass. O(due subjects) means the first columns do not grow with the size.
3. **Scheduler under activity load.** ``queued_at - scheduled_for`` of a cron schedule firing
   every second, with no activity, then while ``--load`` activities/s are recorded (random
   subjects of the largest size, idle and messages schedules stored): activity must not
   slow the scheduler. Negative is early: time slots are fired up to a lead ahead of the
   slot (``rules.firing.lead``) so that the run is ready when the slot comes.
4. **Fan-out.** One ``for_each_subject`` slot over all subjects: time and runs inserted/s
   (one transaction; on SQLite it holds the writer, and the event loop, for that long).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_sqlite_url, make_tmpdir, median, percentile, table

from agentcron.models import FanOut, Overlap, RunStatus, ScheduleSpec
from agentcron.scheduler import RunPlanner, Scheduler
from agentcron.store import RunFilter
from agentcron.store.sqlite import SqliteStore
from agentcron.tasks import TaskRegistry
from agentcron.triggers import trigger_from_dict

NS = "default"


def registry() -> TaskRegistry:
    reg = TaskRegistry()

    async def nudge() -> None: ...

    reg.task(name="nudge")(nudge)
    return reg


def seed_subjects(path: str, count: int, last_active: float) -> None:
    """``count`` subjects ``user:0..`` last active at ``last_active`` (bulk, outside the store)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO subjects (namespace, subject, last_activity_at, message_count, "
            "first_seen_at) VALUES (?, ?, ?, 0, ?)",
            ((NS, f"user:{i}", last_active, last_active) for i in range(count)),
        )
    conn.close()


async def open_store(tmp: str, label: str, subjects: int) -> tuple[SqliteStore, str]:
    url, path = fresh_sqlite_url(tmp, label)
    store = SqliteStore(url)
    await store.open()
    seed_subjects(path, subjects, time.time() - 86400)
    return store, path


def spec(name: str, trigger: dict[str, Any], **fields: Any) -> ScheduleSpec:
    return ScheduleSpec(name=name, task="nudge", trigger=trigger, **fields)


# -- 1. activity -------------------------------------------------------------------------------
async def bench_activity(tmp: str, subjects: int, records: int) -> list[list[Any]]:
    store, _ = await open_store(tmp, "activity", subjects)
    rows = []
    try:
        for name, trigger in [
            ("idle-users", {"idle": "30m", "subjects": "user:*"}),
            ("idle-all", {"idle": "1h"}),
            ("every-20", {"messages": 20}),
        ]:
            await store.add_schedule(spec(name, trigger), None)  # fmt: skip
        names = [f"user:{random.randrange(subjects)}" for _ in range(records)]
        start = time.perf_counter()
        for name in names:
            await store.record_activity(NS, name, "message", datetime.now(UTC))
        serial = records / (time.perf_counter() - start)

        async def caller(part: list[str]) -> None:
            for name in part:
                await store.record_activity(NS, name, "message", datetime.now(UTC))

        start = time.perf_counter()
        await asyncio.gather(*(caller(names[i::8]) for i in range(8)))
        concurrent = records / (time.perf_counter() - start)
        rows.append([f"{subjects:,} subjects, 3 per-subject schedules", serial, concurrent])
    finally:
        await store.close()
    return rows


async def bench_activity_pg(admin_url: str, records: int) -> list[Any]:
    """The same on PostgreSQL, in a temporary database made next to ``admin_url``'s."""
    import psycopg

    from agentcron.store.postgres import PostgresStore

    name = f"agentcron_bench_{os.getpid()}"
    base = admin_url.rsplit("/", 1)[0]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        store = PostgresStore(f"{base}/{name}")
        await store.open()
        try:
            for label, trigger in [
                ("idle-users", {"idle": "30m", "subjects": "user:*"}),
                ("idle-all", {"idle": "1h"}),
                ("every-20", {"messages": 20}),
            ]:
                await store.add_schedule(spec(label, trigger), None)  # fmt: skip
            names = [f"user:{random.randrange(10_000)}" for _ in range(records)]
            start = time.perf_counter()
            for subject in names:
                await store.record_activity(NS, subject, "message", datetime.now(UTC))
            serial = records / (time.perf_counter() - start)

            async def caller(part: list[str]) -> None:
                for subject in part:
                    await store.record_activity(NS, subject, "message", datetime.now(UTC))

            start = time.perf_counter()
            await asyncio.gather(*(caller(names[i::8]) for i in range(8)))
            concurrent = records / (time.perf_counter() - start)
        finally:
            await store.close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
    return ["PostgreSQL, 10,000 subjects, same schedules", serial, concurrent]


# -- 2. idle evaluation ------------------------------------------------------------------------
@dataclass
class Meter:
    fire_cpu_s: float = 0.0
    due_wall_s: float = 0.0
    evaluations: int = 0


def instrument(scheduler: Scheduler, meter: Meter) -> None:
    tick, until = scheduler.tick, scheduler.seconds_until_due

    async def timed_tick() -> Any:
        cpu = time.thread_time()
        try:
            return await tick()
        finally:
            meter.fire_cpu_s += time.thread_time() - cpu
            meter.evaluations += 1

    async def timed_until() -> Any:
        wall = time.perf_counter()
        try:
            return await until()
        finally:
            meter.due_wall_s += time.perf_counter() - wall

    scheduler.tick = timed_tick  # type: ignore[method-assign]
    scheduler.seconds_until_due = timed_until  # type: ignore[method-assign]


async def bench_idle(tmp: str, subjects: int, args: argparse.Namespace) -> list[Any]:
    store, path = await open_store(tmp, f"idle-{subjects}", subjects)
    try:
        schedule = await store.add_schedule(spec("nudge", {"idle": f"{args.idle}s"}), None)
        scheduler = Scheduler(store, registry(), max_sleep_s=1.0)
        meter = Meter()
        instrument(scheduler, meter)
        stop = asyncio.Event()
        loop_task = asyncio.create_task(scheduler.run(stop))
        recorded = await generate(store, subjects, args.rate, args.seconds)
        await asyncio.sleep(args.idle + 1.0)  # the last ones become due and fire
        stop.set()
        store.notify("schedules")
        await loop_task
        runs = [r for r in await all_runs(store, schedule.id) if r.scheduled_for]
        lags = [(r.queued_at - r.scheduled_for).total_seconds() * 1000 for r in runs]  # type: ignore[operator]
        naive = naive_read(path, time.time() - args.idle)
    finally:
        await store.close()
    seconds = args.seconds + args.idle + 1.0
    per_eval = meter.fire_cpu_s / max(1, meter.evaluations) * 1e6
    return [f"{subjects:,}", recorded, len({r.subject for r in runs}), meter.evaluations,
            meter.fire_cpu_s / seconds * 1000, per_eval, meter.due_wall_s / seconds * 1000,
            median(lags), percentile(lags, 99), max(lags, default=float("nan")),
            naive[0], naive[1]]  # fmt: skip


async def generate(store: SqliteStore, subjects: int, rate: float, seconds: float) -> int:
    """Record ``rate`` activities/s on distinct random subjects for ``seconds``."""
    chosen = random.sample(range(subjects), min(subjects, int(rate * seconds)))
    start = time.perf_counter()
    for n, i in enumerate(chosen):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await store.record_activity(NS, f"user:{i}", "message", datetime.now(UTC))
    return len(chosen)


async def all_runs(store: SqliteStore, schedule_id: str) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page, cursor = await store.list_runs(
            RunFilter(schedule_id=schedule_id), limit=1000, cursor=cursor
        )
        out += page
        if cursor is None:
            return out


def naive_read(path: str, idle_before: float) -> tuple[int, float]:
    """What a watermark-free evaluation would read per pass (every subject idle by now, to
    compare with its marks): rows, and milliseconds to read them."""
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    rows = conn.execute(
        "SELECT subject, last_activity_at FROM subjects WHERE namespace = ? "
        "AND last_activity_at <= ?",
        (NS, idle_before),
    ).fetchall()
    took = (time.perf_counter() - start) * 1000
    conn.close()
    return len(rows), took


# -- 3. the scheduler under activity load --------------------------------------------------------
async def bench_load(tmp: str, subjects: int, rate: float, seconds: float) -> list[Any]:
    """``queued_at - scheduled_for`` of an every-second cron schedule while activity is
    recorded at ``rate``/s."""
    store, _ = await open_store(tmp, f"load-{rate:g}", subjects)
    try:
        first = trigger_from_dict({"cron": "* * * * * *"}).next_after(datetime.now(UTC))
        tick = await store.add_schedule(
            spec("tick", {"cron": "* * * * * *"}, overlap=Overlap.ALLOW), first
        )
        await store.add_schedule(spec("idle-all", {"idle": "30m"}), None)
        await store.add_schedule(spec("every-20", {"messages": 20}), None)
        scheduler = Scheduler(store, registry(), max_sleep_s=1.0)
        stop = asyncio.Event()
        loop_task = asyncio.create_task(scheduler.run(stop))
        recorded, took = await paced(store, subjects, rate, seconds)
        stop.set()
        store.notify("schedules")
        await loop_task
        runs = [r for r in await all_runs(store, tick.id) if r.scheduled_for]
        lags = [(r.queued_at - r.scheduled_for).total_seconds() * 1000 for r in runs]  # type: ignore[operator]
    finally:
        await store.close()
    return [f"{rate:,.0f}/s", recorded / took, len(runs), median(lags), percentile(lags, 99),
            max(lags, default=float("nan"))]  # fmt: skip


async def paced(
    store: SqliteStore, subjects: int, rate: float, seconds: float
) -> tuple[int, float]:
    """Record activity on random subjects at ``rate``/s (in small bursts) for ``seconds``."""
    start = time.perf_counter()
    done = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        while done < int(elapsed * rate):
            await store.record_activity(NS, f"user:{random.randrange(subjects)}", "message",
                                        datetime.now(UTC))  # fmt: skip
            done += 1
        await asyncio.sleep(0.005)
    return done, time.perf_counter() - start


# -- 4. fan-out --------------------------------------------------------------------------------
async def bench_fan_out(tmp: str, subjects: int) -> list[Any]:
    store, _ = await open_store(tmp, f"fan-{subjects}", subjects)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        fan = FanOut(subjects="user:*", batch_size=500)
        await store.add_schedule(spec("grader", {"every": "6h"}, for_each_subject=fan), now)
        start = time.perf_counter()
        returned = await store.fire_due(now, RunPlanner(registry(), now))
        took = time.perf_counter() - start
        stats = await store.stats()
        queued = stats.runs_by_status.get(RunStatus.QUEUED.value, 0)
    finally:
        await store.close()
    return [f"{subjects:,}", queued, len(returned), took * 1000, queued / took]


# -- main ----------------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> str:
    sizes = [int(s) for s in args.subjects.split(",")]
    out = []
    with make_tmpdir("agentcron-subjects-") as tmp:
        rows = await bench_activity(tmp, max(sizes), args.records)
        if args.pg:
            rows.append(await bench_activity_pg(args.pg, min(args.records, 5000)))
        out.append(table("record_activity (records/s)",
                         ["setup", "1 caller", "8 callers"], rows))  # fmt: skip
        idle_rows = [await bench_idle(tmp, n, args) for n in sizes]
        out.append(table(
            f"idle {args.idle:g}s, {args.rate:g} activities/s for {args.seconds:g}s "
            "(scheduler in-process, SQLite)",
            ["subjects", "activities", "fired", "evals", "fire CPU ms/s", "us/eval",
             "next_due ms/s", "lag p50 ms", "p99", "max", "naive rows/pass", "naive ms/pass"],
            idle_rows,
        ))  # fmt: skip
        load_rows = [await bench_load(tmp, max(sizes), rate, args.seconds / 2)
                     for rate in (0.0, args.load)]  # fmt: skip
        out.append(table(
            f"cron `* * * * * *` while activity is recorded ({max(sizes):,} subjects, idle and "
            "messages schedules stored; negative: queued ahead of the slot)",
            ["activity", "recorded/s", "fires", "queued-slot p50 ms", "p99", "max"], load_rows,
        ))  # fmt: skip
        fan_rows = [await bench_fan_out(tmp, n) for n in sizes]
        out.append(table("for_each_subject: one slot over every subject (one transaction)",
                         ["subjects", "runs", "returned", "ms", "runs/s"], fan_rows))  # fmt: skip
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", default="1000,100000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--idle", type=float, default=2.0)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--load", type=float, default=2000.0)
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL: add its activity rate")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
