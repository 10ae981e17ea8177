"""Crash and concurrency proofs on one SQLite file, with real `agentcron` processes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from procs import Cluster, duplicate_slots, query, slot_gaps, status_counts, wait_for

pytestmark = pytest.mark.timeout(240)


def _cluster(tmp_path: Path, **settings: object) -> Cluster:
    return Cluster(
        root=tmp_path, db=f"sqlite:///{tmp_path / 'agentcron.db'}", settings=dict(settings)
    )


def test_two_serve_processes_fire_every_slot_exactly_once(tmp_path: Path) -> None:
    """Two `serve` processes on one file, 200 schedules every 1s for 20s: no slot fired
    twice, no slot missing."""
    cluster = _cluster(tmp_path, concurrency=64)
    schedules = [
        {"name": f"s{i:03d}", "task": "tick", "trigger": "every 1s", "misfire": "all",
         "overlap": "allow"}
        for i in range(200)
    ]  # fmt: skip
    cluster.write_config(schedules)
    cluster.start("serve")
    cluster.start("serve")
    wait_for(lambda: status_counts(cluster.db)["succeeded"] > 0, 30, "the first runs")
    started = time.monotonic()
    while time.monotonic() - started < 20:  # the window under test
        assert all(p.poll() is None for p in cluster.procs), cluster.logs()
        time.sleep(1)
    assert cluster.stop_all() == [0, 0], cluster.logs()

    assert duplicate_slots(cluster.db) == []
    bad, total = slot_gaps(cluster.db, every_s=1.0)
    assert bad == {}, f"missing slots (gaps != 1s): {dict(list(bad.items())[:5])}"
    assert total >= 200 * 18
    counts = status_counts(cluster.db)
    assert counts["running"] == 0, counts
    # Slots fired just before the stop wait in the queue for the next start: kept, not lost.
    last = query(cluster.db, "SELECT max(scheduled_for) FROM runs")[0][0]
    stale = query(
        cluster.db,
        "SELECT count(*) FROM runs WHERE status='queued' AND scheduled_for < ?",
        (last - 2,),
    )[0][0]
    assert stale == 0, counts
    workers = {
        w for (w,) in query(cluster.db, "SELECT DISTINCT worker FROM runs WHERE worker IS NOT NULL")
    }
    assert len(workers) == 2, "both processes should have run work"


def test_sigkill_worker_mid_run_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL a worker in the middle of 100 slow runs: every run ends succeeded or dead,
    attempts counted, none stuck running after the lease."""
    cluster = _cluster(tmp_path, concurrency=20, lease="1s")
    cluster.write_config()
    enqueue = cluster.root / "enqueue.py"
    enqueue.write_text(
        "import asyncio, sys\n"
        "from agentcron import App\n"
        "import chaos_tasks\n"
        "async def main():\n"
        f"    async with App({cluster.db!r}) as app:\n"
        "        for i in range(100):\n"
        "            await app.enqueue('slow', {'ms': 400})\n"
        "asyncio.run(main())\n"
    )
    import subprocess
    import sys

    subprocess.run([sys.executable, str(enqueue)], cwd=cluster.root, check=True)
    victim = cluster.start("worker")
    wait_for(lambda: status_counts(cluster.db)["succeeded"] >= 20, 60, "some runs to finish")
    wait_for(lambda: status_counts(cluster.db)["running"] >= 10, 30, "runs in flight")
    in_flight = {r for (r,) in query(cluster.db, "SELECT id FROM runs WHERE status='running'")}
    cluster.kill(victim)
    cluster.start("worker")
    wait_for(
        lambda: sum(status_counts(cluster.db)[s] for s in ("succeeded", "dead")) == 100,
        90,
        "all 100 runs to end",
    )
    assert cluster.stop_all()[-1] == 0, cluster.logs()
    rows = query(cluster.db, "SELECT id, status, attempts, error FROM runs")
    assert {status for _, status, _, _ in rows} <= {"succeeded", "dead"}
    killed = [r for r in rows if r[0] in in_flight]
    assert killed
    assert all(attempts >= 2 for _, _, attempts, _ in killed), killed
    assert all(json.loads(err)["type"] == "LeaseExpired" for *_, err in killed if err)


def test_restart_keeps_schedules_and_history_and_catches_up_once(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    cluster.write_config([{"name": "beat", "task": "tick", "trigger": "every 1s"}])
    cluster.start("serve")
    wait_for(lambda: status_counts(cluster.db)["succeeded"] >= 3, 30, "three beats")
    assert cluster.stop_all() == [0], cluster.logs()
    before = query(cluster.db, "SELECT count(*) FROM runs WHERE schedule_id IS NOT NULL")[0][0]
    (next_run_at,) = query(cluster.db, "SELECT next_run_at FROM schedules WHERE name='beat'")[0]
    wait_for(lambda: time.time() > next_run_at + 3.5, 10, "three slots to pass while down")

    cluster.procs.clear()
    cluster.start("serve")
    wait_for(
        lambda: query(cluster.db, "SELECT count(*) FROM runs WHERE trigger_info LIKE '%missed%'")[
            0
        ][0],
        30,
        "the catch-up run",
    )
    assert cluster.stop_all() == [0], cluster.logs()
    catch_up = query(
        cluster.db,
        "SELECT scheduled_for, trigger_info FROM runs WHERE trigger_info LIKE '%missed%'",
    )
    assert len(catch_up) == 1, "misfire=once gives exactly one catch-up run"
    assert json.loads(catch_up[0][1])["missed"] >= 3
    after = query(cluster.db, "SELECT count(*) FROM runs WHERE schedule_id IS NOT NULL")[0][0]
    assert after > before  # history kept, new runs added
    assert duplicate_slots(cluster.db) == []
