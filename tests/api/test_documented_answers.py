"""Every route's actual answers match what ``/openapi.json`` documents for them.

The API sends the models' ``to_dict()`` shapes (encoded once, never passed through a response
model), so nothing but this test holds what is sent against what is documented. Each
documented operation is called over a real socket, for a success and for an error, and each
answer must have a documented status, the documented content type, and (JSON) a body valid
against the documented schema, with no key the schema does not name (the response shapes
forbid extra keys) and times in ISO 8601.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from agentcron import App, RunContext
from agentcron.agents.approval import wait_for_approval
from agentcron.api import ApiServer, create_api
from agentcron.clock import ManualClock
from agentcron.models import WorkerInfo

from .conftest import START, make_app

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone")
    return True


@dataclass
class Checker:
    """Calls the API and checks each answer against the API's own OpenAPI document."""

    http: httpx.AsyncClient
    spec: dict[str, Any]
    seen: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    async def call(self, method: str, route: str, status: int, path: str | None = None,
                   **kwargs: Any) -> Any:  # fmt: skip
        """``method`` on ``route`` (the documented path; ``path``: the concrete one),
        expecting ``status``; returns the JSON body (None for others)."""
        response = await self.http.request(method, path or route, **kwargs)
        assert response.status_code == status, (method, path or route, response.text)
        return self.check(method, route, response)

    def check(self, method: str, route: str, response: httpx.Response) -> Any:
        status = str(response.status_code)
        operation = self.spec["paths"][route][method.lower()]
        assert status in operation["responses"], f"{method} {route}: {status} not documented"
        kind = "success" if response.is_success else "error"
        self.seen.setdefault((method, route), set()).add(kind)
        content = operation["responses"][status].get("content", {})
        if not content:
            assert not response.content, f"{method} {route}: a body where none is documented"
            return None
        media = response.headers["content-type"].split(";")[0]
        assert media in content, f"{method} {route} {status}: {media} is not documented"
        if media != "application/json":
            return None
        body = response.json()
        schema = {**content[media]["schema"], "components": self.spec["components"]}
        validator = jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(body)
        ]
        assert not problems, f"{method} {route} {status} does not match /openapi.json: {problems}"
        return body


@pytest.fixture
async def checker(tmp_path: Path) -> AsyncIterator[tuple[Checker, App, ManualClock]]:
    clock = ManualClock(START)
    app = make_app(f"sqlite:///{tmp_path / 'documented.db'}", clock)
    server = ApiServer(create_api(app), "127.0.0.1", 0)
    async with app, server, httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        spec = (await http.get("/openapi.json")).json()
        yield Checker(http, spec), app, clock


async def test_every_route_answers_as_documented(
    checker: tuple[Checker, App, ManualClock],
) -> None:
    c, app, clock = checker
    _, secret = await app.create_token(scope="admin", namespaces=["*"], name="docs")
    admin = {"Authorization": f"Bearer {secret}"}
    _, written = await app.create_token(scope="write", namespaces=["default"])
    writer = {"Authorization": f"Bearer {written}"}
    await c.call("GET", "/healthz", 200)
    await _work_done(app)
    await _schedules(c, admin)
    await _runs(c, admin)
    await _registry(c, admin, writer, app)
    await _events(c, admin)
    await _errors_anywhere(c, admin)
    clock.advance(3600)  # the runs queued above have waited an hour: critical
    report = await c.call("GET", "/healthz", 503)
    assert report["status"] == "critical", report
    documented = {
        (method.upper(), path)
        for path, operations in c.spec["paths"].items()
        for method in operations
    }
    missing = {
        f"{method} {path}: {kind}"
        for method, path in documented
        for kind in ("success", "error")
        if kind not in c.seen.get((method, path), set())
    }
    assert not missing, f"routes whose answers this test does not check: {sorted(missing)}"


