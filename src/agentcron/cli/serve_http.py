"""The HTTP side of ``agentcron serve``: the API in the same event loop as the scheduler and
workers, and the rule that keeps it from being open to the network by accident."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import typer

from agentcron.app import App
from agentcron.auth import AuthMode
from agentcron.errors import ValidationError

__all__ = [
    "AccessLogOpt",
    "HostOpt",
    "HttpOptions",
    "InsecureOpt",
    "PortOpt",
    "auth_mode",
    "serving",
]

log = logging.getLogger("agentcron.api")

HostOpt = Annotated[
    str,
    typer.Option(metavar="ADDRESS", help="Address the API listens on (0.0.0.0: every interface)."),
]
PortOpt = Annotated[
    int, typer.Option(min=0, max=65535, metavar="N", help="API port (0: any free port).")
]
InsecureOpt = Annotated[
    bool,
    typer.Option(
        "--insecure-no-auth",
        help="Serve on a non-loopback address although no API token exists (anyone who can "
        "reach it may change schedules).",
    ),
]
AccessLogOpt = Annotated[bool, typer.Option("--access-log", help="Log every HTTP request.")]


@dataclass(frozen=True, slots=True)
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    insecure_no_auth: bool = False
    access_log: bool = False


def auth_mode(host: str, has_tokens: bool, insecure_no_auth: bool) -> AuthMode:
    """``auto`` (a token is needed once one exists) on loopback or when asked to be insecure;
    ``required`` elsewhere. Raises `ValidationError` (field ``host``) for a non-loopback
    address without any token, unless ``insecure_no_auth``."""
    from agentcron.api.server import is_loopback

    if is_loopback(host) or insecure_no_auth:
        return "auto"
    if not has_tokens:
        raise ValidationError(
            f"refusing to serve the API on {host} without an API token: create one with "
            "`agentcron tokens create --scope admin`, or pass --insecure-no-auth",
            field="host",
        )
    return "required"


@contextlib.asynccontextmanager
async def serving(app: App, options: HttpOptions | None) -> AsyncIterator[str | None]:
    """Serve the API of ``app`` (already open) while the block runs; yields its URL (None
    when ``options`` is None: no API)."""
    if options is None:
        yield None
        return
    from agentcron.api import ApiServer, create_api

    has_tokens = await app.has_tokens()
    mode = auth_mode(options.host, has_tokens, options.insecure_no_auth)
    server = ApiServer(
        create_api(app, auth=mode), options.host, options.port, access_log=options.access_log
    )
    gc.collect()
    gc.freeze()  # start-up objects (modules, app, routes) stay out of every later collection
    await server.start()
    if not has_tokens:
        log.warning(
            "the API at %s is open: no API token exists (create one with "
            "`agentcron tokens create --scope admin`; then every request needs one)",
            server.url,
        )
    try:
        yield server.url
    finally:
        await server.stop()
