"""A full disk under a real store: health turns critical with the write error and its age
(``/healthz`` and ``agentcron health``), REST answers 503 with ``Retry-After``, writes resume
and health is healthy again once space is freed, and the SQLite write-ahead log is left empty
by a clean stop. The disk is a small tmpfs (tests/small_disk.py: skipped, loudly, where
mounting is not permitted); on PostgreSQL, the agentcron tables live in a tablespace on it,
on a server of the test's own (tests/pg_server.py)."""

from __future__ import annotations

import asyncio
import json
import pwd
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from agentcron import App
from agentcron.api import create_api
from agentcron.errors import StoreError, StoreUnavailable
from agentcron.store.sqlite.wal import wal_size
from conftest import _wait_for as wait_for
from conftest import running
from small_disk import Disk, small_disk

pytestmark = pytest.mark.timeout(120)

BIG = "x" * 32_768  # args that need new pages: a few hundred fill 8 MiB


def _app(store: str) -> App:
    app = App(store, maintenance=False)

    @app.task()
    async def noop(blob: str = "") -> None:
        return None

    return app


async def _fill_until_writes_fail(app: App, disk: Disk) -> StoreError:
    """Fill the disk, then enqueue big runs until the store refuses one (the free pages it
    still had are used up first)."""
    disk.fill()
    for _ in range(2000):
        try:
            await app.enqueue("noop", {"blob": BIG})
        except StoreError as exc:
            return exc
    raise AssertionError("writes kept succeeding on a full disk")


@pytest.fixture
async def http() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(app: App) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_api(app, auth="open"))
        client = httpx.AsyncClient(transport=transport, base_url="http://agentcron")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def _health(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    r = await client.get("/healthz")
    return r.status_code, r.json()


async def _critical_then_healthy(app: App, client: httpx.AsyncClient, disk: Disk) -> None:
    """The common part: healthy, full disk -> critical (+ 503 Retry-After), freed -> healthy."""
    await app.enqueue("noop")
    status, body = await _health(client)
    assert status == 200, body
    error = await _fill_until_writes_fail(app, disk)
    status, body = await _health(client)
    assert (status, body["status"]) == (503, "critical"), body
    (reason,) = [r for r in body["reasons"] if r.startswith("store cannot write: ")]
    store = body["checks"]["store"]
    assert store["writes"] is False
    assert store["write_error"] in reason
    assert "full" in store["write_error"].lower()  # SQLITE_FULL, PostgreSQL DiskFull
    assert store["failing_for_s"] >= 0
    assert store["failing_since"].endswith("Z")
    r = await client.post("/v1/runs", json={"task": "noop", "args": {"blob": BIG}})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "store_unavailable"
    assert int(r.headers["Retry-After"]) >= 1
    assert isinstance(error, StoreUnavailable), error  # worth trying again later

    disk.free()

    async def enqueued() -> bool:
        try:
            await app.enqueue("noop", {"blob": BIG})
        except StoreUnavailable:
            return False
        return True

    await wait_for(enqueued, 30, what="a write to succeed once space is freed")
    status, body = await _health(client)
    assert (status, body["checks"]["store"]["writes"]) == (200, True), body
    assert not any(r.startswith("store cannot write") for r in body["reasons"])


def _cli_health(url: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "agentcron", "health", "--db", url, "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}


async def test_sqlite_full_disk(http: Any) -> None:
    with small_disk("8m") as disk:
        path = disk.path / "agentcron.db"
        url = f"sqlite:///{path}"
        app = _app(url)
        async with app:
            client = http(app)
            await app.enqueue("noop")
            await _critical_then_healthy(app, client, disk)

            # Another process (`agentcron health`) sees it too: it tries a write itself.
            await _fill_until_writes_fail(app, disk)
            code, report = await asyncio.to_thread(_cli_health, url)
            assert (code, report.get("status")) == (2, "critical"), report
            assert any(r.startswith("store cannot write: ") for r in report["reasons"])
            disk.free()
            code, report = await asyncio.to_thread(_cli_health, url)
            assert (code, report["checks"]["store"]["writes"]) in ((0, True), (1, True)), report
            wal_during = wal_size(str(path))
        # A clean stop leaves no write-ahead log behind to keep the disk full.
        assert wal_size(str(path)) == 0, wal_during


async def test_postgres_full_disk(http: Any) -> None:
    from pg_server import pg_server

    with pg_server() as server:
        user = pwd.getpwnam(server.user) if server.user else None
        owner = {"uid": user.pw_uid, "gid": user.pw_gid} if user else {}
        with small_disk("8m", **owner) as disk:
            space = disk.path / "pg"
            space.mkdir()
            server.chown(space)
            server.execute(f"CREATE TABLESPACE small LOCATION '{space}'")
            base = server.create_database("filled")
            # The agentcron tables are created in the small tablespace (the catalogs are not).
            url = base + "?options=" + quote("-c default_tablespace=small")
            app = _app(url)
            async with app:
                await _critical_then_healthy(app, http(app), disk)
            server.execute("DROP DATABASE filled")
            server.execute("DROP TABLESPACE small")


async def test_a_scheduler_that_cannot_fire_goes_stale(caplog: pytest.LogCaptureFixture) -> None:
    """The scheduler's freshness (``/healthz`` ``scheduler``) counts steps that succeeded: a
    loop whose every firing fails on a full disk is not a loop that runs."""
    with small_disk("8m") as disk:
        app = _app(f"sqlite:///{disk.path / 'agentcron.db'}")
        app.schedule("noop", "every 1s", name="beat")
        async with running(app, worker=False):
            assert app.scheduler is not None
            await _fill_until_writes_fail(app, disk)

            def failures() -> int:
                return sum("store unavailable" in r.getMessage() for r in caplog.records)

            seen = failures()
            await wait_for(lambda: failures() > seen, 30, what="a firing to fail")
            stale = app.scheduler.last_loop_at
            await wait_for(lambda: failures() > seen + 2, 30, what="two more failed firings")
            assert app.scheduler.last_loop_at == stale
            disk.free()
            await wait_for(
                lambda: app.scheduler is not None and app.scheduler.last_loop_at != stale, 30,
                what="the scheduler to fire again",
            )  # fmt: skip
