"""The dashboard's routes and `mount_dashboard`, which adds them to an API from `create_api`.

State lives on the FastAPI app (``api.state.dashboard``: the Jinja environment), never in
module globals. Pages are rendered with autoescape on, and sent with a Content-Security-Policy
that allows only this server's own script and stylesheet.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from agentcron.api.deps import Reader
from agentcron.app import App
from agentcron.auth import Authenticator, Principal
from agentcron.dashboard.format import FILTERS
from agentcron.dashboard.view import gather
from agentcron.errors import StoreError, Unauthorized

__all__ = ["Dashboard", "mount_dashboard", "router"]

_HERE = Path(__file__).parent
STATIC_PATH = "/dashboard/static"
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


class Dashboard:
    """The templates of one API (kept on ``api.state.dashboard``)."""

    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS)

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)


def mount_dashboard(api: FastAPI) -> None:
    """Serve the dashboard at ``/`` of ``api`` (made by `create_api`: it reads the App, the
    authenticator and the health policy from ``api.state``)."""
    api.state.dashboard = Dashboard()
    api.include_router(router)
    api.mount(STATIC_PATH, StaticFiles(directory=_HERE / "static"), name="dashboard-static")


@router.get("/", response_class=HTMLResponse)
async def page(request: Request) -> Response:
    """The page, with its panels filled in when no token is needed; else the token form (the
    script then loads the panels with the token)."""
    app: App = request.app.state.agentcron
    auth: Authenticator = request.app.state.auth
    try:
        who: Principal | None = await auth.authenticate(None, app.clock.now())
    except Unauthorized:
        who = None
    panels = None
    if who is not None:
        with contextlib.suppress(StoreError):  # the page still loads; its script says why
            panels = await gather(app, who, request.app.state.health)
    return _html(request, "index.html", panels=panels, needs_token=who is None)


@router.get("/dashboard/panels", response_class=HTMLResponse)
async def panels(request: Request, who: Reader) -> Response:
    """The panels alone (an HTML fragment of ``<section id=...>`` elements); 401 without a
    valid token when one is needed, as every API route."""
    app: App = request.app.state.agentcron
    return _html(request, "panels.html", panels=await gather(app, who, request.app.state.health))


def _html(request: Request, template: str, **context: Any) -> Response:
    from agentcron._version import __version__

    dashboard: Dashboard = request.app.state.dashboard
    base = str(request.scope.get("root_path", "")).rstrip("/")
    body = dashboard.render(
        template, base=base, static=base + STATIC_PATH, version=__version__, **context
    )
    return HTMLResponse(body, headers=_HEADERS)
