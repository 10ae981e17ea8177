"""Durable runs: what a step costs, and what 10,000 waiting runs cost.

1. steps/s: ``--runs`` runs of a task made of 10 no-op steps (``ctx.step``), run by a worker
   in this process (concurrency 32), from the first claim to the last result; a step is at
   most one small write. Target: >= 2,000 steps/s on SQLite.
2. waits: ``--waiting`` runs that each wait for a signal (``ctx.wait_for_signal``), with a
   worker and a scheduler in processes of their own (``agentcron worker`` / ``scheduler``);
   the time until all wait, the worker's and scheduler's RSS before and while they wait
   (flat: a waiting run is a row), then as many signals (``Store.signal_run`` from 16
   concurrent senders) and the time until every run finished.

``python benchmarks/durable.py [--pg postgresql://...] [--runs 1000] [--waiting 10000]``:
SQLite (a temporary file) always, PostgreSQL too with ``--pg`` (the database is used as is).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table

from agentcron import App, RunContext

TASKS = """
import agentcron

@agentcron.task
async def approval(*, ctx: agentcron.RunContext):
    return await ctx.wait_for_signal("go")
"""
SENDERS = 16


async def _noop() -> None:
    return None


async def steps_per_second(url: str, runs: int) -> tuple[float, float]:
    """(steps/s, seconds) of ``runs`` runs of 10 steps, worker in this process."""
    app = App(url, maintenance=False, concurrency=32)

    @app.task
    async def ten_steps(*, ctx: RunContext) -> int:
        for i in range(10):
            await ctx.step(f"s{i}", _noop)
        return 10

    async with app:
        await app.enqueue_many([{"task": "ten_steps"} for _ in range(runs)])
        started = time.perf_counter()
        await app.run(burst=True, scheduler=False, announce=False)
        seconds = time.perf_counter() - started
        done = (await app.stats()).runs_by_status.get("succeeded", 0)
    assert done >= runs, f"only {done} of {runs} runs succeeded"
    return runs * 10 / seconds, seconds


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def _processes(url: str, root: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    (root / "durable_bench_tasks.py").write_text(TASKS)
    config = root / "agentcron.toml"
    config.write_text('[agentcron]\ntasks = ["durable_bench_tasks"]\nconcurrency = 32\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentcron",
                role,
                "--config",
                str(config),
                "--db",
                url,
                "--log-level",
                "WARNING",
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for role in ("worker", "scheduler")
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _until(app: App, status: str, count: int, timeout: float) -> float:
    started = time.perf_counter()
    while (await app.stats()).runs_by_status.get(status, 0) < count:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"fewer than {count} runs {status} after {timeout:g}s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def waits(url: str, waiting: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, _processes(url, Path(tmp)) as procs:
        app = App(url, maintenance=False)

        @app.task
        async def approval(*, ctx: RunContext) -> Any:  # the processes' task, known here too
            return await ctx.wait_for_signal("go")

        async with app:
            await asyncio.sleep(3)  # the processes start
            out["rss_idle"] = sum(_rss_mb(p.pid) for p in procs)
            base = (await app.stats()).runs_by_status.get("succeeded", 0)
            items = [{"task": "approval"} for _ in range(waiting)]
            runs = []
            started = time.perf_counter()
            for i in range(0, waiting, 1000):
                runs += await app.enqueue_many(items[i : i + 1000])
            await _until(app, "waiting", waiting, 600)
            out["to_wait_s"] = time.perf_counter() - started
            out["rss_waiting"] = sum(_rss_mb(p.pid) for p in procs)
            await asyncio.sleep(5)
            out["rss_waiting_5s"] = sum(_rss_mb(p.pid) for p in procs)
            started = time.perf_counter()
            queue = [r.id for r in runs]

            async def sender() -> None:
                while queue:
                    await app.store.signal_run(queue.pop(), "go", {"ok": True}, app.clock.now())

            await asyncio.gather(*(sender() for _ in range(SENDERS)))
            out["signals_s"] = time.perf_counter() - started
            await _until(app, "succeeded", base + waiting, 600)
            out["to_finish_s"] = time.perf_counter() - started
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", help="also a PostgreSQL store (its database is used as is)")
    parser.add_argument("--runs", type=int, default=1000, help="runs of 10 steps")
    parser.add_argument("--waiting", type=int, default=10_000, help="runs waiting on a signal")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores = [("sqlite", f"sqlite:///{tmp}/steps.db", f"sqlite:///{tmp}/waits.db")]
        if args.pg:
            stores.append(("postgres", args.pg, args.pg))
        rows, wait_rows = [], []
        for name, steps_url, waits_url in stores:
            rate, seconds = await steps_per_second(steps_url, args.runs)
            rows.append([name, args.runs * 10, seconds, rate])
            w = await waits(waits_url, args.waiting)
            wait_rows.append([name, args.waiting, w["to_wait_s"], w["signals_s"],
                              w["to_finish_s"], w["rss_idle"], w["rss_waiting"],
                              w["rss_waiting_5s"]])  # fmt: skip
    print(table("10-step no-op task (target: >= 2,000 steps/s on SQLite)",
                ["store", "steps", "seconds", "steps/s"], rows))  # fmt: skip
    print()
    print(table(
        "runs waiting on a signal, then as many signals (RSS: worker + scheduler, MB)",
        ["store", "runs", "all waiting s", "signals sent s", "all finished s", "RSS idle",
         "RSS waiting", "RSS +5s"],
        wait_rows,
    ))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
