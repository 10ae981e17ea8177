"""``POST /v1/activity``: record a subject's activity (messages count towards ``messages``
triggers; any activity resets ``idle`` ones)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import AwareDatetime, Field, Strict
from starlette.responses import Response

from agentcron.api.deps import Agentcron, Writer
from agentcron.api.respond import reply
from agentcron.api.schemas import In, Name, Subject, SubjectOut

router = APIRouter(prefix="/v1/activity", tags=["activity"])


class ActivityIn(In):
    subject: Subject
    kind: Annotated[str, Strict(), Field(min_length=1, max_length=32)] = "message"
    namespace: Name | None = None
    at: AwareDatetime | None = Field(
        default=None,
        description="When it happened (default: now): from 2000-01-01, and at most 5 minutes "
        "after the server's time (clock skew); otherwise a 422 naming `at`.",
    )


@router.post("", response_model=SubjectOut, summary="Record activity")
async def record_activity(body: ActivityIn, app: Agentcron, who: Writer) -> Response:
    """Returns the subject as recorded (last activity, message count)."""
    namespace = who.writable_namespace(body.namespace)
    subject = await app.record_activity(body.subject, body.kind, namespace=namespace, at=body.at)
    return reply(subject.to_dict())
