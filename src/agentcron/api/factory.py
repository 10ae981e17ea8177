"""`create_api`: the FastAPI app of one agentcron `App` (state on ``app.state``, no globals)."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from agentcron.api import health, metrics
from agentcron.api.docs_ui import mount_docs
from agentcron.api.errors import ERROR_RESPONSES, install_error_handlers
from agentcron.api.limits import BodyLimit
from agentcron.api.options import AllowOptions
from agentcron.api.routers import (
    activity,
    events,
    parse,
    runs,
    schedules,
    stats,
    tasks,
    tokens,
)
from agentcron.app import App
from agentcron.auth import Authenticator, AuthMode

__all__ = ["create_api"]

_DESCRIPTION = """\
The REST API of [agentcron](https://github.com/agentcron/agentcron): schedules, runs, tasks.

Send `Authorization: Bearer <token>` (`agentcron tokens create`). Errors are
`{"error": {"code", "message", "field"?}}`; lists are `{"items": [...], "next_cursor"}`.
"""


def create_api(
    app: App,
    *,
    auth: AuthMode = "auto",
    health_policy: health.HealthPolicy | None = None,
) -> FastAPI:
    """The API of ``app`` (which the caller opens and runs; see `agentcron.api.lifespan`).

    ``auth``: ``auto`` (default) requires a token once one exists, ``required`` always,
    ``open`` never (only behind something else that authenticates).
    """
    from agentcron._version import __version__

    api = FastAPI(
        title="agentcron",
        version=__version__,
        description=_DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # mount_docs: Swagger UI from this server, not a CDN
        redoc_url=None,
    )
    api.state.agentcron = app
    api.state.auth = Authenticator(app, auth)
    api.state.health = health_policy or health.HealthPolicy()
    api.state.metrics = metrics.Metrics(app, api.state.health)
    install_error_handlers(api)
    api.add_middleware(BodyLimit)
    api.add_middleware(AllowOptions, routes=api.router.routes)  # OPTIONS: 204 with Allow
    for module in (
        runs,
        activity,
        schedules,
        tasks,
        events,
        parse,
        stats,
        tokens,
    ):  # hot paths first
        api.include_router(module.router, responses=ERROR_RESPONSES)
    api.include_router(health.router)
    api.include_router(metrics.router, responses=ERROR_RESPONSES)
    mount_docs(api)  # /docs, loading nothing from another host
    from agentcron.mcp import mount_mcp

    mount_mcp(api, app)  # MCP tools at /mcp (with the `mcp` extra installed)
    from agentcron.dashboard import mount_dashboard  # here: it imports agentcron.api modules

    mount_dashboard(api)  # the dashboard at /
    api.openapi = functools.partial(_openapi, api)  # type: ignore[method-assign]
    return api


def _openapi(api: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the bearer scheme on every operation but ``/healthz`` (the
    header is checked by `Authenticator`, not by a per-request security dependency)."""
    if api.openapi_schema is None:
        schema = get_openapi(
            title=api.title, version=api.version, description=api.description, routes=api.routes
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            "HTTPBearer": {"type": "http", "scheme": "bearer",
                           "description": "An agentcron API token (`ac_...`)."}
        }  # fmt: skip
        for path, operations in schema["paths"].items():
            if path != "/healthz":
                for operation in operations.values():
                    operation["security"] = [{"HTTPBearer": []}]
        api.openapi_schema = schema
    return api.openapi_schema
