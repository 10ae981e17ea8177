"""Many schedulers and workers on one PostgreSQL database, killed at random: exactly once,
nothing lost. Real processes, real server (see tests/pg_support.py)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import Cluster, duplicate_slots, query, slot_gaps, status_counts, wait_for

from pg_server import PgServer, pg_server
from pg_support import fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(420)]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def _enqueue(cluster: Cluster, count: int) -> None:
    script = cluster.root / "enqueue.py"
    script.write_text(
        "import asyncio, random\n"
        "from agentcron import App\n"
        "import chaos_tasks\n"
        "async def main():\n"
        f"    async with App({cluster.db!r}, maintenance=False) as app:\n"
        "        rng = random.Random(7)\n"
        "        items = [{'task': 'slow', 'args': {'ms': rng.randint(10, 200)}}\n"
        f"                 for _ in range({count})]\n"
        "        for i in range(0, len(items), 500):\n"
        "            await app.enqueue_many(items[i:i + 500])\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, str(script)], cwd=cluster.root, check=True, timeout=120)


def _ended(url: str) -> int:
    """Enqueued (not scheduled) runs that reached an end state."""
    return int(
        query(
            url,
            "SELECT count(*) FROM runs WHERE schedule_id IS NULL "
            "AND status IN ('succeeded', 'dead')",
        )[0][0]
    )


def _chaos(tmp_path: Path, url: str, seconds: float, runs: int) -> None:
    # Few slots per worker, so that runs are in flight during the whole window and kills hit them.
    cluster = Cluster(root=tmp_path, db=url, settings={"concurrency": 4, "lease": "2s"})
    schedules = [
        {"name": f"c{i:03d}", "task": "tick", "trigger": "every 1s", "misfire": "all",
         "overlap": "allow"}
        for i in range(100)
    ]  # fmt: skip
    cluster.write_config(schedules)
    roles = ["scheduler"] * 3 + ["worker"] * 3
    live = {cluster.start(role): role for role in roles}
    _enqueue(cluster, runs)
    rng = random.Random(42)
    end = time.monotonic() + seconds
    kills = 0
    while time.monotonic() < end:  # the window under test: kill a process every 1-3 s
        time.sleep(rng.uniform(1, 3))
        role = ("worker", "scheduler")[kills % 2]  # alternate roles, a random one of each
        victim = rng.choice([proc for proc, r in live.items() if r == role])
        del live[victim]
        cluster.kill(victim)
        kills += 1
        live[cluster.start(role)] = role
    wait_for(
        lambda: _ended(url) == runs,
        120,
        f"all {runs} enqueued runs to end",
        interval=0.5,
    )
    for proc in live:  # a process killed by SIGTERM while importing exits -15: let it start
        cluster.wait_started(proc)
    for proc, role in live.items():  # no new slots; then the workers reap what the killed held
        if role == "scheduler":
            cluster.terminate(proc)
    wait_for(lambda: status_counts(url)["running"] == 0, 30, "every lease reaped or finished")
    cluster.stop_all()
    assert [p.returncode for p in live] == [0] * len(live), cluster.logs()

    assert kills >= seconds / 3
    assert duplicate_slots(url) == []
    bad, total = slot_gaps(url, every_s=1.0)
    assert bad == {}, f"missing slots: {dict(list(bad.items())[:5])}"
    assert total >= 100 * (seconds - 5)
    counts = status_counts(url)
    assert counts["running"] == 0, counts
    rows = query(url, "SELECT status, attempts FROM runs WHERE schedule_id IS NULL")
    assert {s for s, _ in rows} <= {"succeeded", "dead"}
    assert all(a >= 1 for _, a in rows)
    retried = sum(1 for _, a in rows if a > 1)
    assert retried > 0, "some runs should have been in flight when their worker was killed"
    print(f"chaos: {kills} kills, {total} slots, {len(rows)} runs, {retried} retried after a kill")


def test_chaos_short(tmp_path: Path, pg_url: str) -> None:
    _chaos(tmp_path, pg_url, seconds=15, runs=1000)


@pytest.mark.slow
def test_chaos_60s(tmp_path: Path, pg_url: str) -> None:
    _chaos(tmp_path, pg_url, seconds=60, runs=5000)


def test_killed_workers_run_is_back_in_queue_within_lease_plus_2s(
    tmp_path: Path, pg_url: str
) -> None:
    cluster = Cluster(root=tmp_path, db=pg_url, settings={"lease": "1s"})
    cluster.write_config()
    cluster.start("scheduler")  # reaps expired leases even with no other worker alive
    worker = cluster.start("worker")
    script = tmp_path / "one.py"
    script.write_text(
        "import asyncio\nfrom agentcron import App\nimport chaos_tasks\n"
        f"async def main():\n    async with App({pg_url!r}, maintenance=False) as app:\n"
        "        await app.enqueue('slow', {'ms': 60000})\nasyncio.run(main())\n"
    )
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, timeout=60)
    wait_for(lambda: status_counts(pg_url)["running"] == 1, 30, "the run to start")
    cluster.kill(worker)
    killed_at = time.monotonic()
    wait_for(lambda: status_counts(pg_url)["queued"] == 1, 1 + 2, "the run back in the queue")
    print(f"back in the queue {time.monotonic() - killed_at:.2f}s after SIGKILL (lease 1s)")
    (error,) = query(pg_url, "SELECT error FROM runs")[0]
    assert (json.loads(error) if isinstance(error, str) else error)["type"] == "LeaseExpired"
    cluster.stop_all()


def test_processes_recover_from_a_postgres_restart(tmp_path: Path) -> None:
    # A server of the test's own (tests/pg_server.py): restarting the shared one would cut off
    # every other test using it at the time.
    with pg_server() as server:
        _recover_from_restart(tmp_path, server, server.create_database("chaos"))


def _recover_from_restart(tmp_path: Path, server: PgServer, pg_url: str) -> None:
    cluster = Cluster(root=tmp_path, db=pg_url, settings={"concurrency": 16, "lease": "3s"})
    cluster.write_config(
        [{"name": "beat", "task": "tick", "trigger": "every 1s", "misfire": "all"}]
    )
    procs = [cluster.start("serve"), cluster.start("worker")]
    _enqueue(cluster, 300)
    wait_for(lambda: status_counts(pg_url)["succeeded"] >= 50, 60, "work in progress")
    server.stop()
    server.start()
    _enqueue(cluster, 300)  # after the restart, through a new connection
    wait_for(
        lambda: _ended(pg_url) == 600,
        120,
        "all 600 runs to end after the restart",
        interval=0.5,
    )
    beats_before = query(pg_url, "SELECT count(*) FROM runs WHERE schedule_id IS NOT NULL")[0][0]
    wait_for(
        lambda: (
            query(pg_url, "SELECT count(*) FROM runs WHERE schedule_id IS NOT NULL")[0][0]
            > beats_before + 2
        ),
        30,
        "the schedule to keep firing",
    )
    assert all(p.poll() is None for p in procs), "processes must survive the restart"
    assert cluster.stop_all() == [0, 0], cluster.logs()
    assert duplicate_slots(pg_url) == []
    bad, _ = slot_gaps(pg_url, every_s=1.0)
    assert bad == {}
    assert "reconnected" in cluster.logs().lower() or "lost" in cluster.logs().lower()
