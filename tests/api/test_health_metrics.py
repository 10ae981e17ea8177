"""``/healthz`` states and ``/metrics`` text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from agentcron import App
from agentcron.api import health, metrics
from agentcron.clock import ManualClock
from agentcron.models import WorkerInfo
from agentcron.scheduler import Scheduler


async def register_worker(app: App, last_heartbeat_s_ago: float = 0) -> None:
    now = app.clock.now()
    await app.store.register_worker(
        WorkerInfo(id="w1", host="h", pid=1, queues=[], concurrency=4,
                   started_at=now - timedelta(minutes=5),
                   last_heartbeat_at=now - timedelta(seconds=last_heartbeat_s_ago))
    )  # fmt: skip


async def healthz(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    r = await client.get("/healthz")
    return r.status_code, r.json()


async def test_healthy(client: httpx.AsyncClient, ac: App) -> None:
    await register_worker(ac)
    status, body = await healthz(client)
    assert (status, body["status"], body["reasons"]) == (200, "healthy", [])
    assert set(body["checks"]) == {"store", "scheduler", "workers", "failures", "queue"}
    assert body["checks"]["workers"]["alive"] == 1


async def test_stopped_heartbeats_degrade(
    client: httpx.AsyncClient, ac: App, clock: ManualClock
) -> None:
    await register_worker(ac)
    assert (await healthz(client))[1]["status"] == "healthy"
    clock.advance(600)  # the worker has not heartbeated for 10 minutes
    status, body = await healthz(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["reasons"] == ["no worker heartbeat for 600s (1 registered)"]
    assert body["checks"]["workers"] == {"ok": False, "alive": 0, "stale": 1, "stale_after_s": 60.0}


async def test_queued_runs_without_workers_degrade(client: httpx.AsyncClient) -> None:
    await client.post("/v1/runs", json={"task": "hello"})
    _, body = await healthz(client)
    assert body["status"] == "degraded"
    assert "no worker is running and 1 run is queued" in body["reasons"]


async def test_queue_lag_degrades_then_is_critical(
    client: httpx.AsyncClient, ac: App, clock: ManualClock
) -> None:
    await client.post("/v1/runs", json={"task": "hello"})
    clock.advance(120)
    await register_worker(ac)  # a live worker that does not keep up
    status, body = await healthz(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["queue"]["lag_s"] == 120
    clock.advance(3600)
    await register_worker(ac)
    status, body = await healthz(client)
    assert (status, body["status"]) == (503, "critical")
    assert body["reasons"] == ["the oldest runnable run has waited 3720s"]


async def test_failure_rate_degrades(client: httpx.AsyncClient, ac: App) -> None:
    for _ in range(12):
        await client.post("/v1/runs", json={"task": "boom"})
    await ac.run(burst=True, scheduler=False)
    await register_worker(ac)
    _, body = await healthz(client)
    assert body["status"] == "degraded"
    assert body["reasons"] == ["12 of the last 12 finished runs failed"]


async def test_stale_scheduler_loop(client: httpx.AsyncClient, ac: App, clock: ManualClock) -> None:
    await register_worker(ac)
    ac.scheduler = Scheduler(ac.store, ac.registry, clock=clock)
    ac.scheduler.last_loop_at = clock.now()
    assert (await healthz(client))[1]["status"] == "healthy"
    clock.advance(45)
    await register_worker(ac)
    assert (await healthz(client))[1]["status"] == "degraded"
    clock.advance(300)
    await register_worker(ac)
    status, body = await healthz(client)
    assert (status, body["status"]) == (503, "critical")
    assert body["reasons"] == ["the scheduler loop has not run for 345s"]


async def test_unreachable_store_is_critical(client: httpx.AsyncClient, ac: App) -> None:
    await ac.store.close()
    try:
        status, body = await healthz(client)
    finally:
        await ac.store.open()
    assert (status, body["status"]) == (503, "critical")
    assert body["reasons"][0].startswith("store unreachable")


METRIC_NAMES = [
    "agentcron_runs_finished_total", "agentcron_run_duration_seconds", "agentcron_fire_lag_seconds",
    "agentcron_runs", "agentcron_queue_depth", "agentcron_queue_lag_seconds",
    "agentcron_schedules", "agentcron_workers", "agentcron_workers_alive",
]  # fmt: skip


async def test_metrics_text(
    client: httpx.AsyncClient, ac: App, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "SETTLE_S", 0.0)
    await client.post("/v1/schedules", json={"task": "hello", "trigger": "@daily"})
    for task in ("hello", "hello", "boom"):
        await client.post("/v1/runs", json={"task": task})
    await client.get("/metrics")  # the first scrape starts counting
    await ac.run(burst=True, scheduler=False)
    await client.post("/v1/runs", json={"task": "hello"})
    await register_worker(ac)
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for name in METRIC_NAMES:
        assert f"# TYPE {name} " in text, name
    assert 'agentcron_runs_finished_total{status="succeeded",task="hello"} 2.0' in text
    assert 'agentcron_runs_finished_total{status="dead",task="boom"} 1.0' in text
    assert 'agentcron_run_duration_seconds_count{task="hello"} 2.0' in text
    assert 'agentcron_fire_lag_seconds_bucket{le="+Inf",task="boom"} 1.0' in text
    assert 'agentcron_runs{status="queued"} 1.0' in text
    assert "agentcron_queue_depth 1.0" in text
    assert 'agentcron_schedules{state="enabled"} 1.0' in text
    assert "agentcron_workers_alive 1.0" in text
    again = (await client.get("/metrics")).text  # runs are counted once
    assert 'agentcron_runs_finished_total{status="succeeded",task="hello"} 2.0' in again


async def test_each_api_has_its_own_registry(ac: App) -> None:
    from agentcron.api import create_api

    one, two = create_api(ac), create_api(ac)
    assert one.state.metrics.registry is not two.state.metrics.registry


def test_policy_worker_staleness(ac: App) -> None:
    assert health.HealthPolicy().worker_stale_s(ac) == 60.0
    assert health.HealthPolicy(worker_stale=5).worker_stale_s(ac) == 5
