"""agentcron as an MCP server: tools with which an LLM agent manages its own schedules and runs.

Built on the official SDK (``pip install 'agentcron[mcp]'``), over two transports:

- stdio, ``agentcron mcp --db URL --token TOKEN`` (`agentcron.mcp.stdio`);
- streamable HTTP at ``/mcp`` of the API under ``agentcron serve`` (`agentcron.mcp.http`),
  the token from each request's ``Authorization: Bearer`` header.

The tools (`agentcron.mcp.tools`): ``preview_trigger``, ``create_schedule``,
``list_schedules``, ``pause_schedule``, ``resume_schedule``, ``delete_schedule``,
``enqueue_run``, ``get_run``, ``list_runs``, ``record_activity``. Each acts with its token's
scope (``read`` tokens only read), in one namespace (objects of others are not found), and
schedules made through MCP are owned by their token, which may own at most ``max_schedules``
of them (`agentcron.mcp.access`).

This package does not import the SDK itself: `mount_mcp` only looks for it (the first request
to ``/mcp`` imports it), so that the API starts as fast as without it.
"""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

from agentcron.mcp.access import DEFAULT_MAX_SCHEDULES

if TYPE_CHECKING:
    from fastapi import FastAPI

    from agentcron.app import App

__all__ = ["DEFAULT_MAX_SCHEDULES", "available", "mount_mcp"]


def available() -> bool:
    """Whether the MCP SDK (the ``mcp`` extra: version 2) is installed."""
    try:
        major = importlib.metadata.version("mcp").split(".")[0]
    except importlib.metadata.PackageNotFoundError:
        return False
    return major.isdigit() and int(major) >= 2


def mount_mcp(
    api: FastAPI,
    app: App,
    *,
    path: str = "/mcp",
    max_schedules: int = DEFAULT_MAX_SCHEDULES,
) -> bool:
    """Serve the MCP tools of ``app`` at ``path`` of ``api`` (made by `create_api`: tokens
    are checked by its ``state.auth``). Does nothing and returns False without the SDK.
    The endpoint is ``api.state.mcp`` (`McpEndpoint`; ``await api.state.mcp.aclose()``)."""
    if not available():
        return False
    from starlette.routing import Route

    from agentcron.mcp.http import McpEndpoint

    endpoint = McpEndpoint(app, api.state.auth, max_schedules=max_schedules)
    api.state.mcp = endpoint
    methods = ["GET", "POST", "DELETE"]  # the streamable HTTP transport's (OPTIONS: Allow)
    api.router.routes.append(Route(path, endpoint, methods=methods, include_in_schema=False))
    return True
