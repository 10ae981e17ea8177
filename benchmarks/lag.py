"""Fire lag: how late do due schedules start, with many schedules stored?

    python benchmarks/lag.py [--store URL] [--due 1000] [--stored 100000] [--repeat 3]
                             [--concurrency 32,1000] [--lead 2.0]

For each stored size (1,000 and ``--stored``, in one invocation) on a fresh SQLite file:

1. store ``size`` schedules whose next fire is months away (cron ``0 0 1 1 *``), each built
   with ``agentcron.specs.build_schedule`` and inserted with ``store.add_schedule`` (the time
   this takes is printed);
2. per repeat and worker concurrency: start one agentcron process (scheduler + worker:
   ``python -m agentcron serve --config <generated>``, or ``benchmarks/_bench_tasks.py
   serve`` = ``App.run()`` without the CLI / with ``--runner script``), wait until it is up,
   then add ``--due``
   schedules ``at T`` (T = a whole second, ``--lead`` seconds ahead) running a no-op task;
3. wait until all of them succeeded, take the process RSS (psutil), stop it, read the runs
   back: lag = ``started_at - scheduled_for`` (the fire part, ``queued_at - scheduled_for``,
   is shown separately), and delete the due schedules again (their runs stay).

Concurrency 32 is the App default: 1,000 runs due in one second then queue behind 32 slots,
so their lag includes the worker's drain time; a concurrency >= ``--due`` shows the
scheduler's own lag. Percentiles and RSS are the median over repeats. Not an assertion: the
targets are printed under the table.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
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
    percentile,
    spawn,
    stop,
    table,
    tail,
)

TARGET_P50_MS = 10.0
TARGET_P99_MS = 100.0
FAR_TRIGGER = "0 0 1 1 *"  # next 1 January, 00:00 UTC


@dataclass
class Case:
    stored: int
    concurrency: int
    p50: list[float] = field(default_factory=list)
    p95: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    max: list[float] = field(default_factory=list)
    fire_p50: list[float] = field(default_factory=list)
    fire_p99: list[float] = field(default_factory=list)
    rss_idle: list[float] = field(default_factory=list)
    rss_after: list[float] = field(default_factory=list)
    startup: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class StoreUnusable(Exception):
    pass


async def open_app(url: str) -> Any:
    from _bench_tasks import make_app

    from agentcron.errors import StoreError

    try:
        app = make_app(url)
    except StoreError as exc:
        raise StoreUnusable(f"create_store({url!r}) failed: {exc}") from None
    try:
        await app.open()
    except StoreError as exc:
        raise StoreUnusable(f"cannot open {url!r}: {exc}") from None
    return app


async def add_schedules(app: Any, count: int, trigger: str, prefix: str,
                        fire_at: datetime | None = None,
                        ids: list[str] | None = None) -> tuple[float, float]:  # fmt: skip
    """Build and insert ``count`` schedules one by one; returns (build s, insert s).
    The new schedules' ids are appended to ``ids`` when given."""
    from agentcron.models import ScheduleSource
    from agentcron.specs import build_schedule

    now = app.clock.now()
    build_s = insert_s = 0.0
    chunk = 1000
    for start in range(0, count, chunk):
        t0 = time.perf_counter()
        built = [build_schedule(task="noop", trigger=trigger, now=now, name=f"{prefix}-{i:07d}",
                                source=ScheduleSource.API)
                 for i in range(start, min(count, start + chunk))]  # fmt: skip
        nexts = [fire_at or b.trigger.next_after(now) for b in built]
        t1 = time.perf_counter()
        # Concurrently: PostgreSQL commits them in parallel (SQLite's writer takes one at a time).
        added = await asyncio.gather(*(app.store.add_schedule(b.spec, nxt)
                                       for b, nxt in zip(built, nexts, strict=True)))  # fmt: skip
        if ids is not None:
            ids.extend(s.id for s in added)
        t2 = time.perf_counter()
        build_s += t1 - t0
        insert_s += t2 - t1
    return build_s, insert_s


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


async def succeeded(app: Any) -> int:
    stats = await app.stats()
    return int(stats.runs_by_status.get("succeeded", 0))


