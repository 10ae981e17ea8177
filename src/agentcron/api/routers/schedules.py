"""``/v1/schedules``: create, list, read, change, delete; pause, resume, trigger, runs, backfill.

A schedule is addressed by id or by name (in ``?namespace=``, else the token's only namespace,
else ``default``). Another namespace's schedule is a 404 for a token that cannot see it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from agentcron.api.deps import Agentcron, Reader, Writer, visible_schedule
from agentcron.api.respond import reply
from agentcron.api.schemas import (
    BackfillIn,
    BackfillOut,
    FanOutOut,
    RunOut,
    RunPage,
    ScheduleCreated,
    ScheduleIn,
    ScheduleOut,
    SchedulePage,
    SchedulePatch,
    TriggerNowIn,
)
from agentcron.app import App
from agentcron.models import Run, RunStatus, Schedule, iso
from agentcron.store import FannedOut
from agentcron.store._codec import encode_cursor

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])

Key = Annotated[str, Path(max_length=200, description="Schedule id or name.")]
Namespace = Annotated[
    str | None, Query(max_length=200, description="Namespace of a schedule given by name.")
]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=1000, description="`next_cursor` of a page.")]
MAX_SCAN = 10_000  # rows a filtered page reads at most; the cursor then resumes from there
FANNED_OUT_SHOWN = 100  # runs of a fan-out in the answer (the counts are exact)


@router.post("", status_code=201, response_model=ScheduleCreated, summary="Create a schedule")
async def create_schedule(body: ScheduleIn, app: Agentcron, who: Writer) -> Response:
    """``trigger`` is the string grammar (natural language too) or the object form; an
    interval is at least 1s, and ``jitter`` at most the trigger's period (else 422). A
    namespace holds at most ``max_schedules`` schedules (default 10,000; see `App`): past
    that, 409 ``schedule_quota_exceeded``. The answer is the schedule plus
    ``trigger_source``: ``grammar``, or ``llm`` when the text was read by the server's LLM
    (``[agentcron.llm]``) because the grammar did not understand it."""
    fields = body.model_dump(exclude_unset=True)
    fields["namespace"] = who.writable_namespace(fields.get("namespace"))
    trigger, source = await app.resolve_trigger(fields.pop("trigger"), timezone=body.timezone)
    schedule = await app.add_schedule(fields.pop("task"), trigger, **fields)
    created: ScheduleCreated = {**schedule.to_dict(), "trigger_source": source}
    return reply(created, 201)


@router.get("", response_model=SchedulePage, summary="List schedules")
async def list_schedules(
    app: Agentcron,
    who: Reader,
    namespace: Annotated[str | None, Query(max_length=200)] = None,
    task: Annotated[str | None, Query(max_length=200)] = None,
    enabled: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Ordered by (namespace, name); ``next_cursor`` fetches the next page."""
    ns = who.listing_namespace(namespace)
    items, nxt = await _page(app, ns, task, enabled, limit, cursor)
    page: SchedulePage = {"items": [s.to_dict() for s in items], "next_cursor": nxt}
    return reply(page)


async def _page(
    app: App, ns: str | None, task: str | None, enabled: bool | None, limit: int,
    cursor: str | None,
) -> tuple[list[Schedule], str | None]:  # fmt: skip
    if task is None and enabled is None:
        return await app.list_schedules(namespace=ns, limit=limit, cursor=cursor)
    out: list[Schedule] = []
    scanned = 0
    while True:
        page, nxt = await app.list_schedules(namespace=ns, limit=max(limit, 100), cursor=cursor)
        for s in page:
            scanned += 1
            if (task is None or s.task == task) and (enabled is None or s.enabled == enabled):
                out.append(s)
            last = s is page[-1] and nxt is None
            if len(out) == limit or scanned >= MAX_SCAN:
                return out, None if last else encode_cursor(s.namespace, s.name)
        if nxt is None:
            return out, None
        cursor = nxt


@router.get("/{key}", response_model=ScheduleOut, summary="Get a schedule")
async def get_schedule(
    key: Key, app: Agentcron, who: Reader, namespace: Namespace = None
) -> Response:
    return reply((await visible_schedule(app, who, key, namespace)).to_dict())


