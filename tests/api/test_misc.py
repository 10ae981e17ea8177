"""``/v1/tasks``, ``/v1/parse``, ``/v1/stats``, ``/v1/workers``, ``/v1/activity``, OpenAPI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from agentcron import App
from agentcron.models import WorkerInfo


async def test_tasks(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/tasks")
    assert r.status_code == 200
    items = r.json()["items"]
    names = [t["name"] for t in items]
    assert names == sorted(names)
    # module-level tasks of modules other tests imported are listed too (every App has them)
    ours = [t for t in items if t["name"] in {"boom", "hello", "report"}]
    assert [t["name"] for t in ours] == ["boom", "hello", "report"]
    assert ours[1]["queue"] == "default"


async def test_parse(client: httpx.AsyncClient) -> None:
    params: dict[str, Any] = {"text": "every weekday at 9am", "tz": "Europe/Berlin",
              "after": "2030-01-04T00:00:00Z", "count": 3}  # fmt: skip
    r = await client.get("/v1/parse", params=params)
    assert r.status_code == 200
    assert r.json() == {
        "trigger": {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
        "description": "At 09:00 on Monday through Friday (Europe/Berlin)",
        "next": ["2030-01-04T08:00:00.000Z", "2030-01-07T08:00:00.000Z",
                 "2030-01-08T08:00:00.000Z"],
        "source": "grammar",
    }  # fmt: skip
    default = (await client.get("/v1/parse", params={"text": "every 5m"})).json()
    assert default["next"][0] == "2030-01-07T12:05:00.000Z"  # after the app clock's now


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"text": "every blue moon"}, "text"),
        ({"text": "every 0s"}, "text"),
        ({"text": "0 9 * * *", "tz": "Nowhere/Land"}, "tz"),
        ({"text": "0 9 * * *", "after": "yesterday-ish"}, "after"),
        ({"text": "0 9 * * *", "count": 5000}, "count"),
        ({}, "text"),
    ],
)
async def test_parse_errors(client: httpx.AsyncClient, params: dict[str, Any], field: str) -> None:
    r = await client.get("/v1/parse", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


async def test_stats(client: httpx.AsyncClient) -> None:
    await client.post("/v1/schedules", json={"task": "hello", "trigger": "@daily"})
    await client.post("/v1/runs", json={"task": "hello"})
    r = await client.get("/v1/stats")
    body = r.json()
    assert body["runs_by_status"] == {"queued": 1}
    assert (body["schedules"], body["schedules_enabled"], body["workers"]) == (1, 1, 0)
    assert body["oldest_queued_at"] == "2030-01-07T12:00:00.000Z"


async def test_workers(client: httpx.AsyncClient, ac: App) -> None:
    now = ac.clock.now()
    for worker_id, ago in (("fresh", 1), ("stale", 3600)):
        await ac.store.register_worker(
            WorkerInfo(id=worker_id, host="h", pid=1, queues=["default"], concurrency=2,
                       started_at=now - timedelta(hours=2),
                       last_heartbeat_at=now - timedelta(seconds=ago))
        )  # fmt: skip
    items = (await client.get("/v1/workers")).json()["items"]
    assert {w["id"]: w["alive"] for w in items} == {"fresh": True, "stale": False}


async def test_activity(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/activity", json={"subject": "user:42"})
    assert r.status_code == 200, r.text
    assert (r.json()["subject"], r.json()["message_count"]) == ("user:42", 1)
    r = await client.post("/v1/activity", json={"subject": "user:42", "kind": "login"})
    assert r.json()["message_count"] == 1
    for body, field in (({"subject": ""}, "subject"),
                        ({"subject": "u", "kind": "Bad Kind"}, "kind"),
                        ({"kind": "message"}, "subject")):  # fmt: skip
        bad = await client.post("/v1/activity", json=body)
        assert (bad.status_code, bad.json()["error"]["field"]) == (422, field)


async def test_openapi_documents_our_shapes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/v1/tasks", "/v1/schedules", "/v1/schedules/{key}", "/v1/schedules/{key}/pause",
                 "/v1/schedules/{key}/resume", "/v1/schedules/{key}/trigger",
                 "/v1/schedules/{key}/runs", "/v1/schedules/{key}/backfill", "/v1/runs",
                 "/v1/runs/{run_id}", "/v1/runs/{run_id}/cancel", "/v1/runs/{run_id}/retry",
                 "/v1/parse", "/v1/stats", "/v1/workers", "/v1/tokens", "/v1/activity",
                 "/v1/events", "/v1/events/stream",
                 "/healthz", "/metrics"):  # fmt: skip
        assert path in paths, path
    create = paths["/v1/schedules"]["post"]
    assert "201" in create["responses"]
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert paths["/v1/runs"]["post"]["responses"]["202"]
    assert "204" in paths["/v1/schedules/{key}"]["delete"]["responses"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"task": "hello", "args": {"x": "' + b"y" * (2 * 1024 * 1024) + b'"}}'
    r = await client.post("/v1/runs", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 65536

    r = await client.post(
        "/v1/runs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert (await client.get("/v1/runs")).json()["items"] == []
