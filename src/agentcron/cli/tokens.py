"""``agentcron tokens create|list|revoke``: API tokens (the secret is printed once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentcron.auth import create_token
from agentcron.cli import _render as r
from agentcron.cli._common import ConfigOpt, DbOpt, JsonOpt, admin_app, echo_json, run
from agentcron.clock import utcnow

__all__ = ["app"]

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@app.command()
def create(
    scope: Annotated[
        str, typer.Option(help="read (reads only), write (changes schedules/runs), or admin.")
    ],
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Namespace it may use (repeat; '*' = all)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label, e.g. who uses it.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a token and print its secret (only now: the store keeps a hash)."""
    run(_create(scope, namespace or ["default"], name, db, config, json_out))


async def _create(scope: str, namespaces: list[str], name: str | None, db: str | None,
                  config: Path | None, json_out: bool) -> None:  # fmt: skip
    async with admin_app(db, config) as a:
        token, secret = await create_token(
            a.store, scope=scope, namespaces=namespaces, name=name, now=utcnow()
        )
    if json_out:
        echo_json(token.to_dict() | {"token": secret})
        return
    typer.echo(secret)
    typer.echo(
        f"token {token.id} ({token.scope.value}; namespaces {', '.join(token.namespaces)}): "
        "keep the secret above, it is not shown again",
        err=True,
    )


@app.command("list")
def list_(db: DbOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List tokens (never their secrets)."""
    run(_list(db, config, json_out))


async def _list(db: str | None, config: Path | None, json_out: bool) -> None:
    async with admin_app(db, config) as a:
        tokens = await a.store.list_tokens()
    if json_out:
        echo_json({"items": [t.to_dict() for t in tokens]})
        return
    now = utcnow()
    grid = r.table("id", "name~", "scope", "namespaces~", "created", "last used", "state")
    for t in tokens:
        state = "active" if t.active else f"revoked {r.relative(t.revoked_at, now)}"
        used = r.relative(t.last_used_at, now)
        grid.add_row(t.id, t.name or "-", t.scope.value, ", ".join(t.namespaces),
                     r.relative(t.created_at, now), used, state)  # fmt: skip
    r.console().print(grid if tokens else "no tokens")


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="Token id (from `tokens list`).")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke a token: requests with it are refused (within seconds on running servers)."""
    run(_revoke(token_id, db, config))


async def _revoke(token_id: str, db: str | None, config: Path | None) -> None:
    async with admin_app(db, config) as a:
        token = await a.store.revoke_token(token_id, utcnow())
    typer.echo(f"revoked token {token.id} ({token.name or token.scope.value})")