async def one_round(app: Any, url: str, case: Case, due: int, lead: float, tag: str,
                    logdir: str, runner: str, schedulers: int = 0) -> None:  # fmt: skip
    due_ids: list[str] = []
    base_ok = await succeeded(app)
    base_workers = (await app.stats()).workers
    log = os.path.join(logdir, f"serve-{tag}.log")
    t_spawn = time.monotonic()
    extra = []  # --schedulers N: N scheduler processes besides one worker process
    if schedulers:
        proc = spawn(process_command("worker", url, case.concurrency, logdir, runner),
                     log_path=log)  # fmt: skip
        extra = [(spawn(process_command("scheduler", url, case.concurrency, logdir, runner),
                        log_path=f"{log}.scheduler-{i}"), f"{log}.scheduler-{i}")
                 for i in range(schedulers)]  # fmt: skip
    else:
        proc = spawn(process_command("serve", url, case.concurrency, logdir, runner), log_path=log)
    try:
        while (await app.stats()).workers <= base_workers:
            for p, path in [(proc, log), *extra]:
                if p.poll() is not None:
                    raise RuntimeError(f"agentcron exited with {p.returncode}:\n{tail(path)}")
            if time.monotonic() - t_spawn > 60:
                raise TimeoutError("server did not start within 60s")
            await asyncio.sleep(0.01)
        case.startup.append(time.monotonic() - t_spawn)
        # let the scheduler loops settle into their sleep (separate schedulers register nowhere:
        # give them time to open the store)
        await asyncio.sleep(1.0 if schedulers else 0.2)
        rss_idle = sum(rss_mb(p.pid) for p, _ in [(proc, log), *extra])

        fire_at = datetime.fromtimestamp(math.ceil(time.time() + lead), UTC)
        iso = fire_at.isoformat().replace("+00:00", "Z")
        await add_schedules(app, due, f"at {iso}", f"due-{tag}", fire_at, due_ids)
        slack = fire_at.timestamp() - time.time()
        if slack < 0.2:
            print(f"  warning: due schedules inserted only {slack:.3f}s before they fire; "
                  "raise --lead", file=sys.stderr)  # fmt: skip

        deadline = fire_at.timestamp() + 120
        while await succeeded(app) < base_ok + due:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log)}")
            if time.time() > deadline:
                raise TimeoutError("the due runs did not all succeed within 120s")
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        case.rss_idle.append(rss_idle)
        case.rss_after.append(sum(rss_mb(p.pid) for p, _ in [(proc, log), *extra]))
    finally:
        for p, path in [(proc, log), *extra]:
            if stop(p) not in (0, None):
                print(f"  agentcron exited with {p.returncode}:\n{tail(path)}", file=sys.stderr)

    lags, fires = await read_lags(app, fire_at, due)
    for schedule_id in due_ids:  # keep the stored count at the size being measured
        await app.store.delete_schedule(schedule_id)
    if len(lags) != due:
        raise RuntimeError(f"found {len(lags)} runs scheduled for {iso}, expected {due}")
    case.p50.append(percentile(lags, 50))
    case.p95.append(percentile(lags, 95))
    case.p99.append(percentile(lags, 99))
    case.max.append(max(lags))
    case.fire_p50.append(percentile(fires, 50))
    case.fire_p99.append(percentile(fires, 99))
    print(f"  stored {case.stored:>7,} conc {case.concurrency:>5}: lag p50 {case.p50[-1]:7.1f} "
          f"p95 {case.p95[-1]:7.1f} p99 {case.p99[-1]:7.1f} max {case.max[-1]:7.1f} ms; "
          f"fired p99 {case.fire_p99[-1]:6.1f} ms; RSS {case.rss_idle[-1]:.1f} -> "
          f"{case.rss_after[-1]:.1f} MiB", file=sys.stderr)  # fmt: skip


async def read_lags(app: Any, fire_at: datetime, due: int) -> tuple[list[float], list[float]]:
    """Lags (ms) of the runs scheduled for ``fire_at``: started - scheduled, queued - scheduled."""
    from agentcron.store import RunFilter

    lags, fires = [], []
    cursor = None
    while True:
        runs, cursor = await app.store.list_runs(RunFilter(task="noop"), limit=1000,
                                                 cursor=cursor)  # fmt: skip
        for run in runs:
            if run.scheduled_for == fire_at and run.started_at is not None:
                lags.append((run.started_at - run.scheduled_for).total_seconds() * 1000)
                fires.append((run.queued_at - run.scheduled_for).total_seconds() * 1000)
        if cursor is None or len(lags) >= due:
            return lags, fires


async def run_size(stored: int, args: argparse.Namespace, concurrencies: list[int],
                   tmpdir: str) -> list[Case]:  # fmt: skip
    url = args.store or fresh_sqlite_url(tmpdir, f"lag-{stored}")[0]
    app = await open_app(url)
    cases = [Case(stored, c) for c in concurrencies]
    try:
        build_s, insert_s = await add_schedules(app, stored, FAR_TRIGGER, f"far-{time.time_ns()}")
        print(f"stored {stored:,} schedules: build_schedule {build_s:.2f}s "
              f"({stored / build_s:,.0f}/s), add_schedule {insert_s:.2f}s "
              f"({stored / insert_s:,.0f}/s)", file=sys.stderr)  # fmt: skip
        for r in range(args.repeat):
            for case in cases:
                tag = f"{stored}-{case.concurrency}-{r}-{time.time_ns()}"
                try:
                    await one_round(app, url, case, args.due, args.lead, tag, tmpdir, args.runner,
                                    args.schedulers)  # fmt: skip
                except (RuntimeError, TimeoutError) as exc:
                    case.errors.append(str(exc))
                    print(f"  stored {stored:,} conc {case.concurrency}: FAILED: {exc}",
                          file=sys.stderr)  # fmt: skip
    finally:
        await app.close()
    return cases


