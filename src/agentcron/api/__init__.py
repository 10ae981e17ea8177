"""The REST API: `create_api` builds the FastAPI app of an agentcron `App`; `lifespan` and
`mount` run agentcron inside an existing FastAPI app; `ApiServer` serves it with uvicorn in
the current event loop (what ``agentcron serve`` does).

    from fastapi import FastAPI
    import agentcron
    from agentcron.api import mount

    jobs = agentcron.App("sqlite:///agentcron.db")
    web = FastAPI()
    mount(web, jobs, prefix="/agentcron")   # API under /agentcron/v1/...; runs with `web`
"""

from __future__ import annotations

from agentcron.api.factory import create_api
from agentcron.api.lifespan import lifespan, mount
from agentcron.api.server import ApiServer

__all__ = ["ApiServer", "create_api", "lifespan", "mount"]
