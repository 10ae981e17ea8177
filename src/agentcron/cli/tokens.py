"""``agentcron tokens create|list|revoke``: API tokens (the secret is printed once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentcron.cli import _render as r
from agentcron.cli._common import ConfigOpt, DbOpt, JsonOpt, admin_app, echo_json, run
from agentcron.cli._help import Command

__all__ = ["app"]

app = typer.Typer(
    help="Create, list and revoke API tokens.", no_args_is_help=True, rich_markup_mode=None
)


@app.command(cls=Command)
def create(
    scope: Annotated[
        str,
        typer.Option(
            metavar="read|write|admin",
            help="read (reads only), write (changes schedules and runs), or admin.",
        ),
    ],
    namespace: Annotated[
        list[str] | None,
        typer.Option(
            "--namespace",
            "-n",
            metavar="NAME",
            show_default=False,
            help="Namespace it may use (repeat; '*' = all; default: default).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(metavar="LABEL", show_default=False, help="A label, e.g. who uses it."),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a token and print its secret.

    The secret is shown only now: the database keeps a hash of it.
    """
    run(_create(scope, namespace or ["default"], name, db, config, json_out))


async def _create(scope: str, namespaces: list[str], name: str | None, db: str | None,
                  config: Path | None, json_out: bool) -> None:  # fmt: skip
    async with admin_app(db, config, create=True) as a:
        token, secret = await a.create_token(scope=scope, namespaces=namespaces, name=name)
    if json_out:
        echo_json(token.to_dict() | {"token": secret})
        return
    typer.echo(secret)
    typer.echo(
        f"token {token.id} ({token.scope.value}; namespaces {', '.join(token.namespaces)}): "
        "keep the secret above, it is not shown again",
        err=True,
    )


@app.command("list", cls=Command)
def list_(db: DbOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List tokens (never their secrets)."""
    run(_list(db, config, json_out))


async def _list(db: str | None, config: Path | None, json_out: bool) -> None:
    async with admin_app(db, config) as a:
        tokens = await a.list_tokens()
        now = a.clock.now()
    if json_out:
        echo_json({"items": [t.to_dict() for t in tokens]})
        return
    grid = r.Grid((r.Col("id"), r.Col("name", flex=True), r.Col("scope"),
                   r.Col("namespaces", drop=1), r.Col("created", drop=3),
                   r.Col("last used", drop=2), r.Col("state")))  # fmt: skip
    for t in tokens:
        state = "active" if t.active else f"revoked {r.relative(t.revoked_at, now)}"
        used = r.relative(t.last_used_at, now)
        grid.add_row(t.id, t.name or "-", t.scope.value, ", ".join(t.namespaces),
                     r.relative(t.created_at, now), used, state)  # fmt: skip
    grid.print("no tokens")


@app.command(cls=Command)
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="Token id (from `tokens list`).")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke a token.

    Requests with it are refused (within seconds on running servers).
    """
    run(_revoke(token_id, db, config))


async def _revoke(token_id: str, db: str | None, config: Path | None) -> None:
    async with admin_app(db, config) as a:
        token = await a.revoke_token(token_id)
    typer.echo(f"revoked token {token.id} ({token.name or token.scope.value})")
