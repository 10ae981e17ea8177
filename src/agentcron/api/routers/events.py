"""``/v1/events``: publish an event (it may fire ``event`` schedules), and follow events as
Server-Sent Events, resuming after ``Last-Event-ID`` (or ``?after=``) without losing any.

"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import Field, Strict
from starlette.responses import Response, StreamingResponse

from agentcron.api.deps import Agentcron, Reader, Writer
from agentcron.api.respond import reply
from agentcron.api.schemas import EventOut, In, Name, Subject
from agentcron.auth import Principal
from agentcron.errors import ValidationError
from agentcron.events import Subscription
from agentcron.models import Event

router = APIRouter(prefix="/v1/events", tags=["events"])

KEEPALIVE_S = 15.0


class EventIn(In):
    type: Annotated[str, Strict(), Field(min_length=1, max_length=200, examples=["user.signup"])]
    data: dict[str, Any] | None = None
    subject: Subject | None = None
    namespace: Name | None = None


@router.post("", status_code=202, response_model=EventOut, summary="Publish an event")
async def publish(body: EventIn, app: Agentcron, who: Writer) -> Response:
    """Stored durably; ``event`` schedules whose pattern matches fire (in the same
    transaction). Answers the stored event."""
    namespace = who.writable_namespace(body.namespace)
    published = await app.publish(
        body.type, body.data or {}, subject=body.subject, namespace=namespace
    )
    return reply(published.to_dict(), 202)


@router.get(
    "/stream",
    summary="Follow events (SSE)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream(
    app: Agentcron,
    who: Reader,
    pattern: Annotated[str, Query(max_length=200, description="Glob on the type.")] = "*",
    namespace: Annotated[str | None, Query(max_length=200)] = None,
    after: Annotated[int | None, Query(ge=0, description="Resume after this event id.")] = None,
    last_event_id: Annotated[str | None, Header(max_length=30)] = None,
) -> StreamingResponse:
    """``id:`` is the event id, ``event:`` its type, ``data:`` the event as JSON. A client
    that reconnects with ``Last-Event-ID`` gets every event after it. Without either, only
    events published from now on."""
    ns = who.listing_namespace(namespace)
    start = _resume_point(after, last_event_id)
    subscription = app.subscribe(pattern, after=start, namespace=ns)
    await subscription.start()  # a bad pattern is a 422 now, not a broken stream
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _sse(subscription, who), media_type="text/event-stream", headers=headers
    )


def _resume_point(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        value = int(last_event_id)
    except ValueError:
        raise ValidationError("must be an event id", field="last-event-id") from None
    if value < 0:
        raise ValidationError("must be an event id", field="last-event-id")
    return value


async def _sse(subscription: Subscription, who: Principal) -> AsyncIterator[bytes]:
    """The stream: events as they come, a comment line every `KEEPALIVE_S` meanwhile (the
    pending read is kept across keep-alives, never cancelled half-way)."""
    yield b"retry: 2000\n\n"
    events = aiter(subscription)
    pending: asyncio.Future[Event] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_S)
            if not done:
                yield b": keep-alive\n\n"
                continue
            event, pending = pending.result(), None
            if who.sees(event.namespace):
                data = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":"))
                yield f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()
    except StopAsyncIteration:
        return
    finally:
        if pending is not None:
            pending.cancel()
        with contextlib.suppress(Exception):
            await subscription.aclose()
