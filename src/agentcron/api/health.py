"""``GET /healthz`` (no token needed): healthy | degraded | critical, with reasons.

Checks, each with its details under ``checks``:

- ``store``: reachable, and able to write (critical when not: a full disk, a read-only file or
  server; the reason gives the last write error and how long writes have failed). Writes are
  judged by the store's latest write attempt, and by a small write of the check's own when
  the store attempted none in the last `HealthPolicy.write_probe_s` (`Store.check_writes`);
- ``scheduler``: when this process runs one, its loop ran recently (degraded after
  `HealthPolicy.scheduler_stale_s`, critical after ``scheduler_dead_s``);
- ``workers``: some worker heartbeats (degraded when workers are registered or runs are
  queued, but none heartbeated within ``worker_stale_s``, by default twice the lease);
- ``failures``: share of failed / dead runs among the recent finished ones (degraded over
  ``failure_rate``);
- ``queue``: how long the oldest runnable queued run has waited (degraded / critical).

A critical answer has status 503 (load balancers take the instance out); the others 200.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.responses import Response

from agentcron.api.respond import reply
from agentcron.api.schemas import HealthOut
from agentcron.app import App
from agentcron.errors import AgentcronError, StoreUnavailable
from agentcron.logs import plural
from agentcron.models import RunStatus
from agentcron.store import WriteFailure

__all__ = ["HealthPolicy", "assess", "router"]

router = APIRouter(tags=["health"])
_RANK: dict[str, int] = {"healthy": 0, "degraded": 1, "critical": 2}
_FAILED = (RunStatus.FAILED, RunStatus.DEAD)
Status = Literal["healthy", "degraded", "critical"]
Check = tuple[Status, str | None, dict[str, Any]]  # status, reason, details


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    store_timeout_s: float = 5.0
    write_probe_s: float = 5.0
    scheduler_stale_s: float = 30.0
    scheduler_dead_s: float = 120.0
    worker_stale: float | None = None  # seconds; None: twice the app's lease (at least 10s)
    recent_runs: int = 100
    failure_min_runs: int = 10
    failure_rate: float = 0.5
    lag_degraded_s: float = 60.0
    lag_critical_s: float = 600.0

    def worker_stale_s(self, app: App) -> float:
        if self.worker_stale is not None:
            return self.worker_stale
        return max(10.0, 2 * app.lease.total_seconds())


@router.get(
    "/healthz", response_model=HealthOut, summary="Health", responses={503: {"model": HealthOut}}
)
async def healthz(request: Request) -> Response:
    app: App = request.app.state.agentcron
    policy: HealthPolicy = request.app.state.health
    body = await assess(app, policy)
    return reply(body, 503 if body["status"] == "critical" else 200)


async def assess(app: App, policy: HealthPolicy) -> HealthOut:
    now = app.clock.now()
    checks: dict[str, Check] = {"scheduler": _scheduler(app, policy, now)}
    try:
        outage = app.outage()  # known down: say so at once, do not wait for it
        if outage is not None:
            raise StoreUnavailable(outage)
        checks |= await asyncio.wait_for(_store_checks(app, policy, now), policy.store_timeout_s)
    except (AgentcronError, TimeoutError) as exc:
        reason = f"store unreachable: {exc or 'no answer in time'}"
        checks["store"] = ("critical", reason, {"ok": False, "error": str(exc)})
    status = max((c[0] for c in checks.values()), key=_RANK.__getitem__)
    reasons = [c[1] for c in checks.values() if c[1]]
    return {"status": status, "reasons": reasons, "checks": {k: c[2] for k, c in checks.items()}}


async def _store_checks(app: App, policy: HealthPolicy, now: datetime) -> dict[str, Check]:
    started = time.perf_counter()
    stats = await app.stats()
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    workers = await app.list_workers()
    ready_since = await app.next_available_at()
    recent, _ = await app.list_runs(limit=policy.recent_runs)
    failure = await app.check_writes(policy.write_probe_s)
    queued = stats.runs_by_status.get(RunStatus.QUEUED.value, 0)
    return {
        "store": _store(latency_ms, failure),
        "workers": _workers(app, policy, now, workers, queued),
        "failures": _failures(policy, recent),
        "queue": _queue(policy, now, ready_since, queued),
    }


def _store(latency_ms: float, failure: WriteFailure | None) -> Check:
    if failure is None:
        return "healthy", None, {"ok": True, "latency_ms": latency_ms, "writes": True}
    details = {"ok": False, "latency_ms": latency_ms, "writes": False, **failure.to_dict()}
    return "critical", failure.reason(), details


def _scheduler(app: App, policy: HealthPolicy, now: datetime) -> Check:
    scheduler = app.scheduler
    if scheduler is None or scheduler.last_loop_at is None:
        return "healthy", None, {"ok": True, "here": False}
    age = (now - scheduler.last_loop_at).total_seconds()
    details = {"ok": age <= policy.scheduler_stale_s, "here": True, "last_loop_age_s": age}
    if age > policy.scheduler_dead_s:
        return "critical", f"the scheduler loop has not run for {age:.0f}s", details
    if age > policy.scheduler_stale_s:
        return "degraded", f"the scheduler loop has not run for {age:.0f}s", details
    return "healthy", None, details


def _workers(
    app: App, policy: HealthPolicy, now: datetime, workers: list[Any], queued: int
) -> Check:
    stale_s = policy.worker_stale_s(app)
    ages = [(now - w.last_heartbeat_at).total_seconds() for w in workers]
    alive = sum(1 for age in ages if age <= stale_s)
    details = {"ok": True, "alive": alive, "stale": len(ages) - alive, "stale_after_s": stale_s}
    if alive == 0 and (ages or queued):
        details["ok"] = False
        if ages:
            reason = f"no worker heartbeat for {min(ages):.0f}s ({len(ages)} registered)"
        else:
            waiting = f"{plural(queued, 'run')} {'is' if queued == 1 else 'are'}"
            reason = f"no worker is running and {waiting} queued"
        return "degraded", reason, details
    return "healthy", None, details


def _failures(policy: HealthPolicy, recent: list[Any]) -> Check:
    finished = [r for r in recent if r.status.final and r.status is not RunStatus.SKIPPED]
    failed = sum(1 for r in finished if r.status in _FAILED)
    rate = failed / len(finished) if finished else 0.0
    details = {"ok": True, "finished": len(finished), "failed": failed, "rate": round(rate, 3)}
    if len(finished) >= policy.failure_min_runs and rate > policy.failure_rate:
        details["ok"] = False
        reason = f"{failed} of the last {len(finished)} finished runs failed"
        return "degraded", reason, details
    return "healthy", None, details


def _queue(policy: HealthPolicy, now: datetime, ready_since: datetime | None, queued: int) -> Check:
    lag = max(0.0, (now - ready_since).total_seconds()) if ready_since else 0.0
    details = {"ok": lag <= policy.lag_degraded_s, "queued": queued, "lag_s": round(lag, 3)}
    if lag > policy.lag_critical_s:
        return "critical", f"the oldest runnable run has waited {lag:.0f}s", details
    if lag > policy.lag_degraded_s:
        return "degraded", f"the oldest runnable run has waited {lag:.0f}s", details
    return "healthy", None, details
