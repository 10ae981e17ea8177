"""``/v1/runs``: enqueue (202), list with filters and cursor, get, cancel, retry."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentcron import App


async def enqueue(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("task", "hello")
    r = await client.post("/v1/runs", json=body)
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_enqueue_answers_202_with_the_run(client: httpx.AsyncClient) -> None:
    run = await enqueue(client, args={"name": "ada"}, subject="user:42", priority=3,
                        retries=2, timeout="30s")  # fmt: skip
    assert run["status"] == "queued"
    assert (run["task"], run["args"], run["subject"]) == ("hello", {"name": "ada"}, "user:42")
    assert (run["priority"], run["max_attempts"], run["attempts"]) == (3, 3, 0)
    assert run["queued_at"] == "2030-01-07T12:00:00.000Z"
    assert (await client.get(f"/v1/runs/{run['id']}")).json() == run


async def test_enqueue_with_delay_or_at(client: httpx.AsyncClient) -> None:
    assert (await enqueue(client, delay="1h"))["available_at"] == "2030-01-07T13:00:00.000Z"
    at = await enqueue(client, at="2030-02-01T10:00:00+01:00")
    assert at["available_at"] == "2030-02-01T09:00:00.000Z"


async def test_dedup_key_answers_the_existing_run(client: httpx.AsyncClient) -> None:
    first = await enqueue(client, dedup_key="welcome:42")
    second = await enqueue(client, dedup_key="welcome:42", args={"name": "other"})
    assert second["id"] == first["id"]
    assert len((await client.get("/v1/runs")).json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "nope"}, "task"),
        ({}, "task"),
        ({"task": "hello", "args": "not an object"}, "args"),
        ({"task": "hello", "args": {"big": "x" * 70_000}}, "args"),
        ({"task": "hello", "priority": 10**12}, "priority"),
        ({"task": "hello", "retries": -1}, "retries"),
        ({"task": "hello", "delay": "whenever"}, "delay"),
        ({"task": "hello", "at": "2030-01-01T00:00:00"}, "at"),
        ({"task": "hello", "subject": "x" * 300}, "subject"),
        ({"task": "hello", "subject": "bad\u0000subject"}, "subject"),
        ({"task": "hello", "namespace": "bad ns"}, "namespace"),
        ({"task": "hello", "surprise": True}, "surprise"),
    ],
)
async def test_invalid_enqueue_is_422_and_stores_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    r = await client.post("/v1/runs", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert (await client.get("/v1/runs")).json()["items"] == []


async def test_list_filters_and_cursor(client: httpx.AsyncClient) -> None:
    ids = []
    for i in range(9):
        run = await enqueue(client, task="hello" if i % 2 else "report", subject=f"user:{i % 3}")
        ids.append(run["id"])
    page = (await client.get("/v1/runs", params={"limit": 4})).json()
    assert [r["id"] for r in page["items"]] == ids[::-1][:4]
    rest = (
        await client.get("/v1/runs", params={"limit": 10, "cursor": page["next_cursor"]})
    ).json()
    assert [r["id"] for r in rest["items"]] == ids[::-1][4:]
    assert rest["next_cursor"] is None
    hello = (await client.get("/v1/runs", params={"task": "hello"})).json()["items"]
    assert {r["task"] for r in hello} == {"hello"}
    assert len(hello) == 4
    user1 = (await client.get("/v1/runs", params={"subject": "user:1"})).json()["items"]
    assert [r["id"] for r in user1] == [ids[7], ids[4], ids[1]]
    queued = (await client.get("/v1/runs", params={"status": "queued"})).json()["items"]
    assert len(queued) == 9
    bad = await client.get("/v1/runs", params={"status": "sleeping"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "status"


async def test_list_by_schedule_name(client: httpx.AsyncClient) -> None:
    await client.post("/v1/schedules", json={"task": "hello", "trigger": "manual", "name": "m"})
    run = (await client.post("/v1/schedules/m/trigger")).json()
    await enqueue(client)
    items = (await client.get("/v1/runs", params={"schedule": "m"})).json()["items"]
    assert [r["id"] for r in items] == [run["id"]]
    assert (await client.get("/v1/runs", params={"schedule": "nope"})).status_code == 404


@pytest.mark.parametrize("run_id", ["999", "0", "-3", str(2**70)])
async def test_unknown_run_is_404(client: httpx.AsyncClient, run_id: str) -> None:
    for method, path in (("GET", ""), ("POST", "/cancel"), ("POST", "/retry")):
        r = await client.request(method, f"/v1/runs/{run_id}{path}")
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "run_not_found"
    assert (await client.get("/v1/runs/abc")).status_code == 422


async def test_cancel_then_retry(client: httpx.AsyncClient) -> None:
    run = await enqueue(client)
    r = await client.post(f"/v1/runs/{run['id']}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    again = await client.post(f"/v1/runs/{run['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_run_state"
    r = await client.post(f"/v1/runs/{run['id']}/retry")
    assert r.status_code == 202
    assert r.json()["status"] == "queued"
    assert (await client.post(f"/v1/runs/{run['id']}/retry")).status_code == 409


async def test_dead_run_is_retried(client: httpx.AsyncClient, ac: App) -> None:
    run = await enqueue(client, task="boom")
    await ac.run(burst=True, scheduler=False)
    dead = (await client.get(f"/v1/runs/{run['id']}")).json()
    assert dead["status"] == "dead"
    assert dead["error"]["type"] == "RuntimeError"
    retried = (await client.post(f"/v1/runs/{run['id']}/retry")).json()
    assert (retried["status"], retried["max_attempts"]) == ("queued", 2)
    await ac.run(burst=True, scheduler=False)
    assert (await client.get(f"/v1/runs/{run['id']}")).json()["attempts"] == 2


async def test_finished_run_shape(client: httpx.AsyncClient, ac: App) -> None:
    run = await enqueue(client, args={"name": "x"})
    await ac.run(burst=True, scheduler=False)
    done = (await client.get(f"/v1/runs/{run['id']}")).json()
    assert (done["status"], done["result"], done["attempts"]) == ("succeeded", "hello x", 1)
    assert done["worker"]
    assert done["started_at"]
    assert done["finished_at"]
