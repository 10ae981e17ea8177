"""``agentcron mcp``: the MCP tools over stdin / stdout, acting as one token.

The token is checked when the server starts (a missing, unknown or revoked one is an error
before anything is served) and again at every call, so a token revoked meanwhile stops working
within seconds (`Authenticator` caches for ``cache_s``). Without a token the server runs only
while no token exists at all, acting as ``admin`` in every namespace (what the open API does).
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server

from agentcron.app import App
from agentcron.auth import OPEN, Authenticator, Principal
from agentcron.mcp.access import DEFAULT_MAX_SCHEDULES
from agentcron.mcp.server import build_server
from agentcron.mcp.tools import Toolbox

__all__ = ["check_token", "serve_stdio"]

log = logging.getLogger("agentcron.mcp")


async def check_token(
    app: App, token: str | None, namespace: str | None
) -> tuple[Authenticator, Principal]:
    """The principal of ``token``; raises `Unauthorized` (a token exists and this one is
    missing, unknown or revoked) or `Forbidden` (``namespace`` is not the token's)."""
    auth = Authenticator(app, "auto")
    who = await auth.authenticate(_header(token), app.clock.now())
    who.writable_namespace(namespace)
    return auth, who


async def serve_stdio(
    app: App,
    *,
    token: str | None,
    namespace: str | None = None,
    max_schedules: int = DEFAULT_MAX_SCHEDULES,
) -> None:
    """Serve until stdin closes. ``app``'s store must be open."""
    auth, who = await check_token(app, token, namespace)
    if who is OPEN:
        log.warning("no API token exists: the MCP server acts as admin in every namespace")
    header = _header(token)

    async def identify(ctx: ServerRequestContext[Any]) -> tuple[Principal, str | None]:
        return await auth.authenticate(header, app.clock.now()), namespace

    server = build_server(Toolbox(app, max_schedules=max_schedules), identify)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def _header(token: str | None) -> str | None:
    return f"Bearer {token}" if token else None
