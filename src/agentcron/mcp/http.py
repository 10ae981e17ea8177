"""The MCP tools over streamable HTTP, at ``/mcp`` of the REST API (``agentcron serve``).

Every request needs what the API needs: ``Authorization: Bearer <token>`` once a token exists
(checked by the API's `Authenticator`, before the SDK sees the request: a missing or bad token
is an HTTP 401, not a session). Each tool call then acts as the token of the request that
carries it, in the namespace of the URL's ``?namespace=`` (``/mcp?namespace=team-b``), else the
token's only namespace, else ``default``.

The SDK's session manager runs stateless with JSON answers: the tools never call back into the
client, so nothing has to live between requests and any number of ``serve`` processes can
answer. It needs a task group for as long as it serves; the API's lifespan is not run under
``serve`` nor when the API is mounted in another app, so the endpoint starts the manager on
its first request, in a task that `McpEndpoint.aclose` (or the end of the event loop) stops.
The SDK is imported then too, so that an API without MCP traffic does not pay for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from agentcron.app import App
from agentcron.auth import Authenticator, Principal
from agentcron.errors import StoreError, Unauthorized
from agentcron.mcp.access import DEFAULT_MAX_SCHEDULES

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

__all__ = ["McpEndpoint"]

_CHATTY_LOGGERS = ("mcp.server.streamable_http", "mcp.server.streamable_http_manager")


class McpEndpoint:
    """An ASGI app: the MCP endpoint of ``app``, checking tokens with ``auth``."""

    def __init__(
        self, app: App, auth: Authenticator, *, max_schedules: int = DEFAULT_MAX_SCHEDULES
    ) -> None:
        self.app = app
        self.auth = auth
        self.max_schedules = max_schedules
        self._manager: StreamableHTTPSessionManager | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        refusal = await self._refusal(_authorization(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        manager = await self._started()
        await manager.handle_request(scope, receive, send)

    async def aclose(self) -> None:
        """Stop the session manager (requests in flight are cancelled)."""
        self._stop.set()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)

    async def _refusal(self, authorization: str | None) -> Any:
        from agentcron.api.errors import error_response

        try:
            await self.auth.authenticate(authorization, self.app.clock.now())
        except Unauthorized as exc:
            return error_response(
                401, "unauthorized", exc.message, **{"WWW-Authenticate": "Bearer"}
            )
        except StoreError as exc:
            return error_response(503, "store_unavailable", exc.message)
        return None

    async def _identify(self, ctx: ServerRequestContext[Any]) -> tuple[Principal, str | None]:
        """The token of the HTTP request that carries the call, and ``?namespace=``."""
        request = ctx.request
        headers = getattr(request, "headers", None)
        authorization = headers.get("authorization") if headers is not None else None
        who = await self.auth.authenticate(authorization, self.app.clock.now())
        query = getattr(request, "query_params", None)
        return who, query.get("namespace") if query is not None else None

    async def _started(self) -> StreamableHTTPSessionManager:
        if self._manager is None:
            self._manager = self._make_manager()
            self._runner = asyncio.create_task(self._run(self._manager), name="agentcron-mcp")
        await self._ready.wait()
        if self._runner is None or self._runner.done():
            raise RuntimeError("the MCP session manager is not running")
        return self._manager

    def _make_manager(self) -> StreamableHTTPSessionManager:
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        from agentcron.mcp.server import build_server
        from agentcron.mcp.tools import Toolbox

        for name in _CHATTY_LOGGERS:  # a line per request at INFO: unless configured, quieter
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.WARNING)
        box = Toolbox(self.app, max_schedules=self.max_schedules)
        server = build_server(box, self._identify)
        return StreamableHTTPSessionManager(server, json_response=True, stateless=True)

    async def _run(self, manager: StreamableHTTPSessionManager) -> None:
        try:
            async with manager.run():
                self._ready.set()
                await self._stop.wait()
        finally:
            self._ready.set()  # wake the requests waiting for a start that failed


def _authorization(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            text: str = value.decode("latin-1")
            return text
    return None
