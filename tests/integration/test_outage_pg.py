"""PostgreSQL stopped and started again under a running app, on a server of the test's own
(tests/pg_server.py): store calls fail within connect_timeout while it is down (REST: 503 with
Retry-After),
reconnect attempts are spaced by at most the configured cap, work resumes soon after the
server is back whatever the outage length, and processes starting together log no
``duplicate key`` error on the server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from procs import Cluster, duplicate_slots, query, slot_gaps
from procs import wait_for as procs_wait_for

from agentcron import App
from agentcron.api import create_api
from agentcron.errors import StoreUnavailable
from agentcron.models import ScheduleSource
from agentcron.specs import build_schedule
from agentcron.store.postgres import PostgresStore
from conftest import _wait_for as wait_for
from conftest import final
from pg_server import PgServer, pg_server

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

CAP_S = 0.25  # reconnect_max_delay of the stores under test
DEADLINE_S = 20.0  # generous: a deadline for a condition, not a measure of speed


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    with pg_server() as started:
        yield started


@pytest.fixture
def pg(server: PgServer, request: pytest.FixtureRequest) -> Iterator[PgServer]:
    """The module's server, running, with a fresh database named after the test."""
    if not server.running():
        server.start()
    server.execute(f'DROP DATABASE IF EXISTS "{request.node.name[:60]}" WITH (FORCE)')
    server.create_database(request.node.name[:60])
    yield server
    if not server.running():
        server.start()


def _url(pg: PgServer, request: pytest.FixtureRequest) -> str:
    return pg.url(request.node.name[:60])


def _app(url: str, lease: str = "2s", **options: Any) -> App:
    app = App(PostgresStore(url, **options), maintenance=False, lease=lease)

    @app.task()
    async def noop() -> None:
        return None

    return app


async def _enqueue_soon(app: App, deadline_s: float = DEADLINE_S) -> float:
    """Enqueue until it is acknowledged; the monotonic time it was."""

    async def attempt() -> float | None:
        try:
            await asyncio.wait_for(app.enqueue("noop"), deadline_s)
        except StoreUnavailable:
            return None
        return time.monotonic()

    acked: float = await wait_for(
        attempt, deadline_s, interval=0.02, what="an acknowledged enqueue"
    )
    return acked


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(app: App) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_api(app, auth="open"))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://agentcron"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def test_calls_fail_within_connect_timeout_while_the_server_is_down(
    pg: PgServer, request: pytest.FixtureRequest, client_for: Any
) -> None:
    """While the server is down, a call waits at most connect_timeout (here 1 s, not the
    pool's 30 s) and raises `StoreUnavailable`; REST says 503 and when to try again, and
    /healthz answers at once. A call made with a longer connect_timeout rides through the
    outage: it returns once the server is back."""
    url = _url(pg, request)
    app = _app(url, connect_timeout_s=1, reconnect_max_delay_s=CAP_S)
    patient = _app(url, connect_timeout_s=120, reconnect_max_delay_s=CAP_S)
    async with app, patient:
        client = client_for(app)
        await app.enqueue("noop")
        await patient.enqueue("noop")
        await asyncio.to_thread(pg.stop)
        for _ in range(3):
            with pytest.raises(StoreUnavailable, match="PostgreSQL unavailable"):
                await asyncio.wait_for(app.enqueue("noop"), 10)  # not the pool's 30 s
        assert app.store.outage() is not None
        r = await asyncio.wait_for(client.post("/v1/runs", json={"task": "noop"}), 10)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "store_unavailable"
        assert r.headers["Retry-After"] == "1"
        health = await asyncio.wait_for(client.get("/healthz"), 10)
        assert health.status_code == 503
        assert health.json()["reasons"][0].startswith("store unreachable: PostgreSQL unavailable")

        riding = asyncio.create_task(patient.enqueue("noop"))
        await wait_for(lambda: patient.store.outage(), DEADLINE_S, what="the outage noticed")
        assert not riding.done()
        await asyncio.to_thread(pg.start)
        run = await asyncio.wait_for(riding, DEADLINE_S)
        assert run.status.value == "queued"
        await _enqueue_soon(app)
        assert (await client.post("/v1/runs", json={"task": "noop"})).status_code == 202


