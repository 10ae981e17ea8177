"""``/v1/runs``: enqueue, list (filters, cursor), get, cancel, retry, signal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from agentcron.api.deps import Agentcron, Reader, Writer, visible_run, visible_schedule
from agentcron.api.respond import reply
from agentcron.api.schemas import EnqueueIn, RunOut, RunPage
from agentcron.models import RunStatus
from agentcron.subjects import check_subject

router = APIRouter(prefix="/v1/runs", tags=["runs"])

RunId = Annotated[int, Path(description="Run id.")]
Filter = Annotated[str | None, Query(max_length=200)]


@router.post("", status_code=202, response_model=RunOut, summary="Enqueue a run")
async def enqueue(body: EnqueueIn, app: Agentcron, who: Writer) -> Response:
    """Queue one run of a registered task. With ``dedup_key``, a key used before answers the
    run that holds it instead of queueing another. A run whose worker dies is queued again,
    whatever its retries, up to its task's ``max_recoveries`` times (``recoveries`` counts
    them), then ``dead`` with a ``LeaseExpired`` error."""
    fields = body.model_dump(exclude_unset=True, exclude={"task", "args", "namespace"})
    if body.subject is not None:
        check_subject(body.subject)
    namespace = who.writable_namespace(body.namespace)
    run = await app.enqueue(body.task, body.args, namespace=namespace, **fields)
    return reply(run.to_dict(), 202)


@router.get("", response_model=RunPage, summary="List runs")
async def list_runs(
    app: Agentcron,
    who: Reader,
    task: Filter = None,
    status: RunStatus | None = None,
    schedule: Annotated[str | None, Query(max_length=200, description="Id or name.")] = None,
    subject: Annotated[str | None, Query(max_length=256)] = None,
    namespace: Filter = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Newest first; ``next_cursor`` fetches the next page."""
    ns = who.listing_namespace(namespace)
    owner = await visible_schedule(app, who, schedule, ns) if schedule is not None else None
    runs, nxt = await app.list_runs(
        task=task, status=status, schedule=owner, subject=subject, namespace=ns, limit=limit,
        cursor=cursor,
    )  # fmt: skip
    page: RunPage = {"items": [r.to_dict() for r in runs], "next_cursor": nxt}
    return reply(page)


@router.get("/{run_id}", response_model=RunOut, summary="Get a run")
async def get_run(run_id: RunId, app: Agentcron, who: Reader) -> Response:
    return reply((await visible_run(app, who, run_id)).to_dict())


@router.post(
    "/{run_id}/signals/{name}", status_code=202, response_model=RunOut, summary="Signal a run"
)
async def signal_run(
    run_id: RunId,
    name: Annotated[str, Path(max_length=200, description="The signal's name: `approve`.")],
    app: Agentcron,
    who: Writer,
    data: Annotated[Any, Body(description="The signal's data: any JSON value.")] = None,
) -> Response:
    """Send signal ``name`` to a run; the JSON body is its data (none: null). A run waiting
    for it (``waiting_for.kind`` is ``signal``) takes it and is queued again at once;
    otherwise it is kept for the run's next wait of that name. A finished run is a 409."""
    await visible_run(app, who, run_id)
    return reply((await app.signal(run_id, name, data)).to_dict(), 202)


@router.post("/{run_id}/cancel", response_model=RunOut, summary="Cancel a run")
async def cancel_run(run_id: RunId, app: Agentcron, who: Writer) -> Response:
    """A queued or waiting run is cancelled at once; a running one by its worker at its next
    heartbeat (``cancel`` is then requested). A finished run is a 409."""
    await visible_run(app, who, run_id)
    return reply((await app.cancel_run(run_id)).to_dict())


@router.post("/{run_id}/retry", status_code=202, response_model=RunOut, summary="Retry a run")
async def retry_run(run_id: RunId, app: Agentcron, who: Writer) -> Response:
    """Queue a dead, failed or cancelled run again for one more attempt (else 409)."""
    await visible_run(app, who, run_id)
    return reply((await app.retry_run(run_id)).to_dict(), 202)
