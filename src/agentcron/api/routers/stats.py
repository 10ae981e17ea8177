"""``GET /v1/stats`` (counts per namespace) and ``GET /v1/workers`` (live and stale)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from agentcron.api.deps import Agentcron, Reader
from agentcron.api.respond import reply
from agentcron.api.schemas import StatsOut, WorkerList
from agentcron.models import iso

router = APIRouter(tags=["stats"])


@router.get("/v1/stats", response_model=StatsOut, summary="Counts of runs and schedules")
async def stats(
    app: Agentcron, who: Reader, namespace: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    ns = who.listing_namespace(namespace)
    s = await app.stats(ns)
    answer: StatsOut = {
        "namespace": ns,
        "runs_by_status": s.runs_by_status,
        "schedules": s.schedules,
        "schedules_enabled": s.schedules_enabled,
        "schedules_parked": s.schedules_parked,
        "oldest_queued_at": iso(s.oldest_queued_at),
        "workers": s.workers,
    }
    return reply(answer)


@router.get("/v1/workers", response_model=WorkerList, summary="List workers")
async def workers(request: Request, app: Agentcron, who: Reader) -> Response:
    """Every registered worker; ``alive`` is false when its heartbeats stopped."""
    stale_s = request.app.state.health.worker_stale_s(app)
    now = app.clock.now()
    answer: WorkerList = {
        "items": [
            {**w.to_dict(), "alive": (now - w.last_heartbeat_at).total_seconds() <= stale_s}
            for w in await app.list_workers()
        ]
    }
    return reply(answer)
