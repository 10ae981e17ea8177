"""Limits found by probing the API, refused at the edge naming the field and storing nothing:
sub-second intervals, jitter longer than the period, the per-namespace schedule quota,
activity times in the future or before 2000, queue names; ``OPTIONS`` with ``Allow``; the
recoveries of a run in its shape. Those that touch the store run on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.middleware.cors import CORSMiddleware

from agentcron import App, ValidationError
from agentcron.api import create_api
from agentcron.clock import ManualClock
from agentcron.store import Store

from .conftest import Mint, make_app


async def refused(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> dict[str, Any]:
    r = await client.request(method, path, **kw)
    assert r.status_code == 422, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


@pytest.fixture
async def both(
    connect_store: Callable[[], Store], clock: ManualClock
) -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    """An App with ``max_schedules = 3`` and its API, on SQLite and on PostgreSQL."""
    app = make_app(connect_store(), clock)  # type: ignore[arg-type]
    app.max_schedules = 3
    async with app:
        transport = httpx.ASGITransport(app=create_api(app, auth="open"))
        async with httpx.AsyncClient(transport=transport, base_url="http://agentcron") as c:
            yield app, c


# -- 16: jitter no longer than the period ------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "period"),
    [
        ({"trigger": "*/5 * * * *", "jitter": "6m"}, "5m"),
        ({"trigger": "every 1h", "jitter": 7200}, "1h"),
        ({"trigger": "every weekday at 9am", "jitter": "25h"}, "1d"),
    ],
)
async def test_a_jitter_longer_than_the_period_is_422_naming_jitter(
    client: httpx.AsyncClient, body: dict[str, Any], period: str
) -> None:
    error = await refused(client, "POST", "/v1/schedules", json={"task": "hello", **body})
    assert error["field"] == "jitter"
    assert f"longer than the trigger's period ({period})" in error["message"]
    assert (await client.get("/v1/schedules")).json()["items"] == []


async def test_a_jitter_in_the_trigger_object_is_checked_too(client: httpx.AsyncClient) -> None:
    body = {"task": "hello", "trigger": {"every": "5m", "jitter": "10m"}}
    error = await refused(client, "POST", "/v1/schedules", json=body)
    assert error["field"] == "trigger"
    assert error["message"].startswith("jitter: must not be longer than the interval (5m)")


async def test_a_patch_cannot_make_the_jitter_longer_than_the_period(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/v1/schedules", json={"task": "hello", "trigger": "every 5m",
                                                 "jitter": "1m", "name": "j"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["jitter"] == 60.0
    error = await refused(client, "PATCH", "/v1/schedules/j", json={"jitter": "6m"})
    assert error["field"] == "jitter"
    error = await refused(client, "PATCH", "/v1/schedules/j", json={"trigger": "every 30s"})
    assert error["field"] == "jitter"  # the trigger's period shrank below the jitter kept
    assert (await client.get("/v1/schedules/j")).json()["trigger"] == {"every": "5m"}


# -- 17: intervals of at least 1 s, the schedule quota ----------------------------------------
@pytest.mark.parametrize("trigger", ["every 1ms", "every 500ms", "interval:0.5", {"every": "0.1s"}])
async def test_sub_second_intervals_are_422(client: httpx.AsyncClient, trigger: Any) -> None:
    error = await refused(
        client, "POST", "/v1/schedules", json={"task": "hello", "trigger": trigger}
    )
    assert error["field"] == "trigger"
    assert error["message"].startswith("every: interval must be at least 1s")
    assert (await client.get("/v1/schedules")).json()["items"] == []


async def test_parse_refuses_a_sub_second_interval(client: httpx.AsyncClient) -> None:
    error = await refused(client, "GET", "/v1/parse", params={"text": "every 1ms"})
    assert "interval must be at least 1s" in error["message"]
    # a cron with seconds still fires every second
    r = await client.get("/v1/parse", params={"text": "cron: * * * * * *", "count": 2})
    assert r.status_code == 200
    assert r.json()["next"] == ["2030-01-07T12:00:01.000Z", "2030-01-07T12:00:02.000Z"]


async def test_a_namespace_holds_at_most_max_schedules(
    both: tuple[App, httpx.AsyncClient],
) -> None:
    app, client = both
    for i in range(3):
        r = await client.post("/v1/schedules", json={"task": "hello", "trigger": "manual",
                                                     "name": f"s{i}"})  # fmt: skip
        assert r.status_code == 201, r.text
    r = await client.post("/v1/schedules", json={"task": "hello", "trigger": "manual",
                                                 "name": "s3"})  # fmt: skip
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "schedule_quota_exceeded"
    assert "namespace 'default' already holds 3 schedules" in r.json()["error"]["message"]
    assert await app.store.count_schedules("default") == 3
    other = await client.post("/v1/schedules", json={"task": "hello", "trigger": "manual",
                                                     "namespace": "team-b"})  # fmt: skip
    assert other.status_code == 201, other.text  # a quota per namespace
    assert (await client.delete("/v1/schedules/s0")).status_code == 204
    r = await client.post("/v1/schedules", json={"task": "hello", "trigger": "manual",
                                                 "name": "s3"})  # fmt: skip
    assert r.status_code == 201, r.text


async def test_the_default_quota_is_10000_and_none_lifts_it(db_url: str) -> None:
    assert App(db_url).max_schedules == 10_000
    assert App(db_url, max_schedules=None).max_schedules is None
    with pytest.raises(ValidationError) as info:
        App(db_url, max_schedules=-1)
    assert info.value.field == "max_schedules"


# -- 18: recoveries in the run and task shapes -------------------------------------------------
async def test_a_run_shows_its_recoveries(both: tuple[App, httpx.AsyncClient]) -> None:
    app, client = both
    r = await client.post("/v1/runs", json={"task": "hello"})
    assert r.status_code == 202, r.text
    run = r.json()
    assert (run["recoveries"], run["max_recoveries"]) == (0, 3)
    now = app.clock.now()
    (claimed,) = await app.store.claim_runs("gone", now=now, lease=timedelta(seconds=1), limit=1)
    assert claimed.id == run["id"]
    await app.store.reap_expired(now + timedelta(seconds=2))
    back = (await client.get(f"/v1/runs/{run['id']}")).json()
    assert (back["status"], back["recoveries"], back["attempts"]) == ("queued", 1, 1)
    assert back["error"]["type"] == "LeaseExpired"
    tasks = {t["name"]: t for t in (await client.get("/v1/tasks")).json()["items"]}
    assert tasks["hello"]["max_recoveries"] == 3


# -- 19: activity times, OPTIONS, queue names --------------------------------------------------
@pytest.mark.parametrize(
    ("at", "words"),
    [
        ("2030-01-07T12:05:01Z", "is in the future"),  # the server's time is 12:00
        ("2031-01-01T00:00:00Z", "is in the future"),
        ("1999-12-31T23:59:59Z", "is before 2000-01-01"),
        ("1970-01-01T00:00:00Z", "is before 2000-01-01"),
    ],
)
async def test_an_activity_time_in_the_future_or_before_2000_is_422(
    both: tuple[App, httpx.AsyncClient], at: str, words: str
) -> None:
    app, client = both
    error = await refused(client, "POST", "/v1/activity", json={"subject": "u:1", "at": at})
    assert error["field"] == "at"
    assert words in error["message"]
    assert (await app.list_subjects())[0] == []  # nothing recorded
    for fine in ("2030-01-07T12:05:00Z", "2000-01-01T00:00:00Z"):  # the bounds themselves
        r = await client.post("/v1/activity", json={"subject": "u:1", "at": fine})
        assert r.status_code == 200, r.text
    assert r.json()["last_activity_at"] == "2030-01-07T12:05:00.000Z"


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/schedules", "GET, OPTIONS, POST"),
        ("/v1/schedules/any", "DELETE, GET, OPTIONS, PATCH"),
        ("/v1/schedules/any/pause", "OPTIONS, POST"),
        ("/v1/runs", "GET, OPTIONS, POST"),
        ("/v1/activity", "OPTIONS, POST"),
        ("/healthz", "GET, OPTIONS"),
        ("/openapi.json", "GET, HEAD, OPTIONS"),
        ("/dashboard/static/dashboard.js", "GET, HEAD, OPTIONS"),
    ],
)
async def test_options_answers_allow(client: httpx.AsyncClient, path: str, allow: str) -> None:
    r = await client.options(path)
    assert r.status_code == 204, r.text
    assert r.headers["allow"] == allow
    assert r.content == b""
    unknown = await client.options(path.replace("/", "/nowhere/", 1))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


async def test_options_needs_no_token(client: httpx.AsyncClient, mint: Mint) -> None:
    await mint("read")  # from now on every request needs a token
    assert (await client.get("/v1/schedules")).status_code == 401
    r = await client.options("/v1/schedules")
    assert (r.status_code, r.headers["allow"]) == (204, "GET, OPTIONS, POST")


async def test_options_leaves_cors_preflights_to_a_cors_middleware(ac: App) -> None:
    api = create_api(ac, auth="open")
    api.add_middleware(CORSMiddleware, allow_origins=["https://app.example"],
                       allow_methods=["GET", "POST"], allow_headers=["Authorization"])  # fmt: skip
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://agentcron") as c:
        origin = {"Origin": "https://app.example"}
        preflight = await c.options(
            "/v1/schedules", headers={**origin, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        plain = await c.options("/v1/schedules", headers=origin)
        assert plain.status_code == 204
        assert plain.headers["allow"] == "GET, OPTIONS, POST"
        assert plain.headers["access-control-allow-origin"] == "https://app.example"
        r = await c.get("/v1/schedules", headers=origin)
        assert r.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize("queue", ["bad queue", "-dash", "tab\tq", "trailing\n"])
async def test_queue_names_follow_the_name_rules(client: httpx.AsyncClient, queue: str) -> None:
    run = await refused(client, "POST", "/v1/runs", json={"task": "hello", "queue": queue})
    assert run["field"] == "queue"
    body = {"task": "hello", "trigger": "manual", "queue": queue}
    assert (await refused(client, "POST", "/v1/schedules", json=body))["field"] == "queue"
    assert (await client.get("/v1/runs")).json()["items"] == []
    r = await client.post("/v1/runs", json={"task": "hello", "queue": "llm.slow:eu/1"})
    assert r.status_code == 202, r.text
    assert r.json()["queue"] == "llm.slow:eu/1"
