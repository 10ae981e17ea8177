"""``GET /metrics``: Prometheus text, from a registry per API (never the global one).

Fed on scrape, from the store, so one scrape target covers every process on the database:

- ``agentcron_runs_finished_total{task,status}``, ``agentcron_run_duration_seconds{task}``,
  ``agentcron_fire_lag_seconds{task}``: counters and histograms of the runs that finished
  since the previous scrape (read by ``finished_at`` through an index, from where the last
  scrape stopped). Runs are counted once they finished `SETTLE_S` ago, so that one whose
  transaction commits late is not skipped. Counting starts when this API starts.
- ``agentcron_runs{status}``, ``agentcron_queue_depth``, ``agentcron_queue_lag_seconds``,
  ``agentcron_schedules{state}``, ``agentcron_workers_alive``, ``agentcron_workers``: gauges
  of the store's current state.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.responses import Response

from agentcron.api.deps import Reader
from agentcron.api.health import HealthPolicy
from agentcron.app import App
from agentcron.models import RunStatus

__all__ = ["SETTLE_S", "Metrics", "router"]

SETTLE_S = 5.0
BATCH = 5000
MAX_PER_SCRAPE = 100_000
DURATION_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
LAG_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

router = APIRouter(tags=["metrics"])


class Metrics:
    """The metrics of one agentcron app, in their own `CollectorRegistry`."""

    def __init__(self, app: App, health: HealthPolicy) -> None:
        self.app = app
        self.health = health
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.finished = Counter("agentcron_runs_finished", "Runs finished, by task and status",
                                ["task", "status"], registry=r)  # fmt: skip
        self.duration = Histogram("agentcron_run_duration_seconds", "Run duration (last attempt)",
                                  ["task"], buckets=DURATION_BUCKETS, registry=r)  # fmt: skip
        self.lag = Histogram("agentcron_fire_lag_seconds", "started_at - scheduled_for",
                             ["task"], buckets=LAG_BUCKETS, registry=r)  # fmt: skip
        self.runs = Gauge("agentcron_runs", "Runs in the store, by status", ["status"], registry=r)
        self.queue_depth = Gauge("agentcron_queue_depth", "Queued runs", registry=r)
        self.queue_lag = Gauge("agentcron_queue_lag_seconds",
                               "Wait of the oldest runnable queued run", registry=r)  # fmt: skip
        self.schedules = Gauge("agentcron_schedules", "Schedules, by state", ["state"], registry=r)
        self.workers = Gauge("agentcron_workers", "Registered workers", registry=r)
        self.alive = Gauge("agentcron_workers_alive", "Workers heartbeating", registry=r)
        self._mark: tuple[datetime, int] = (app.clock.now() - timedelta(seconds=SETTLE_S), 0)
        self._lock = asyncio.Lock()

    async def render(self) -> bytes:
        async with self._lock:
            await self._gauges()
            await self._finished()
            return generate_latest(self.registry)

    async def _gauges(self) -> None:
        app, now = self.app, self.app.clock.now()
        stats = await app.stats()
        for status in RunStatus:
            self.runs.labels(status.value).set(stats.runs_by_status.get(status.value, 0))
        self.queue_depth.set(stats.runs_by_status.get(RunStatus.QUEUED.value, 0))
        ready = await app.next_available_at()
        self.queue_lag.set(max(0.0, (now - ready).total_seconds()) if ready else 0.0)
        self.schedules.labels("enabled").set(stats.schedules_enabled)
        self.schedules.labels("paused").set(stats.schedules - stats.schedules_enabled)
        self.schedules.labels("parked").set(stats.schedules_parked)
        workers = await app.list_workers()
        stale_s = self.health.worker_stale_s(self.app)
        self.workers.set(len(workers))
        self.alive.set(
            sum(1 for w in workers if (now - w.last_heartbeat_at).total_seconds() <= stale_s)
        )

    async def _finished(self) -> None:
        until = self.app.clock.now() - timedelta(seconds=SETTLE_S)
        seen = 0
        while seen < MAX_PER_SCRAPE:
            after, after_id = self._mark
            batch = await self.app.finished_runs(after, after_id, until, BATCH)
            for run in batch:
                self.finished.labels(run.task, run.status.value).inc()
                if run.duration_s is not None and run.duration_s >= 0:
                    self.duration.labels(run.task).observe(run.duration_s)
                if run.lag_s is not None:
                    self.lag.labels(run.task).observe(max(0.0, run.lag_s))
            if batch:
                self._mark = (batch[-1].finished_at, batch[-1].id)
            seen += len(batch)
            if len(batch) < BATCH:
                return


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, who: Reader) -> Response:
    collector: Metrics = request.app.state.metrics
    return Response(await collector.render(), media_type=CONTENT_TYPE_LATEST)
