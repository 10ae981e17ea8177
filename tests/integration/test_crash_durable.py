"""Durable runs survive SIGKILL at any point, on SQLite and on PostgreSQL, with real
processes: killed between two steps, inside a step, and while the runs wait (the scheduler
too). Every run finishes, and the side effect of every completed step happened exactly once
(each effect appends a line to a file, fsynced, in the step's function)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import Cluster, status_counts, wait_for

pytestmark = pytest.mark.timeout(300)

RUNS = 20
TASKS = """
import asyncio, os
import agentcron

LOG = {log!r}

def _write(line):
    with open(LOG, "a") as f:
        f.write(line + "\\n")
        f.flush()
        os.fsync(f.fileno())

def effect(n, name):
    _write(f"effect {{n}} {{name}}")
    return name

async def slow_effect(n, name):
    _write(f"start {{n}} {{name}}")  # a marker, not the effect
    await asyncio.sleep(3)
    _write(f"effect {{n}} {{name}}")
    return name

@agentcron.task  # no retries: only recoveries bring a killed run back
async def flow(n: int, *, ctx: agentcron.RunContext) -> int:
    await ctx.step("one", effect, n, "one")
    _write(f"between {{n}}")
    await asyncio.sleep(1)  # killed here: between two steps
    await ctx.step("two", slow_effect, n, "two")  # killed inside it
    await ctx.sleep(3)  # killed while waiting
    await ctx.step("three", effect, n, "three")
    return n
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'agentcron.db'}"
        return
    from pg_support import fresh_database

    with fresh_database() as url:
        yield url


def _lines(log: Path, kind: str) -> Counter[tuple[str, ...]]:
    text = log.read_text() if log.exists() else ""
    return Counter(tuple(line.split()[1:]) for line in text.splitlines() if line.startswith(kind))


def _runs_with(log: Path, kind: str, name: str | None = None) -> set[str]:
    return {key[0] for key in _lines(log, kind) if name is None or key[1:] == (name,)}


def test_durable_runs_survive_sigkill_anywhere(tmp_path: Path, db_url: str) -> None:
    log = tmp_path / "effects.txt"
    (tmp_path / "durable_tasks.py").write_text(TASKS.format(log=str(log)))
    (tmp_path / "agentcron.toml").write_text(
        '[agentcron]\ntasks = ["durable_tasks"]\nconcurrency = 32\nlease = "1s"\n'
    )
    cluster = Cluster(root=tmp_path, db=db_url)
    script = tmp_path / "enqueue.py"
    script.write_text(
        "import asyncio\nfrom agentcron import App\nimport durable_tasks\n"
        "async def main():\n"
        f"    async with App({db_url!r}, maintenance=False) as app:\n"
        f"        await app.enqueue_many([{{'task': 'flow', 'args': {{'n': i}}}} "
        f"for i in range({RUNS})])\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, timeout=120)
    everyone = {str(i) for i in range(RUNS)}
    try:
        # 1. between steps: every run did step one and pauses before step two
        first = cluster.start("worker")
        wait_for(lambda: _runs_with(log, "between") == everyone, 60, "every run between steps")
        assert not _runs_with(log, "start"), "a run reached step two before the kill"
        cluster.kill(first)

        # 2. inside a step: every run is inside step two, none finished it
        second = cluster.start("worker")
        wait_for(lambda: _runs_with(log, "start", "two") == everyone, 60, "every run in step two")
        assert not _runs_with(log, "effect", "two"), "a run finished step two before the kill"
        cluster.kill(second)

        # 3. while waiting: every run sleeps durably; the worker and the scheduler die
        third, scheduler = cluster.start("worker"), cluster.start("scheduler")
        wait_for(lambda: status_counts(db_url)["waiting"] == RUNS, 60, "every run waiting")
        cluster.kill(third)
        cluster.kill(scheduler)

        # 4. back up: everything finishes
        cluster.start("worker")
        cluster.start("scheduler")
        wait_for(lambda: status_counts(db_url)["succeeded"] == RUNS, 90, "every run to finish")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from None
    finally:
        cluster.stop_all()
    effects = _lines(log, "effect")
    expected = {(str(i), name) for i in range(RUNS) for name in ("one", "two", "three")}
    assert set(effects) == expected
    assert [key for key, count in effects.items() if count != 1] == []  # exactly once each
    counts = status_counts(db_url)
    assert counts == {"succeeded": RUNS}, counts