async def _work_done(app: App) -> None:
    """A succeeded run with a result, a dead one with an error, one waiting for a person's
    approval of a proposed tool call, a registered worker."""

    @app.task()
    async def propose(*, ctx: RunContext) -> None:
        await wait_for_approval(ctx, "send_message", {"to": "user:1", "text": "hi"})

    await app.enqueue("hello", {"name": "docs"})
    await app.enqueue("boom")
    waiting = await app.enqueue("propose")
    await app.run(burst=True, scheduler=False, announce=False)
    call = (await app.get_run(waiting.id)).to_dict()["waiting_for"]
    assert call is not None
    assert call.get("call") == {"tool": "send_message", "args": {"to": "user:1", "text": "hi"}}
    now = app.clock.now()
    await app.store.register_worker(
        WorkerInfo(id="docs:1", host="docs", pid=1, queues=["default"], concurrency=4,
                   started_at=now, last_heartbeat_at=now)
    )  # fmt: skip


async def _schedules(c: Checker, h: dict[str, str]) -> None:
    new = {"task": "hello", "trigger": "every 5m", "name": "docs", "limit": "3 per day"}
    await c.call("POST", "/v1/schedules", 201, json=new, headers=h)
    await c.call("POST", "/v1/schedules", 409, json=new, headers=h)
    fan = {"task": "report", "trigger": "@daily", "name": "fan", "for_each_subject": True}
    await c.call("POST", "/v1/schedules", 201, json=fan, headers=h)
    await c.call("GET", "/v1/schedules", 200, headers=h)
    await c.call("GET", "/v1/schedules", 422, path="/v1/schedules?limit=0", headers=h)
    one = "/v1/schedules/{key}"
    await c.call("GET", one, 200, path="/v1/schedules/docs", headers=h)
    await c.call("GET", one, 404, path="/v1/schedules/nothing", headers=h)
    await c.call("PATCH", one, 200, path="/v1/schedules/docs", json={"retries": 2}, headers=h)
    await c.call("PATCH", one, 422, path="/v1/schedules/docs", json={"retries": -1}, headers=h)
    for verb in ("pause", "resume"):
        route = f"/v1/schedules/{{key}}/{verb}"
        await c.call("POST", route, 200, path=f"/v1/schedules/docs/{verb}", headers=h)
        await c.call("POST", route, 404, path=f"/v1/schedules/nothing/{verb}", headers=h)
    trigger = "/v1/schedules/{key}/trigger"
    await c.call("POST", trigger, 202, path="/v1/schedules/docs/trigger", headers=h)
    await c.call("POST", "/v1/activity", 200, json={"subject": "user:1"}, headers=h)
    fanned = await c.call("POST", trigger, 202, path="/v1/schedules/fan/trigger", headers=h)
    assert fanned["queued"] == 1, fanned
    await c.call("POST", trigger, 404, path="/v1/schedules/nothing/trigger", headers=h)
    runs = "/v1/schedules/{key}/runs"
    await c.call("GET", runs, 200, path="/v1/schedules/docs/runs", headers=h)
    await c.call("GET", runs, 404, path="/v1/schedules/nothing/runs", headers=h)
    backfill = "/v1/schedules/{key}/backfill"
    window = {"from": "2030-01-07T09:00:00Z", "to": "2030-01-07T09:30:00Z"}
    done = await c.call("POST", backfill, 202, path="/v1/schedules/docs/backfill", json=window,
                        headers=h)  # fmt: skip
    assert done["created"] == len(done["runs"]) > 0, done
    reversed_window = {"from": window["to"], "to": window["from"]}
    await c.call("POST", backfill, 422, path="/v1/schedules/docs/backfill",
                 json=reversed_window, headers=h)  # fmt: skip
    await c.call("DELETE", one, 204, path="/v1/schedules/fan", headers=h)
    await c.call("DELETE", one, 404, path="/v1/schedules/fan", headers=h)


