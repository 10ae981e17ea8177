"""What routes depend on: the agentcron `App` and the request's `Principal` (from
``app.state``: no module globals), and lookups that hide other namespaces' objects."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from agentcron.app import App
from agentcron.auth import Authenticator, Principal
from agentcron.errors import RunNotFound, ScheduleNotFound
from agentcron.models import Run, Schedule, Scope

__all__ = [
    "Admin",
    "Agentcron",
    "Reader",
    "Writer",
    "visible_run",
    "visible_schedule",
]

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,199}$")


async def _agentcron(request: Request) -> App:
    app: App = request.app.state.agentcron
    return app


Agentcron = Annotated[App, Depends(_agentcron)]


def _needs(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def principal(request: Request) -> Principal:
        auth: Authenticator = request.app.state.auth
        now = request.app.state.agentcron.clock.now()
        who = await auth.authenticate(request.headers.get("authorization"), now)
        who.require(scope)
        return who

    return principal


Reader = Annotated[Principal, Depends(_needs(Scope.READ))]
Writer = Annotated[Principal, Depends(_needs(Scope.WRITE))]
Admin = Annotated[Principal, Depends(_needs(Scope.ADMIN))]


async def visible_schedule(
    app: App, who: Principal, key: str, namespace: str | None = None
) -> Schedule:
    """The schedule named ``key`` (in ``namespace``, else the token's only namespace, else
    ``default``) or with id ``key``; `ScheduleNotFound` when the token cannot see it."""
    if not _KEY.match(key) or (namespace is not None and not _KEY.match(namespace)):
        raise ScheduleNotFound(key)
    schedule = await app.get_schedule(key, namespace=namespace or who.only_namespace())
    if not who.sees(schedule.namespace):
        raise ScheduleNotFound(key)
    return schedule


async def visible_run(app: App, who: Principal, run_id: int) -> Run:
    run = await app.get_run(run_id)
    if not who.sees(run.namespace):
        raise RunNotFound(run_id)
    return run
