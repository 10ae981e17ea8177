"""Tokens, scopes and namespaces: 401 without a valid token once one exists, 403 for a scope
that does not allow the request, 404 for another namespace's objects; admin manages tokens.
The last tests go over a real socket (uvicorn on a free loopback port)."""

from __future__ import annotations

import httpx
import pytest

from agentcron import App
from agentcron.auth import Authenticator, Principal, hash_secret
from agentcron.errors import ValidationError
from agentcron.models import Scope

from .conftest import Mint


async def test_open_while_no_token_exists(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/schedules")).status_code == 200
    r = await client.post("/v1/runs", json={"task": "hello"})
    assert r.status_code == 202


async def test_once_a_token_exists_every_request_needs_one(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    headers = await mint("read")
    for method, path in (("GET", "/v1/schedules"), ("GET", "/v1/runs"), ("GET", "/metrics"),
                         ("POST", "/v1/runs"), ("GET", "/v1/tokens")):  # fmt: skip
        r = await client.request(method, path, json={"task": "hello"})
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/v1/schedules", headers=headers)).status_code == 200
    assert (await client.get("/healthz")).status_code == 200  # no token needed


@pytest.mark.parametrize(
    "value", ["Bearer ac_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "ac_nobearer", "Bearer nope"]
)
async def test_bad_tokens_are_401(client: httpx.AsyncClient, mint: Mint, value: str) -> None:
    await mint("admin")
    r = await client.get("/v1/runs", headers={"Authorization": value})
    assert r.status_code == 401


async def test_unauthenticated_bad_body_is_401_not_422(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    await mint("write")
    r = await client.post("/v1/schedules", json={"nonsense": True})
    assert r.status_code == 401


async def test_read_token_cannot_write(client: httpx.AsyncClient, mint: Mint) -> None:
    read = await mint("read")
    write = await mint("write")
    r = await client.post(
        "/v1/schedules", json={"task": "hello", "trigger": "@daily"}, headers=read
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert (await client.post("/v1/runs", json={"task": "hello"}, headers=read)).status_code == 403
    assert (
        await client.post("/v1/activity", json={"subject": "u:1"}, headers=read)
    ).status_code == 403
    r = await client.post(
        "/v1/schedules", json={"task": "hello", "trigger": "@daily"}, headers=write
    )
    assert r.status_code == 201
    assert (await client.delete("/v1/schedules/hello", headers=read)).status_code == 403
    assert (await client.get("/v1/schedules/hello", headers=read)).status_code == 200
    assert (await client.get("/v1/tokens", headers=write)).status_code == 403


async def test_namespace_isolation(client: httpx.AsyncClient, mint: Mint) -> None:
    alpha = await mint("write", ["alpha"])
    beta = await mint("write", ["beta"])
    everyone = await mint("read", ["*"])
    body = {"task": "hello", "trigger": "manual", "name": "job"}
    s = (await client.post("/v1/schedules", json=body, headers=alpha)).json()
    assert s["namespace"] == "alpha"  # the token's only namespace is the default
    run = (await client.post(f"/v1/schedules/{s['id']}/trigger", headers=alpha)).json()
    # beta cannot see alpha's schedule or run: 404 (not 403), by id or by name
    for path in (f"/v1/schedules/{s['id']}", "/v1/schedules/job", f"/v1/runs/{run['id']}",
                 "/v1/schedules/job?namespace=alpha"):  # fmt: skip
        r = await client.get(path, headers=beta)
        assert r.status_code == 404, path
    for path in (f"/v1/schedules/{s['id']}/pause", f"/v1/runs/{run['id']}/cancel"):
        assert (await client.post(path, headers=beta)).status_code == 404
    assert (await client.delete(f"/v1/schedules/{s['id']}", headers=beta)).status_code == 404
    assert (await client.get("/v1/schedules", headers=beta)).json()["items"] == []
    assert (await client.get("/v1/runs", headers=beta)).json()["items"] == []
    r = await client.get("/v1/runs", params={"namespace": "alpha"}, headers=beta)
    assert r.status_code == 403
    # beta cannot create in alpha either
    body = {"task": "hello", "trigger": "manual", "namespace": "alpha", "name": "x"}
    r = await client.post("/v1/schedules", json=body, headers=beta)
    assert (r.status_code, r.json()["error"]["field"]) == (403, "namespace")
    r = await client.patch(f"/v1/schedules/{s['id']}", json={"namespace": "beta"}, headers=alpha)
    assert r.status_code == 403
    # a token for every namespace sees both
    assert len((await client.get("/v1/schedules", headers=everyone)).json()["items"]) == 1
    stats = (await client.get("/v1/stats", headers=alpha)).json()
    assert (stats["namespace"], stats["schedules"]) == ("alpha", 1)
    assert (await client.get("/v1/stats", headers=beta)).json()["schedules"] == 0


async def test_token_of_several_namespaces_names_one_to_list(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    both = await mint("write", ["alpha", "beta"])
    r = await client.get("/v1/runs", headers=both)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "namespace")
    assert (await client.get("/v1/runs?namespace=beta", headers=both)).status_code == 200


async def test_admin_manages_tokens(client: httpx.AsyncClient, mint: Mint) -> None:
    admin = await mint("admin", ["*"], name="root")
    body = {"scope": "read", "namespaces": ["alpha"], "name": "ci"}
    r = await client.post("/v1/tokens", json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["token"].startswith("ac_")
    assert len(created["token"]) > 40
    assert (created["scope"], created["namespaces"], created["name"]) == ("read", ["alpha"], "ci")
    new = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/v1/runs", headers=new)).status_code == 200
    listed = (await client.get("/v1/tokens", headers=admin)).json()["items"]
    assert {t["name"] for t in listed} == {"root", "ci"}
    assert all("token" not in t and "hash" not in t for t in listed)
    assert (await client.delete(f"/v1/tokens/{created['id']}", headers=admin)).status_code == 204
    assert (await client.get("/v1/runs", headers=new)).status_code == 401
    assert (await client.delete("/v1/tokens/nope", headers=admin)).status_code == 404
    bad = await client.post("/v1/tokens", json={"scope": "root"}, headers=admin)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "scope")


async def test_namespaced_admin_grants_only_its_namespaces(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    admin = await mint("admin", ["alpha"])
    other = await mint("read", ["beta"])
    ok = await client.post(
        "/v1/tokens", json={"scope": "write", "namespaces": ["alpha"]}, headers=admin
    )
    assert ok.status_code == 201
    for namespaces in (["beta"], ["*"], ["alpha", "beta"]):
        r = await client.post("/v1/tokens", json={"scope": "read", "namespaces": namespaces},
                              headers=admin)  # fmt: skip
        assert r.status_code == 403, namespaces
    ids = [t["id"] for t in (await client.get("/v1/tokens", headers=admin)).json()["items"]]
    assert len(ids) == 2  # its own and the one it made, not beta's
    del other


async def test_last_used_is_recorded(client: httpx.AsyncClient, mint: Mint, ac: App) -> None:
    headers = await mint("read")
    await client.get("/v1/runs", headers=headers)
    secret = headers["Authorization"].split()[1]
    token = await ac.store.find_token(hash_secret(secret))
    assert token is not None
    assert token.last_used_at == ac.clock.now()


async def test_authenticator_caches_and_forgets(ac: App, mint: Mint) -> None:
    auth = Authenticator(ac)
    assert (await auth.authenticate(None, ac.clock.now())).scope is Scope.ADMIN  # open
    headers = await mint("read")
    assert (await auth.authenticate(None, ac.clock.now())).scope is Scope.ADMIN  # cached
    auth.forget()
    who = await auth.authenticate(headers["Authorization"], ac.clock.now())
    assert (who.scope, who.namespaces) == (Scope.READ, ("default",))


def test_principal_rules() -> None:
    p = Principal(Scope.WRITE, ("a", "b"))
    assert p.sees("a")
    assert not p.sees("c")
    assert p.writable_namespace("b") == "b"
    with pytest.raises(ValidationError):
        p.listing_namespace(None)
    assert Principal(Scope.READ, ("a",)).writable_namespace(None) == "a"
    assert Principal(Scope.READ, ("*",)).listing_namespace(None) is None
    assert Scope.ADMIN.allows(Scope.WRITE)
    assert not Scope.READ.allows(Scope.WRITE)


# -- over a real socket --------------------------------------------------------------------------
async def test_auth_over_a_real_socket(live: str, mint: Mint) -> None:
    async with httpx.AsyncClient(base_url=live) as http:
        assert (await http.get("/v1/tasks")).status_code == 200  # open: no token yet
        write = await mint("write")
        await mint("read")
        r = await http.get("/v1/tasks")
        assert r.status_code in (200, 401)  # the "any token?" answer is cached for seconds
        r = await http.post("/v1/runs", json={"task": "hello"}, headers=write)
        assert r.status_code == 202
        assert (
            await http.get("/v1/runs", headers={"Authorization": "Bearer ac_x"})
        ).status_code == 401


async def test_smoke_over_a_real_socket(live: str) -> None:
    async with httpx.AsyncClient(base_url=live) as http:
        s = await http.post("/v1/schedules", json={"task": "report", "trigger": "every day at 7"})
        assert s.status_code == 201
        assert (await http.get(f"/v1/schedules/{s.json()['id']}")).json()["name"] == "report"
        assert (await http.post("/v1/runs", json={"task": "hello"})).status_code == 202
        assert (await http.get("/v1/runs")).json()["items"][0]["task"] == "hello"
        assert (await http.get("/healthz")).json()["status"] in ("healthy", "degraded")
        assert "agentcron_runs" in (await http.get("/metrics")).text
        schema = (await http.get("/openapi.json")).json()
        assert "/v1/schedules/{key}/backfill" in schema["paths"]
        assert (await http.get("/nowhere")).json()["error"]["code"] == "not_found"
        r = await http.put("/v1/runs")
        assert (r.status_code, r.json()["error"]["code"]) == (405, "method_not_allowed")
