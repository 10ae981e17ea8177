"""``GET /v1/tasks``: the tasks runs and schedules can name (registered by some process)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from agentcron.api.deps import Agentcron, Reader
from agentcron.api.respond import reply
from agentcron.api.schemas import TaskList

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("", response_model=TaskList, summary="List tasks")
async def list_tasks(app: Agentcron, who: Reader) -> Response:
    """Tasks registered in this process and those other processes recorded in the store."""
    answer: TaskList = {"items": await app.list_tasks()}
    return reply(answer)
