"""The MCP server, on the official SDK's low-level `Server`: lists the tools of
`agentcron.mcp.tools` and answers each call with JSON text.

A result is the tool's JSON (also as ``structuredContent`` when it is an object). A refusal
or bad input is a tool error (``isError``) whose text is the REST error shape,
``{"error": {"code", "message", "field"?}}``, so that the model reads what to fix.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from agentcron.auth import Principal
from agentcron.errors import (
    AgentcronError,
    RunNotFound,
    ScheduleExists,
    ScheduleNotFound,
    TaskNotFound,
    ValidationError,
)
from agentcron.mcp.tools import Toolbox, ToolSpec
from agentcron.models import Scope

__all__ = ["INSTRUCTIONS", "Identify", "build_server", "error_payload"]

log = logging.getLogger("agentcron.mcp")

Identify = Callable[[ServerRequestContext[Any]], Awaitable[tuple[Principal, str | None]]]
"""Who makes a request (its token) and in which namespace (None: the token's only one)."""

INSTRUCTIONS = """\
agentcron runs tasks on schedules. To schedule something: preview_trigger first (it shows \
when it would fire), confirm with the user, then create_schedule. Your token decides what you \
may do (read, write or admin), which namespace you work in, and how many schedules you may own. \
Errors come back as {"error": {"code", "message", "field"}}: fix the named argument and retry."""

_FIELDS: tuple[tuple[type[AgentcronError], str], ...] = (
    (ScheduleNotFound, "name"),
    (ScheduleExists, "name"),
    (RunNotFound, "id"),
    (TaskNotFound, "task"),
)


def build_server(box: Toolbox, identify: Identify) -> Server[Any]:
    """A server for ``box``; ``identify`` tells who makes a request and where."""
    from agentcron._version import __version__

    tools = [_describe(tool) for tool in box.tools.values()]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            who, namespace = await identify(ctx)
            result = await box.call(params.name, params.arguments, who, namespace)
        except AgentcronError as exc:
            return _result(error_payload(exc), error=True)
        except Exception:
            log.exception("MCP tool %s failed", params.name)
            error = {"code": "internal_error", "message": "internal error (logged by the server)"}
            return _result({"error": error}, error=True)
        return _result(result)

    return Server(
        "agentcron",
        version=__version__,
        title="agentcron",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def error_payload(exc: AgentcronError) -> dict[str, Any]:
    """``{"error": {"code", "message", "field"?}}``; the message names the field too."""
    field = _field_of(exc)
    message = exc.message
    if field is not None and isinstance(exc, ValidationError):
        message = str(exc)  # "trigger: ..."
    error: dict[str, Any] = {"code": _snake(type(exc).__name__), "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _field_of(exc: AgentcronError) -> str | None:
    for kind, name in _FIELDS:
        if isinstance(exc, kind):
            return name
    field = getattr(exc, "field", None)
    return field if isinstance(field, str) else None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _result(data: Any, *, error: bool = False) -> types.CallToolResult:
    text = json.dumps(data, ensure_ascii=False, default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=data if isinstance(data, dict) else None,
        is_error=error,
    )


def _describe(tool: ToolSpec) -> types.Tool:
    read_only = tool.scope is Scope.READ
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema,
        annotations=types.ToolAnnotations(
            title=tool.title,
            read_only_hint=read_only,
            destructive_hint=tool.destructive,
            idempotent_hint=read_only,
            open_world_hint=False,
        ),
    )
