"""``/v1/schedules``: CRUD, status codes, shapes, pagination, PATCH recomputing the next
fire time, pause / resume / trigger / runs, backfill (idempotent)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentcron.clock import ManualClock

SCHEDULE_KEYS = {
    "id", "name", "namespace", "task", "trigger", "description", "args", "enabled",
    "next_run_at", "last_run_at", "misfire", "overlap", "retries", "timeout", "priority",
    "created_at", "updated_at",
}  # fmt: skip
RUN_KEYS = {
    "id", "task", "schedule_id", "subject", "status", "args", "attempts", "scheduled_for",
    "queued_at", "started_at", "finished_at", "result", "error", "worker",
}  # fmt: skip


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("task", "hello")
    body.setdefault("trigger", "every 5m")
    r = await client.post("/v1/schedules", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    assert data.pop("trigger_source") == "grammar"  # only in the create answer
    return data


async def test_create_with_natural_language_and_timezone(client: httpx.AsyncClient) -> None:
    s = await create(client, name="digest", trigger="every weekday at 9am",
                     timezone="Europe/Berlin", args={"name": "ada"})  # fmt: skip
    assert set(s) >= SCHEDULE_KEYS
    assert s["trigger"] == {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
    assert s["description"] == "At 09:00 on Monday through Friday (Europe/Berlin)"
    assert s["args"] == {"name": "ada"}
    assert s["enabled"] is True
    assert s["next_run_at"] == "2030-01-08T08:00:00.000Z"  # Tuesday 9:00 in Berlin (CET)
    assert s["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ("0 9 * * 1-5", {"cron": "0 9 * * 1-5", "timezone": "UTC"}),
        ({"cron": "30 17 * * 5", "timezone": "Asia/Tokyo"},
         {"cron": "30 17 * * 5", "timezone": "Asia/Tokyo"}),
        ("every 5m", {"every": "5m"}),
        ({"every": "1h30m"}, {"every": "1h30m"}),
        ("manual", {"manual": True}),
    ],
)  # fmt: skip
async def test_trigger_as_string_or_object(
    client: httpx.AsyncClient, trigger: Any, expected: dict[str, Any]
) -> None:
    s = await create(client, trigger=trigger)
    assert {k: s["trigger"][k] for k in expected} == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "hello", "trigger": "every blue moon"}, "trigger"),
        ({"task": "hello", "trigger": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"task": "nope", "trigger": "every 5m"}, "task"),
        ({"task": "hello"}, "trigger"),
        ({"task": "hello", "trigger": "every 5m", "colour": "red"}, "colour"),
        ({"task": "hello", "trigger": "every 5m", "retries": "3"}, "retries"),
        ({"task": "hello", "trigger": "every 5m", "args": [1, 2]}, "args"),
        ({"task": "hello", "trigger": "every 5m", "misfire": "sometimes"}, "misfire"),
        ({"task": "hello", "trigger": "every 5m", "name": "bad name!"}, "name"),
        ({"task": "hello", "trigger": "every 5m", "timeout": "soon"}, "timeout"),
        ({"task": "hello", "trigger": "every 5m", "args": {"x": "y" * 70_000}}, "args"),
    ],
)
async def test_invalid_schedule_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    r = await client.post("/v1/schedules", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field
    assert error["code"]
    assert error["message"]
    assert (await client.get("/v1/schedules")).json()["items"] == []


async def test_duplicate_name_is_409(client: httpx.AsyncClient) -> None:
    await create(client, name="one")
    r = await client.post(
        "/v1/schedules", json={"task": "hello", "trigger": "@daily", "name": "one"}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "schedule_exists"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/schedules", content=b'{"task": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_json"


async def test_get_by_id_or_name_and_404(client: httpx.AsyncClient) -> None:
    s = await create(client, name="nightly", trigger="@daily")
    by_id = (await client.get(f"/v1/schedules/{s['id']}")).json()
    by_name = (await client.get("/v1/schedules/nightly")).json()
    assert by_id == by_name == s
    r = await client.get("/v1/schedules/missing")
    assert r.status_code == 404
    assert r.json() == {
        "error": {"code": "schedule_not_found", "message": "schedule 'missing' not found"}
    }


async def test_list_paginates_with_a_cursor(client: httpx.AsyncClient) -> None:
    for i in range(7):
        await create(client, name=f"s{i}")
    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/schedules", params=params)).json()
        assert set(page) == {"items", "next_cursor"}
        seen += [s["name"] for s in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"s{i}" for i in range(7)]
    assert pages == 3
    bad = await client.get("/v1/schedules", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "cursor"


async def test_list_filters_task_and_enabled(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await create(client, name=f"h{i}", task="hello")
        await create(client, name=f"r{i}", task="report")
    await client.post("/v1/schedules/h1/pause")
    await client.post("/v1/schedules/r2/pause")

    def names(page: dict[str, Any]) -> list[str]:
        return [s["name"] for s in page["items"]]

    page = (await client.get("/v1/schedules", params={"task": "report"})).json()
    assert names(page) == [f"r{i}" for i in range(5)]
    page = (await client.get("/v1/schedules", params={"enabled": "false"})).json()
    assert names(page) == ["h1", "r2"]
    # filtered pages keep the cursor contract
    got, cursor = [], None
    while True:
        params: dict[str, Any] = {"task": "hello", "enabled": "true", "limit": 2}
        page = (
            await client.get(
                "/v1/schedules", params=params | ({"cursor": cursor} if cursor else {})
            )
        ).json()
        got += names(page)
        if (cursor := page["next_cursor"]) is None:
            break
    assert got == ["h0", "h2", "h3", "h4"]


async def test_patch_any_field_recomputes_next_run(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    s = await create(client, name="p", trigger="0 9 * * *")
    assert s["next_run_at"] == "2030-01-08T09:00:00.000Z"
    r = await client.patch("/v1/schedules/p", json={"trigger": "every 10m"})
    assert r.status_code == 200, r.text
    assert r.json()["next_run_at"] == "2030-01-07T12:10:00.000Z"
    assert r.json()["description"] == "every 10 minutes"
    r = await client.patch(
        "/v1/schedules/p", json={"trigger": "0 9 * * *", "timezone": "Asia/Tokyo"}
    )
    assert r.json()["next_run_at"] == "2030-01-08T00:00:00.000Z"  # 9:00 in Tokyo
    r = await client.patch(
        "/v1/schedules/p", json={"args": {"name": "x"}, "retries": 2, "priority": 5}
    )
    data = r.json()
    assert (data["args"], data["retries"], data["priority"]) == ({"name": "x"}, 2, 5)
    assert data["next_run_at"] == "2030-01-08T00:00:00.000Z"  # unchanged trigger: unchanged
    r = await client.patch("/v1/schedules/p", json={"name": "renamed", "retries": None})
    assert (r.json()["name"], r.json()["retries"]) == ("renamed", None)
    assert (await client.get("/v1/schedules/p")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"trigger": None}, {"name": None}, {"enabled": "yes"}, {"trigger": "nonsense here"},
     {"task": "nope"}, {"bogus": 1}],
)  # fmt: skip
async def test_bad_patch_changes_nothing(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    s = await create(client, name="keep", trigger="@hourly")
    r = await client.patch("/v1/schedules/keep", json=body)
    assert r.status_code == 422, r.text
    assert (await client.get("/v1/schedules/keep")).json() == s


async def test_delete_is_204_then_404(client: httpx.AsyncClient) -> None:
    await create(client, name="gone")
    r = await client.delete("/v1/schedules/gone")
    assert r.status_code == 204
    assert r.content == b""
    assert (await client.delete("/v1/schedules/gone")).status_code == 404


async def test_pause_resume(client: httpx.AsyncClient) -> None:
    await create(client, name="pr", trigger="every 5m")
    paused = (await client.post("/v1/schedules/pr/pause")).json()
    assert (paused["enabled"], paused["next_run_at"]) == (False, None)
    resumed = (await client.post("/v1/schedules/pr/resume")).json()
    assert resumed["enabled"] is True
    assert resumed["next_run_at"] == "2030-01-07T12:05:00.000Z"


async def test_trigger_is_202_with_the_run_and_listed(client: httpx.AsyncClient) -> None:
    s = await create(client, name="now", trigger="manual", args={"name": "z"})
    r = await client.post("/v1/schedules/now/trigger")
    assert r.status_code == 202
    run = r.json()
    assert set(run) >= RUN_KEYS
    assert (run["task"], run["schedule_id"], run["status"], run["args"]) == (
        "hello", s["id"], "queued", {"name": "z"},
    )  # fmt: skip
    runs = (await client.get("/v1/schedules/now/runs")).json()
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    assert runs["next_cursor"] is None


async def test_backfill_enqueues_each_slot_once(client: httpx.AsyncClient) -> None:
    s = await create(client, name="daily", task="report", trigger="0 6 * * *")
    window = {"from": "2030-01-01T00:00:00Z", "to": "2030-01-05T06:00:00Z"}
    r = await client.post("/v1/schedules/daily/backfill", json=window)
    assert r.status_code == 202, r.text
    first = r.json()
    assert first["created"] == 5
    assert first["slots"] == [f"2030-01-0{d}T06:00:00.000Z" for d in range(1, 6)]
    assert all(run["schedule_id"] == s["id"] for run in first["runs"])
    again = (await client.post("/v1/schedules/daily/backfill", json=window)).json()
    assert again["created"] == 0
    assert [r["id"] for r in again["runs"]] == [r["id"] for r in first["runs"]]
    wider = {"from": "2030-01-04T00:00:00Z", "to": "2030-01-06T23:00:00Z"}
    third = (await client.post("/v1/schedules/daily/backfill", json=wider)).json()
    assert third["created"] == 1
    runs = (await client.get("/v1/runs", params={"schedule": "daily", "limit": 100})).json()
    assert len(runs["items"]) == 6


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "2030-01-05T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "to"),
        ({"from": "2030-01-01T00:00:00", "to": "2030-01-02T00:00:00Z"}, "from"),
        ({"from": "2000-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "to"),
        ({"to": "2030-01-01T00:00:00Z"}, "from"),
    ],
)
async def test_bad_backfill_is_422(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    await create(client, name="daily", trigger="0 6 * * *")
    r = await client.post("/v1/schedules/daily/backfill", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert (await client.get("/v1/runs")).json()["items"] == []


async def test_backfill_needs_a_time_trigger(client: httpx.AsyncClient) -> None:
    await create(client, name="m", trigger="manual")
    window = {"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}
    r = await client.post("/v1/schedules/m/backfill", json=window)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "trigger"
