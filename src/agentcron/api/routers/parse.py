"""``GET /v1/parse``: what a trigger means and when it fires (nothing is stored)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from agentcron.api.deps import Agentcron, Reader
from agentcron.api.respond import reply
from agentcron.api.schemas import ParseOut
from agentcron.errors import InvalidTimezone, InvalidTrigger, ValidationError
from agentcron.models import iso
from agentcron.triggers import load_zone, next_times, parse_instant

router = APIRouter(prefix="/v1/parse", tags=["parse"])


@router.get("", response_model=ParseOut, summary="Parse a trigger")
async def parse(
    app: Agentcron,
    who: Reader,
    text: Annotated[str, Query(min_length=1, max_length=1000, description="Trigger text.")],
    tz: Annotated[str | None, Query(max_length=100, description="IANA time zone.")] = None,
    after: Annotated[
        str | None, Query(max_length=100, description="List fire times after this (ISO).")
    ] = None,
    count: Annotated[int, Query(ge=0, le=100, description="Fire times to list.")] = 5,
) -> Response:
    """The normalized trigger, its description, its next ``count`` fire times, and who read
    it (``source``): ``grammar``, or ``llm`` for text the grammar does not understand when
    the server has an LLM (``[agentcron.llm]``)."""
    try:
        zone: tzinfo = load_zone(tz) if tz is not None else UTC
    except InvalidTimezone as exc:
        raise ValidationError(exc.message, field="tz") from None
    start = _after(after, zone) if after else app.clock.now()
    try:
        reading = await app.read_trigger(text, timezone=tz, now=start)
    except ValidationError as exc:  # the query names it `text`, whatever part was wrong
        raise InvalidTrigger(str(exc), field="text") from None
    trigger = reading.trigger
    times = next_times(trigger, start, count)
    answer: ParseOut = {
        "trigger": trigger.to_dict(),
        "description": trigger.describe(),
        "next": [iso(t) for t in times],
        "source": reading.source,
    }
    return reply(answer)


def _after(text: str, zone: tzinfo) -> datetime:
    try:
        return parse_instant(text, zone, field="after")
    except InvalidTrigger as exc:
        raise ValidationError(exc.message, field="after") from None