def render(cases: list[Case], args: argparse.Namespace) -> str:
    rows = []
    for c in cases:
        ok = bool(c.p50)
        rows.append([
            c.stored, c.concurrency,
            median(c.p50) if ok else None, median(c.p95) if ok else None,
            median(c.p99) if ok else None, median(c.max) if ok else None,
            median(c.fire_p50) if ok else None, median(c.fire_p99) if ok else None,
            median(c.rss_idle) if ok else None, median(c.rss_after) if ok else None,
            median(c.startup) if c.startup else None,
            f"FAILED {len(c.errors)}x" if c.errors else "",
        ])  # fmt: skip
    how = "agentcron serve" if args.runner == "cli" else "_bench_tasks.py serve"
    title = (
        f"fire lag: {args.due:,} schedules due in the same second, "
        + (
            f"{args.schedulers} `agentcron scheduler` + 1 `agentcron worker` processes"
            if args.schedulers
            else f"1 agentcron process (scheduler + worker: {how})"
        )
        + f", median of {args.repeat} "
        f"(host: {os.cpu_count()} CPUs)"
    )
    out = [table(title, ["stored", "concurrency", "p50 ms", "p95 ms", "p99 ms", "max ms",
                         "fired p50 ms", "fired p99 ms", "RSS idle MiB", "RSS after MiB",
                         "startup s", "notes"], rows)]  # fmt: skip
    out.append("")
    out.append(
        "lag = started_at - scheduled_for; fired = queued_at - scheduled_for (the run row "
        "was written by the firing transaction); RSS of the agentcron process before the "
        "due schedules were added and after their runs finished."
    )
    for c in cases:
        if not c.p50:
            continue
        p50, p99 = median(c.p50), median(c.p99)
        out.append(
            f"target (stored {c.stored:,}, concurrency {c.concurrency}): p50 < {TARGET_P50_MS:g} "
            f"ms -> {p50:.1f} ({'met' if p50 < TARGET_P50_MS else 'NOT met'}), p99 < "
            f"{TARGET_P99_MS:g} ms -> {p99:.1f} ({'met' if p99 < TARGET_P99_MS else 'NOT met'})"
        )
    sizes = sorted({c.stored for c in cases})
    if len(sizes) > 1:
        for conc in sorted({c.concurrency for c in cases}):
            small = next((c for c in cases if c.stored == sizes[0] and c.concurrency == conc), None)
            big = next((c for c in cases if c.stored == sizes[-1] and c.concurrency == conc), None)
            if small is None or big is None or not small.rss_after or not big.rss_after:
                continue
            a, b = median(small.rss_after), median(big.rss_after)
            out.append(
                f"RSS after firing (concurrency {conc}): {a:.1f} MiB with {sizes[0]:,} "
                f"stored vs {b:.1f} MiB with {sizes[-1]:,} stored ({b - a:+.1f} MiB)"
            )
    for c in cases:
        for e in c.errors:
            out.append(f"error (stored {c.stored:,}, concurrency {c.concurrency}): "
                       f"{e.splitlines()[0]}")  # fmt: skip
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store",
        default=None,
        help="store URL (default: a fresh SQLite file per size); a non-SQLite "
        "store must be empty, and is used for every size",
    )
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1000, help="the smaller stored size")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--concurrency", default="32,1000", help="comma-separated worker concurrencies to run"
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=2.0,
        help="seconds between adding the due schedules and their fire time",
    )
    parser.add_argument("--n", type=int, default=None, help="alias of --due")
    parser.add_argument(
        "--schedulers",
        type=int,
        default=0,
        help="run N `agentcron scheduler` processes and one `agentcron worker` instead of one "
        "`serve` (several schedulers need a shared store: PostgreSQL)",
    )
    parser.add_argument(
        "--runner",
        choices=["auto", "cli", "script"],
        default="auto",
        help="the agentcron process: `python -m agentcron serve` (cli) or "
        "benchmarks/_bench_tasks.py serve (script); auto: cli if it exists",
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.n is not None:
        args.due = args.n
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.runner == "auto":
        args.runner = "cli" if has_cli() else "script"
    sizes = sorted({min(args.small, args.stored), args.stored})

    if args.store is not None and not args.store.startswith("sqlite:"):
        try:
            from agentcron.store import create_store

            create_store(args.store)
        except Exception as exc:
            print(f"lag: cannot use --store {args.store}: {exc}", file=sys.stderr)
            return 2

    tmp = make_tmpdir("agentcron-lag-")
    cases: list[Case] = []
    try:
        for size in sizes:
            cases += asyncio.run(run_size(size, args, concurrencies, tmp.name))
    except StoreUnusable as exc:
        print(f"lag: {exc}", file=sys.stderr)
        return 2
    finally:
        tmp.cleanup()
    print(render(cases, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
