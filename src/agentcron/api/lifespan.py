"""Run agentcron inside an existing FastAPI (or Starlette) app.

``FastAPI(lifespan=agentcron.api.lifespan(jobs))`` opens the store and runs the scheduler and
a worker for as long as the web app runs; `mount` also serves the agentcron API under a
prefix, chaining its lifespan before the web app's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from agentcron.app import App, lifespan
from agentcron.auth import AuthMode

__all__ = ["lifespan", "mount"]


def mount(
    web: FastAPI,
    app: App,
    prefix: str = "/agentcron",
    *,
    auth: AuthMode = "auto",
    scheduler: bool = True,
    worker: bool = True,
) -> FastAPI:
    """Serve the agentcron API of ``app`` under ``prefix`` of ``web`` and run ``app`` (store,
    scheduler, worker) with ``web``'s lifespan. Returns the mounted API."""
    from agentcron.api.factory import create_api

    api = create_api(app, auth=auth)
    web.mount(prefix, api)
    original = web.router.lifespan_context
    ours = lifespan(app, scheduler=scheduler, worker=worker)

    @contextlib.asynccontextmanager
    async def both(asgi_app: Any) -> AsyncIterator[Any]:
        async with ours(asgi_app), original(asgi_app) as state:
            yield state

    web.router.lifespan_context = both
    return api