@router.patch("/{key}", response_model=ScheduleOut, summary="Change a schedule")
async def update_schedule(
    key: Key, body: SchedulePatch, app: Agentcron, who: Writer, namespace: Namespace = None
) -> Response:
    """Any fields; the next fire time is recomputed when the trigger, its time zone or
    ``enabled`` change."""
    current = await visible_schedule(app, who, key, namespace)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "namespace" in changes:
        changes["namespace"] = who.writable_namespace(changes["namespace"])
    if not changes:
        return reply(current.to_dict())
    schedule = await app.update_schedule(current.id, **changes)
    return reply(schedule.to_dict())


@router.delete("/{key}", status_code=204, response_class=Response, summary="Delete a schedule")
async def delete_schedule(
    key: Key, app: Agentcron, who: Writer, namespace: Namespace = None
) -> Response:
    """Its runs are kept (history)."""
    schedule = await visible_schedule(app, who, key, namespace)
    await app.delete_schedule(schedule.id)
    return Response(status_code=204)


@router.post("/{key}/pause", response_model=ScheduleOut, summary="Pause a schedule")
async def pause(key: Key, app: Agentcron, who: Writer, namespace: Namespace = None) -> Response:
    """``enabled`` becomes false and ``next_run_at`` null until resumed."""
    schedule = await visible_schedule(app, who, key, namespace)
    return reply((await app.pause(schedule.id)).to_dict())


@router.post("/{key}/resume", response_model=ScheduleOut, summary="Resume a schedule")
async def resume(key: Key, app: Agentcron, who: Writer, namespace: Namespace = None) -> Response:
    """Fires again from its next slot after now (missed slots are not caught up)."""
    schedule = await visible_schedule(app, who, key, namespace)
    return reply((await app.resume(schedule.id)).to_dict())


@router.post(
    "/{key}/trigger", status_code=202, response_model=RunOut | FanOutOut, summary="Run now"
)
async def trigger(
    key: Key, app: Agentcron, who: Writer, namespace: Namespace = None,
    body: TriggerNowIn | None = None,
) -> Response:  # fmt: skip
    """Queue a run of the schedule's task now, outside its trigger, with its args (``args``
    in the body: for this run only, an object merged into the schedule's). Answers the run;
    a schedule with ``for_each_subject`` fans out as a firing of it does, one run per
    matching subject, and answers ``{"queued": N, "skipped": K, "runs": [the first 100]}``."""
    schedule = await visible_schedule(app, who, key, namespace)
    args = body.args if body is not None else None
    return reply(_triggered(await app.trigger(schedule.id, args=args)), 202)


def _triggered(done: Run | FannedOut) -> RunOut | FanOutOut:
    if isinstance(done, Run):
        return done.to_dict()
    return {"queued": done.queued, "skipped": done.skipped,
            "runs": [r.to_dict() for r in done.runs[:FANNED_OUT_SHOWN]]}  # fmt: skip


@router.get("/{key}/runs", response_model=RunPage, summary="List a schedule's runs")
async def schedule_runs(
    key: Key,
    app: Agentcron,
    who: Reader,
    namespace: Namespace = None,
    status: RunStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Newest first."""
    schedule = await visible_schedule(app, who, key, namespace)
    runs, nxt = await app.list_runs(schedule=schedule, status=status, limit=limit, cursor=cursor)
    page: RunPage = {"items": [r.to_dict() for r in runs], "next_cursor": nxt}
    return reply(page)


@router.post("/{key}/backfill", status_code=202, response_model=BackfillOut, summary="Backfill")
async def backfill(
    key: Key, body: BackfillIn, app: Agentcron, who: Writer, namespace: Namespace = None
) -> Response:
    """Queue one run per slot of the trigger with ``from <= slot <= to`` (at most 1000).
    A slot that already has a run keeps it: repeating a backfill adds nothing."""
    schedule = await visible_schedule(app, who, key, namespace)
    done = await app.backfill(schedule.id, body.from_, body.to)
    answer: BackfillOut = {
        "slots": [iso(r.scheduled_for or r.available_at) for r in done.runs],
        "created": done.created,
        "runs": [r.to_dict() for r in done.runs],
    }
    return reply(answer, 202)
