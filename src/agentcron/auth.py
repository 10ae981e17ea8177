"""API tokens: scopes, namespaces, secrets stored hashed, and checking a request's bearer token.

A token is created by the CLI (``agentcron tokens create``) or by an admin token through the
API. Its secret (``ac_`` + 43 URL-safe characters from `secrets.token_urlsafe`) is shown once;
the store keeps only its SHA-256. Scopes are ordered ``read`` < ``write`` < ``admin``:

- ``read`` reads schedules, runs, tasks, stats, metrics;
- ``write`` also changes schedules and runs, records activity and publishes events;
- ``admin`` also manages tokens.

A token is bound to namespaces (``*``: all of them) and sees nothing outside them: another
namespace's schedule or run does not exist for it (HTTP 404, not 403).

`Authenticator` turns an ``Authorization`` header into a `Principal`, looking tokens up in a
`TokenBook` (the `App`). In ``auto`` mode the API is open while no (unrevoked) token exists;
``required`` refuses every request without a valid token; ``open`` never asks for one.

A stored token is an `agentcron.models.ApiToken`; the errors (`Unauthorized`, `Forbidden`,
`TokenNotFound`) are in `agentcron.errors`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from agentcron.errors import Forbidden, TokenNotFound, Unauthorized, ValidationError
from agentcron.models import ApiToken, Scope
from agentcron.specs import check_name

__all__ = [
    "ALL_NAMESPACES",
    "OPEN",
    "SECRET_PREFIX",
    "ApiToken",
    "AuthMode",
    "Authenticator",
    "Principal",
    "Scope",
    "TokenBook",
    "TokenNotFound",
    "check_namespaces",
    "hash_secret",
    "new_secret",
    "new_token",
    "parse_scope",
]
# ApiToken, Scope (agentcron.models) and TokenNotFound (agentcron.errors) are named here too
# for code written against their earlier home.

SECRET_PREFIX = "ac_"
ALL_NAMESPACES = "*"
AuthMode = Literal["auto", "required", "open"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a token's scope and namespaces (``token_id`` None: open API)."""

    scope: Scope
    namespaces: tuple[str, ...]
    token_id: str | None = None

    @classmethod
    def of(cls, token: ApiToken) -> Principal:
        return cls(token.scope, token.namespaces, token.id)

    @property
    def all_namespaces(self) -> bool:
        return ALL_NAMESPACES in self.namespaces

    def sees(self, namespace: str) -> bool:
        return self.all_namespaces or namespace in self.namespaces

    def only_namespace(self) -> str | None:
        """The one namespace this principal is bound to, or None (several, or all)."""
        if not self.all_namespaces and len(self.namespaces) == 1:
            return self.namespaces[0]
        return None

    def require(self, needed: Scope) -> None:
        if not self.scope.allows(needed):
            raise Forbidden(
                f"this token has scope {self.scope.value!r}; {needed.value!r} is needed"
            )

    def writable_namespace(self, given: str | None) -> str:
        """The namespace a new object goes to: ``given``, else the token's only namespace,
        else ``default``. Raises `Forbidden` (field ``namespace``) outside the token's."""
        namespace = given if given is not None else (self.only_namespace() or "default")
        check_name(namespace, "namespace")
        if not self.sees(namespace):
            raise Forbidden(f"this token cannot use namespace {namespace!r}", field="namespace")
        return namespace

    def listing_namespace(self, given: str | None) -> str | None:
        """The namespace filter of a listing: ``given`` (must be visible), else the token's
        only namespace, else None (all) for a token that sees every namespace."""
        if given is not None:
            check_name(given, "namespace")
            if not self.sees(given):
                raise Forbidden(f"this token cannot see namespace {given!r}", field="namespace")
            return given
        if self.all_namespaces:
            return None
        only = self.only_namespace()
        if only is None:
            raise ValidationError(
                f"this token spans several namespaces: give one ({', '.join(self.namespaces)})",
                field="namespace",
            )
        return only


