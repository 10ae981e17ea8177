"""A run whose worker is killed (SIGKILL, real processes) comes back whatever its retries:
a task with ``retries = 0`` finishes on another worker; past ``max_recoveries`` it is dead."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import Cluster, query, status_counts, wait_for

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'agentcron.db'}"
        return
    from pg_support import fresh_database

    with fresh_database() as url:
        yield url


def _enqueue_fragile(cluster: Cluster, ms: int) -> None:
    script = cluster.root / "enqueue.py"
    script.write_text(
        "import asyncio\nfrom agentcron import App\nimport chaos_tasks\n"
        f"async def main():\n    async with App({cluster.db!r}, maintenance=False) as app:\n"
        f"        await app.enqueue('fragile', {{'ms': {ms}}})\nasyncio.run(main())\n"
    )
    subprocess.run([sys.executable, str(script)], cwd=cluster.root, check=True, timeout=60)


def test_a_killed_workers_run_without_retries_finishes_on_a_new_worker(
    tmp_path: Path, db: str
) -> None:
    cluster = Cluster(root=tmp_path, db=db, settings={"lease": "1s"})
    cluster.write_config()
    _enqueue_fragile(cluster, ms=3000)
    victim = cluster.start("worker")
    wait_for(lambda: status_counts(db)["running"] == 1, 30, "the run to start")
    cluster.kill(victim)
    cluster.start("worker")  # reaps the expired lease, then claims the run again
    wait_for(lambda: status_counts(db)["succeeded"] == 1, 60, "the run to succeed")
    assert cluster.stop_all()[-1] == 0, cluster.logs()

    ((status, attempts, max_attempts, recoveries, max_recoveries, worker),) = query(
        db, "SELECT status, attempts, max_attempts, recoveries, max_recoveries, worker FROM runs"
    )
    assert status == "succeeded"
    assert (attempts, max_attempts) == (2, 2)  # retries = 0, plus the recovery
    assert (recoveries, max_recoveries) == (1, 3)
    assert worker is not None
    assert str(victim.pid) not in worker.split(":")  # a new worker finished it


def test_a_run_that_kills_every_worker_is_dead_after_max_recoveries(
    tmp_path: Path, db: str
) -> None:
    """max_recoveries = 3: the run is started 4 times, then dead with LeaseExpired."""
    cluster = Cluster(root=tmp_path, db=db, settings={"lease": "1s"})
    cluster.write_config()
    _enqueue_fragile(cluster, ms=60_000)
    cluster.start("scheduler")  # reaps expired leases while no worker is alive
    for start in range(1, 5):
        worker = cluster.start("worker")
        wait_for(
            lambda n=start: query(db, "SELECT status, attempts FROM runs")[0] == ("running", n),
            30,
            f"start {start}",
        )
        cluster.kill(worker)
    wait_for(lambda: status_counts(db)["dead"] == 1, 30, "the run to be dead")
    cluster.stop_all()
    ((attempts, recoveries, error),) = query(db, "SELECT attempts, recoveries, error FROM runs")
    assert (attempts, recoveries) == (4, 3)
    assert (json.loads(error) if isinstance(error, str) else error)["type"] == "LeaseExpired"
