"""`AllowOptions`: ``OPTIONS`` on a path of the API answers ``204`` with an ``Allow`` header
listing the methods the path takes (RFC 9110, 9.3.7); a path no route takes is a ``404``.

No token is needed: the answer tells only what the OpenAPI document tells. A CORS preflight
(``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) belongs to a
``CORSMiddleware`` added around the API (``api.add_middleware(CORSMiddleware, ...)``): it
answers the preflight before this middleware sees it, and adds its headers to this answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["AllowOptions", "allowed_methods"]

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_STATIC = frozenset({"GET", "HEAD"})


class AllowOptions:
    """Answers ``OPTIONS`` for the routes of ``routes`` (the API's router's, read per request:
    routes added after the middleware count too)."""

    def __init__(self, app: ASGIApp, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        methods = allowed_methods(self.routes, scope)
        if not methods:  # no route takes the path (a 404), or one answers OPTIONS itself
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> frozenset[str]:
    """The methods a request to ``scope``'s path is routed with: for each method, whether a
    route takes it (the router's own matching, so routers included in others count). Empty
    when none does, or when a route takes ``OPTIONS`` itself (it answers), or the path is
    under a mount other than static files (the mounted app answers)."""
    routes = list(routes)
    found: set[str] = set()
    for method in ("OPTIONS", *_METHODS):
        route = _route_for(routes, scope, method)
        if route is None:
            continue
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            found.update(_STATIC & {method})
        elif method == "OPTIONS" or isinstance(route, Mount):
            return frozenset()  # it answers OPTIONS itself / takes any method: its call
        else:
            found.add(method)
    return frozenset(found)


def _route_for(routes: list[BaseRoute], scope: Scope, method: str) -> BaseRoute | None:
    """The first route that fully matches ``scope`` with ``method`` (the one that would
    handle it), or None."""
    probe = {**scope, "method": method}
    for route in routes:
        match, _ = route.matches(probe)
        if match is Match.FULL:
            return route
    return None
