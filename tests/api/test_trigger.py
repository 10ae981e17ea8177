"""``POST /v1/schedules/{key}/trigger``: args for one run, and the fan-out of a schedule with
``for_each_subject`` (one run per matching subject, answered as a count)."""

from __future__ import annotations

from typing import Any

import httpx

from agentcron import App


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("task", "hello")
    body.setdefault("trigger", "manual")
    r = await client.post("/v1/schedules", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_args_in_the_body_are_merged_for_this_run_only(client: httpx.AsyncClient) -> None:
    await create(client, name="greet", task="report", args={"day": "mon"})
    r = await client.post("/v1/schedules/greet/trigger", json={"args": {"day": "tue"}})
    assert r.status_code == 202, r.text
    assert r.json()["args"] == {"day": "tue"}
    plain = await client.post("/v1/schedules/greet/trigger")  # no body: the schedule's args
    assert plain.json()["args"] == {"day": "mon"}
    s = (await client.get("/v1/schedules/greet")).json()
    assert s["args"] == {"day": "mon"}


async def test_bad_args_are_422_and_queue_nothing(client: httpx.AsyncClient) -> None:
    s = await create(client, name="g")
    for body in ({"args": "text"}, {"args": {"x": "y" * 70_000}}, {"colour": "red"}):
        r = await client.post("/v1/schedules/g/trigger", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["field"] in ("args", "colour")
    runs = (await client.get(f"/v1/runs?schedule={s['id']}")).json()
    assert runs["items"] == []


async def test_a_fan_out_schedule_queues_one_run_per_subject(
    client: httpx.AsyncClient, ac: App
) -> None:
    for subject in ("user:2", "user:1", "team:1"):
        await ac.record_activity(subject)
    s = await create(
        client, name="grader", args={"name": "x"},
        for_each_subject={"subjects": "user:*", "batch_size": 1},
    )  # fmt: skip
    r = await client.post("/v1/schedules/grader/trigger", json={"args": {"name": "y"}})
    assert r.status_code == 202, r.text
    data = r.json()
    assert (data["queued"], data["skipped"]) == (2, 0)
    assert [run["subject"] for run in data["runs"]] == ["user:1", "user:2"]
    assert {run["args"]["name"] for run in data["runs"]} == {"y"}
    assert {run["schedule_id"] for run in data["runs"]} == {s["id"]}
    listed = (await client.get("/v1/schedules/grader/runs")).json()["items"]
    assert sorted(run["subject"] for run in listed) == ["user:1", "user:2"]


async def test_a_fan_out_answers_at_most_100_runs(client: httpx.AsyncClient, ac: App) -> None:
    for i in range(105):
        await ac.record_activity(f"user:{i:03d}")
    await create(client, name="many", for_each_subject="user:*")
    data = (await client.post("/v1/schedules/many/trigger")).json()
    assert data["queued"] == 105
    assert len(data["runs"]) == 100
    assert data["runs"][0]["subject"] == "user:000"


async def test_openapi_documents_both_answers(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    op = schema["paths"]["/v1/schedules/{key}/trigger"]["post"]
    answer = op["responses"]["202"]["content"]["application/json"]["schema"]
    refs = {option["$ref"].rsplit("/", 1)[1] for option in answer["anyOf"]}
    assert refs == {"RunOut", "FanOutOut"}
    fan_out = schema["components"]["schemas"]["FanOutOut"]
    assert set(fan_out["properties"]) == {"queued", "skipped", "runs"}
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert "TriggerNowIn" in str(body)