async def test_reconnect_attempts_are_capped_and_work_resumes(
    pg: PgServer, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker and a producer under an outage many times the cap: every wait between two
    reconnect attempts (the store's and the listening connection's) is at most the cap, and
    once the server is back an enqueue is acknowledged and a run started. A run that finished
    during the outage (longer than its lease) is recorded as it ended, not reaped."""
    caplog.set_level(logging.DEBUG, logger="agentcron.store")
    app = _app(_url(pg, request), lease="1s", connect_timeout_s=1, reconnect_max_delay_s=CAP_S)
    started: list[float] = []
    outage = asyncio.Event()

    @app.task()
    async def mark() -> None:
        started.append(time.monotonic())

    @app.task()
    async def straddle() -> str:
        await outage.wait()
        return "finished while the database was down"

    async with app:
        task = asyncio.create_task(app.run(scheduler=False))
        await wait_for(lambda: app.worker is not None, 10, what="the worker")
        await app.enqueue("mark")
        held = await app.enqueue("straddle")
        await wait_for(lambda: started, DEADLINE_S, what="a run before the outage")
        await wait_for(
            lambda: app.worker is not None and held.id in app.worker._active, DEADLINE_S,
            what="the straddling run to start",
        )  # fmt: skip
        await asyncio.to_thread(pg.stop)
        outage.set()
        with pytest.raises(StoreUnavailable):
            await app.enqueue("noop")

        def attempts(prefix: str) -> list[float]:
            return [
                float(r.args[1])  # type: ignore[index]
                for r in caplog.records
                if r.getMessage().startswith(prefix)
            ]

        # Twelve attempts of each: uncapped from 50 ms, the twelfth alone would wait 100 s.
        await wait_for(
            lambda: (
                len(attempts("reconnect attempt")) >= 12
                and len(attempts("listening connection: attempt")) >= 12
            ),
            DEADLINE_S * 3,
            what="a dozen reconnect attempts",
        )
        await asyncio.to_thread(pg.start)
        back = time.monotonic()
        acked = await _enqueue_soon(app)
        await app.enqueue("mark")
        await wait_for(lambda: started[-1] > back, DEADLINE_S, what="a run after the outage")
        ended = await final(app, held.id, DEADLINE_S)
        app.stop()
        await asyncio.wait_for(task, 30)
    store_waits, listen_waits = attempts("reconnect attempt"), attempts("listening connection")
    assert ended.status.value == "succeeded", ended
    assert ended.result == "finished while the database was down"
    assert max(store_waits) <= CAP_S, store_waits
    assert max(listen_waits) <= CAP_S, listen_waits
    print(f"back: enqueue acknowledged after {acked - back:.2f}s, run started after "
          f"{started[-1] - back:.2f}s ({len(store_waits)} attempts)")  # fmt: skip


async def test_apps_starting_together_log_no_duplicate_key_error(
    pg: PgServer, request: pytest.FixtureRequest
) -> None:
    """Eight processes (here: apps with their own pools) start at once with the same twenty
    schedules declared in code, then sync the same twenty from a config: each schedule is
    stored once, and the server logs no error for the inserts that lost the race."""
    url = _url(pg, request)
    before = len(pg.log_text())
    apps = [_app(url) for _ in range(8)]
    for app in apps:
        for i in range(20):
            app.schedule("noop", "every 1m", name=f"s{i:02d}")
    await asyncio.gather(*(app.open() for app in apps))
    try:
        config = [
            build_schedule(name=f"c{i:02d}", task="noop", trigger="every 1m",
                           source=ScheduleSource.CONFIG, now=apps[0].clock.now())
            for i in range(20)
        ]  # fmt: skip
        reports = await asyncio.gather(*(app.sync_schedules(config) for app in apps))
        assert sum(len(r["added"]) for r in reports) == 20
        schedules, _ = await apps[0].list_schedules()
        names = [f"c{i:02d}" for i in range(20)] + [f"s{i:02d}" for i in range(20)]
        assert sorted(s.name for s in schedules) == names
    finally:
        await asyncio.gather(*(app.close() for app in apps))
    logged = pg.log_text()[before:]
    assert "duplicate key" not in logged, logged[-3000:]
    assert "ERROR" not in logged, logged[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_long_outage_under_load(
    pg: PgServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A scheduler and a worker process (an ``every 1s`` schedule, misfire ``all``) and a
    producer enqueueing every 50 ms; PostgreSQL stopped for 40 s, then started. Work resumes
    within a deadline far below what the old uncapped backoff took (about 20 s after 40 s
    down); no slot is missed or fired twice, every acknowledged enqueue runs, no process dies.
    The precise seconds are measured by benchmarks/outage.py."""
    url = _url(pg, request)
    cluster = Cluster(root=tmp_path, db=url, settings={"concurrency": 8, "lease": "3s",
                                                       "reconnect_max_delay": "1s"})  # fmt: skip
    cluster.write_config(
        [{"name": "beat", "task": "tick", "trigger": "every 1s", "misfire": "all",
          "overlap": "allow"}]
    )  # fmt: skip
    procs = [cluster.start("scheduler"), cluster.start("worker")]
    try:
        for proc in procs:
            cluster.wait_started(proc)
        back_wall, acked, first_ack_s = asyncio.run(
            _produce_through_an_outage(pg, url, outage_s=40)
        )
        procs_wait_for(lambda: _ended(url) >= len(acked), 120, "every acknowledged run to succeed")
        first_start_s = query(url, "SELECT min(started_at) FROM runs WHERE started_at > %s",
                              (back_wall,))[0][0] - back_wall  # fmt: skip
        assert all(p.poll() is None for p in procs), cluster.logs()
    finally:
        codes = cluster.stop_all()
    assert codes == [0, 0], cluster.logs()
    assert duplicate_slots(url) == []
    bad, _ = slot_gaps(url, every_s=1.0)
    assert bad == {}, bad
    assert first_ack_s < 10, first_ack_s
    assert first_start_s < 10, first_start_s
    assert "PostgreSQL is back" in cluster.logs()
    print(f"40s outage: first enqueue acknowledged {first_ack_s:.2f}s and first run started "
          f"{first_start_s:.2f}s after the server was back")  # fmt: skip


def _ended(url: str) -> int:
    rows = query(url, "SELECT count(*) FROM runs WHERE task = 'slow' AND status = 'succeeded'")
    return int(rows[0][0])


async def _produce_through_an_outage(
    pg: PgServer, url: str, outage_s: float
) -> tuple[float, list[int], float]:
    """Enqueue every 50 ms (a run of ``slow``) while the server is stopped for ``outage_s``;
    return when it was back (wall clock), the ids acknowledged, and how long after it was
    back the first enqueue was acknowledged."""
    app = App(PostgresStore(url), maintenance=False)

    @app.task(name="slow")
    async def slow(ms: int = 10) -> None:  # runs in the worker process (chaos_tasks)
        return None

    acked: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def produce() -> None:
        while not stop.is_set():
            try:
                run = await app.enqueue("slow", {"ms": 10})
                acked.append((time.monotonic(), run.id))
            except StoreUnavailable:
                pass
            await asyncio.sleep(0.05)

    async with app:
        producer = asyncio.create_task(produce())
        await wait_for(lambda: len(acked) > 20, DEADLINE_S, what="enqueues before the outage")
        await asyncio.to_thread(pg.stop)
        await asyncio.sleep(outage_s)  # the outage under test: its length is the point
        await asyncio.to_thread(pg.start)
        back, back_wall = time.monotonic(), time.time()
        await wait_for(lambda: acked[-1][0] > back, 60, what="an enqueue after the outage")
        await wait_for(lambda: len([a for a in acked if a[0] > back]) > 20, 60, what="more")
        stop.set()
        await producer
    first = min(t for t, _ in acked if t > back)
    return back_wall, [i for _, i in acked], first - back
