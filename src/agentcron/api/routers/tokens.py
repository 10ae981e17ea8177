"""``/v1/tokens`` (admin scope): list, create (the secret is in the answer, once), revoke.

An admin token bound to some namespaces sees and makes only tokens within them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from agentcron.api.deps import Admin, Agentcron
from agentcron.api.respond import reply
from agentcron.api.schemas import TokenCreated, TokenIn, TokenList
from agentcron.auth import Authenticator, Principal
from agentcron.errors import Forbidden, TokenNotFound
from agentcron.models import ApiToken

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


def _within(who: Principal, token: ApiToken) -> bool:
    return who.all_namespaces or all(who.sees(ns) for ns in token.namespaces)


@router.get("", response_model=TokenList, summary="List tokens")
async def list_tokens(app: Agentcron, who: Admin) -> Response:
    """Revoked ones too; never a secret."""
    answer: TokenList = {"items": [t.to_dict() for t in await app.list_tokens() if _within(who, t)]}
    return reply(answer)


@router.post("", status_code=201, response_model=TokenCreated, summary="Create a token")
async def create(body: TokenIn, app: Agentcron, who: Admin) -> Response:
    """The answer holds the secret (``token``); it is not stored and cannot be shown again."""
    for ns in body.namespaces:
        if not who.sees(ns) or (ns == "*" and not who.all_namespaces):
            raise Forbidden(f"this token cannot grant namespace {ns!r}", field="namespaces")
    token, secret = await app.create_token(
        scope=body.scope, namespaces=body.namespaces, name=body.name
    )
    created: TokenCreated = {**token.to_dict(), "token": secret}
    return reply(created, 201)


@router.delete("/{token_id}", status_code=204, response_class=Response, summary="Revoke")
async def revoke(
    token_id: Annotated[str, Path(max_length=100)], request: Request, app: Agentcron, who: Admin
) -> Response:
    """Requests with the token are refused from now on."""
    tokens = {t.id: t for t in await app.list_tokens()}
    if token_id not in tokens or not _within(who, tokens[token_id]):
        raise TokenNotFound(token_id)
    await app.revoke_token(token_id)
    auth: Authenticator = request.app.state.auth
    auth.forget()
    return Response(status_code=204)
