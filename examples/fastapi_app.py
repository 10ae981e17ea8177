"""agentcron inside an existing FastAPI app: one process serves your routes, the agentcron API
under /agentcron, and runs the scheduler and a worker.

    pip install 'agentcron' uvicorn
    uvicorn examples.fastapi_app:web

Then ``curl localhost:8000/agentcron/v1/schedules`` (open while no token exists; create one
with ``agentcron --db sqlite:///example.db tokens create --scope admin``).
"""

from __future__ import annotations

from fastapi import FastAPI

import agentcron
from agentcron.api import mount

jobs = agentcron.App("sqlite:///example.db")


@jobs.task(retries=3)
async def send_digest(channel: str = "email") -> str:
    return f"digest sent by {channel}"


jobs.schedule(send_digest, "every weekday at 9am", timezone="Europe/Berlin", name="digest")

web = FastAPI(title="my app")
mount(web, jobs, prefix="/agentcron")  # the agentcron API, and jobs running with `web`


@web.post("/signup/{user_id}")
async def signup(user_id: str) -> dict[str, int]:
    """Your own route, queueing background work."""
    run = await jobs.enqueue(send_digest, {"channel": "welcome"}, subject=f"user:{user_id}")
    return {"run": run.id}


# Without the agentcron API, only the jobs:  web = FastAPI(lifespan=jobs.lifespan())