OPEN = Principal(Scope.ADMIN, (ALL_NAMESPACES,))


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scope(value: Any) -> Scope:
    try:
        return Scope(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not one of: read, write, admin", field="scope"
        ) from None


def check_namespaces(values: Iterable[Any]) -> tuple[str, ...]:
    """Namespace names (or ``*``), without duplicates, in the order given; at least one."""
    out: list[str] = []
    for value in values:
        name = value if value == ALL_NAMESPACES else check_name(value, "namespaces")
        if name not in out:
            out.append(name)
    if not out:
        raise ValidationError("give at least one namespace (or '*')", field="namespaces")
    if len(out) > 100:
        raise ValidationError("at most 100 namespaces", field="namespaces")
    return tuple(out)


def new_token(
    *, scope: Any, namespaces: Iterable[Any], name: str | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token, checked (`ValidationError` naming the field), and its secret. Only the
    secret's hash is stored (`App.create_token`); the secret is shown once."""
    label = "" if name is None else str(name)
    if len(label) > 200 or "\x00" in label:
        raise ValidationError("at most 200 characters", field="name")
    token = ApiToken(
        id=uuid.uuid4().hex[:12],
        name=label,
        scope=parse_scope(scope),
        namespaces=check_namespaces(namespaces),
        created_at=now,
    )
    return token, new_secret()


class TokenBook(Protocol):
    """Where an `Authenticator` looks tokens up: the `App` (or its store)."""

    async def has_tokens(self) -> bool: ...
    async def find_token(self, token_hash: str) -> ApiToken | None: ...
    async def touch_token(self, token_id: str, now: datetime) -> None: ...


class Authenticator:
    """Checks bearer tokens against ``tokens``, with a short cache so that a request costs one
    hash and one dict lookup. A token revoked elsewhere stops working within ``cache_s``;
    `forget` drops the cache at once (revocation through this process)."""

    def __init__(
        self,
        tokens: TokenBook,
        mode: AuthMode = "auto",
        *,
        cache_s: float = 5.0,
        touch_every: timedelta = timedelta(minutes=1),
    ) -> None:
        if mode not in ("auto", "required", "open"):
            raise ValidationError(f"{mode!r} is not one of: auto, required, open", field="auth")
        self.tokens = tokens
        self.mode: AuthMode = mode
        self.cache_s = cache_s
        self.touch_every = touch_every
        self._cache: dict[str, tuple[float, ApiToken | None]] = {}
        self._any: tuple[float, bool] | None = None

    async def required(self) -> bool:
        """Whether requests need a token now (``auto``: whether an active token exists)."""
        if self.mode != "auto":
            return self.mode == "required"
        now = time.monotonic()
        if self._any is None or now - self._any[0] > self.cache_s:
            self._any = (now, await self.tokens.has_tokens())
        return self._any[1]

    async def authenticate(self, authorization: str | None, now: datetime) -> Principal:
        """The principal of a request with this ``Authorization`` header value; raises
        `Unauthorized` when a token is needed and this one is missing, unknown or revoked."""
        if authorization is None or not authorization.strip():
            if await self.required():
                raise Unauthorized()
            return OPEN
        scheme, _, secret = authorization.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        if self.mode == "open":
            return OPEN
        token = await self._lookup(secret)
        if token is None or not token.active:
            raise Unauthorized("unknown or revoked token")
        if token.last_used_at is None or now - token.last_used_at >= self.touch_every:
            await self.tokens.touch_token(token.id, now)
            self._remember(hash_secret(secret), _touched(token, now))
        return Principal.of(token)

    def forget(self) -> None:
        self._cache.clear()
        self._any = None

    async def _lookup(self, secret: str) -> ApiToken | None:
        if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
            return None
        digest = hash_secret(secret)
        hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[0] <= self.cache_s:
            return hit[1]
        token = await self.tokens.find_token(digest)  # looked up by hash: no timing oracle
        self._remember(digest, token)
        return token

    def _remember(self, digest: str, token: ApiToken | None) -> None:
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic(), token)


def _touched(token: ApiToken, now: datetime) -> ApiToken:
    return replace(token, last_used_at=now)
