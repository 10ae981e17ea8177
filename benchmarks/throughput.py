"""End-to-end throughput: enqueue N no-op runs, process them in worker processes.

    python benchmarks/throughput.py [--store URL] [--n 20000] [--workers 1] [--concurrency 32]
                                    [--repeat 3] [--only agentcron,huey,apscheduler]

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
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import threading
import time
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
TARGET_VS_HUEY = 3.0
BATCH = 1000


@dataclass
class Row:
    system: str
    store: str
    n: int
    note: str = ""
    enqueue_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

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
    from agentcron.store.sqlite import sqlite_path

    conn = sqlite3.connect(sqlite_path(url))
    try:
        (value,) = conn.execute(
            "SELECT max(finished_at) FROM runs WHERE status='succeeded'"
        ).fetchone()
        return float(value) if value is not None else None
    finally:
        conn.close()


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
    parser.add_argument("--workers", type=int, default=1, help="agentcron worker processes")
    parser.add_argument("--concurrency", type=int, default=32, help="per agentcron worker")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", default="agentcron,huey,apscheduler", help="comma-separated systems to run"
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
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if args.runner == "auto":
        args.runner = "cli" if has_cli() else "script"

    sqlite_mode = args.store is None or args.store.startswith("sqlite:")
    if not sqlite_mode:
        only &= {"agentcron"}  # the other systems are compared on SQLite only
        try:
            from agentcron.store import create_store

            create_store(args.store)
        except Exception as exc:
            print(f"throughput: cannot use --store {args.store}: {exc}", file=sys.stderr)
            return 2

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
        for h in (r for r in rows if r.system == "huey" and r.total_s):
            ratio = ac.jobs_s / h.jobs_s
            verdict = "met" if ratio >= TARGET_VS_HUEY else "NOT met"
            out.append(f"target: agentcron >= {TARGET_VS_HUEY:g}x Huey on SQLite, vs huey "
                       f"{h.store} -> {ratio:.2f}x ({verdict})")  # fmt: skip
    errors = [(r, e) for r in rows for e in r.errors]
    for r, e in errors:
        out.append(f"error: {r.system} [{r.store}]: {e.splitlines()[0]}")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
