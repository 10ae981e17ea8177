"""``agentcron mcp``: the MCP tools over stdio, for an LLM agent's MCP client.

A client config (Claude Desktop, an agent framework...) runs it as a command::

    {"command": "agentcron", "args": ["mcp", "--db", "sqlite:///agentcron.db"],
     "env": {"AGENTCRON_TOKEN": "ac_..."}}
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from agentcron.cli._common import ConfigOpt, DbOpt, admin_app, run
from agentcron.errors import Unauthorized, ValidationError
from agentcron.mcp.access import DEFAULT_MAX_SCHEDULES

__all__ = ["mcp"]


def mcp(
    token: Annotated[
        str | None,
        typer.Option(
            envvar="AGENTCRON_TOKEN",
            metavar="TOKEN",
            help="API token the agent acts as (`agentcron tokens create`); prefer the env "
            "var, which other users of the machine cannot see. Needed once any token exists.",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            metavar="NAME",
            help="Namespace to act in (default: the token's only one, else 'default').",
            show_default=False,
        ),
    ] = None,
    max_schedules: Annotated[
        int,
        typer.Option(
            min=0, max=100_000, metavar="N", help="Schedules one token may own through MCP."
        ),
    ] = DEFAULT_MAX_SCHEDULES,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the MCP tools to an LLM agent over stdin/stdout.

    The tools preview, create and manage schedules and runs, acting as one API token. The
    config's task modules are imported, so that enqueue_run knows their tasks.
    """
    run(_serve(token, namespace, max_schedules, db, config))


async def _serve(token: str | None, namespace: str | None, max_schedules: int,
                 db: str | None, config: Path | None) -> None:  # fmt: skip
    from agentcron.mcp import available

    if not available():
        raise ValidationError("the MCP server needs the MCP SDK 2: pip install 'agentcron[mcp]'")
    from agentcron.mcp.stdio import check_token, serve_stdio

    async with contextlib.AsyncExitStack() as stack:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the protocol
            app = await stack.enter_async_context(admin_app(db, config, tasks=True, create=True))
        try:
            await check_token(app, token, namespace)
        except Unauthorized as exc:
            reason = "unknown or revoked" if token else "required (--token or AGENTCRON_TOKEN)"
            raise ValidationError(f"an API token is {reason}", field="token") from exc
        await serve_stdio(app, token=token, namespace=namespace, max_schedules=max_schedules)