async def _runs(c: Checker, h: dict[str, str]) -> None:
    run = await c.call("POST", "/v1/runs", 202, json={"task": "hello"}, headers=h)
    await c.call("POST", "/v1/runs", 422, json={"task": "nope"}, headers=h)
    listed = await c.call("GET", "/v1/runs", 200, headers=h)
    assert {r["status"] for r in listed["items"]} >= {"succeeded", "dead", "queued"}, listed
    await c.call("GET", "/v1/runs", 422, path="/v1/runs?status=bogus", headers=h)
    one, path = "/v1/runs/{run_id}", f"/v1/runs/{run['id']}"
    await c.call("GET", one, 200, path=path, headers=h)
    await c.call("GET", one, 404, path="/v1/runs/999999", headers=h)
    signal = one + "/signals/{name}"
    sent = await c.call("POST", signal, 202, path=path + "/signals/approve",
                        json={"approved": True}, headers=h)  # fmt: skip
    assert (sent["status"], sent["steps"]) == ("queued", []), sent
    await c.call("POST", signal, 404, path="/v1/runs/999999/signals/approve", headers=h)
    await c.call("POST", one + "/cancel", 200, path=path + "/cancel", headers=h)
    await c.call("POST", one + "/cancel", 409, path=path + "/cancel", headers=h)
    await c.call("POST", signal, 409, path=path + "/signals/approve", headers=h)
    await c.call("POST", one + "/retry", 202, path=path + "/retry", headers=h)
    await c.call("POST", one + "/retry", 409, path=path + "/retry", headers=h)


async def _registry(c: Checker, admin: dict[str, str], writer: dict[str, str], app: App) -> None:
    for route in ("/v1/tasks", "/v1/workers", "/v1/stats", "/metrics"):
        await c.call("GET", route, 200, headers=admin)
        await c.call("GET", route, 401)
    workers = await c.call("GET", "/v1/workers", 200, headers=admin)
    assert workers["items"], workers
    await c.call("GET", "/v1/parse", 200, path="/v1/parse?text=every%205m", headers=admin)
    await c.call("GET", "/v1/parse", 422, path="/v1/parse?text=bogus", headers=admin)
    await c.call("GET", "/v1/tokens", 200, headers=admin)
    await c.call("GET", "/v1/tokens", 403, headers=writer)
    made = await c.call("POST", "/v1/tokens", 201, json={"scope": "read"}, headers=admin)
    await c.call("POST", "/v1/tokens", 422, json={"scope": "god"}, headers=admin)
    one = "/v1/tokens/{token_id}"
    await c.call("DELETE", one, 204, path=f"/v1/tokens/{made['id']}", headers=admin)
    await c.call("DELETE", one, 404, path="/v1/tokens/nothing", headers=admin)
    await c.call("POST", "/v1/activity", 422, json={"subject": ""}, headers=admin)


async def _events(c: Checker, h: dict[str, str]) -> None:
    await c.call("POST", "/v1/events", 202, json={"type": "user.signup"}, headers=h)
    await c.call("POST", "/v1/events", 422, json={"type": "Not A Type"}, headers=h)
    route = "/v1/events/stream"
    async with c.http.stream("GET", route, params={"after": 0}, headers=h) as stream:
        assert stream.status_code == 200
        c.check("GET", route, stream)
        first = await asyncio.wait_for(anext(stream.aiter_lines()), 10)
        assert first.startswith("retry:"), first
    await c.call("GET", route, 422, path=f"{route}?after=-1", headers=h)


async def _errors_anywhere(c: Checker, h: dict[str, str]) -> None:
    """The errors a route cannot tell from another: a malformed body, one over 1 MiB."""
    await c.call("POST", "/v1/runs", 400, content=b"{", headers=h | _JSON)
    big = b'{"task": "' + b"x" * (2 << 20) + b'"}'
    await c.call("POST", "/v1/runs", 413, content=big, headers=h | _JSON)


_JSON = {"Content-Type": "application/json"}
